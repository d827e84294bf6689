# shellcheck shell=bash
# dist/lib.sh: helpers shared by dist/install.sh and dist/run.sh (sourced, never executed).
# Messages go to stderr as GitHub workflow commands (::error:: / ::warning:: / ::notice::), so
# they show up as annotations on the run. Nothing here prints an input that may hold a secret:
# callers pass only values that are safe to show.

# Escapes a workflow-command message (GitHub's rules: % CR LF).
gh_escape_data() {
    local s="$1"
    s="${s//'%'/'%25'}"
    s="${s//$'\r'/'%0D'}"
    s="${s//$'\n'/'%0A'}"
    printf '%s' "${s}"
}

# Escapes a workflow-command property value (data rules plus : and ,).
gh_escape_prop() {
    local s
    s="$(gh_escape_data "$1")"
    s="${s//':'/'%3A'}"
    s="${s//','/'%2C'}"
    printf '%s' "${s}"
}

bail() {
    local msg
    msg="$(gh_escape_data "$*")"
    printf '::error::%s\n' "${msg}" >&2
    exit 1
}
warn() {
    local msg
    msg="$(gh_escape_data "$*")"
    printf '::warning::%s\n' "${msg}" >&2
}
notice() {
    local msg
    msg="$(gh_escape_data "$*")"
    printf '::notice::%s\n' "${msg}" >&2
}
info() {
    printf 'info: %s\n' "$*" >&2
}

# retry N CMD...: runs CMD up to N times, with 1s, 2s, 4s... pauses between tries.
retry() {
    local tries="$1" n=1 pause=1
    shift
    until "$@"; do
        if ((n >= tries)); then
            return 1
        fi
        warn "\`$1\` failed (try ${n} of ${tries}); retrying in ${pause}s"
        sleep "${pause}"
        n=$((n + 1))
        pause=$((pause * 2))
    done
}

# Appends NAME=VALUE to $GITHUB_OUTPUT (one line; values here never contain a newline).
set_output() {
    [[ "$2" != *$'\n'* ]] || bail "output \`$1\` would span lines"
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
        printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT}"
    else
        info "output $1=$2"
    fi
}

# Prints the sha256 of a file as 64 lowercase hex digits.
sha256_of() {
    local out
    if command -v sha256sum >/dev/null 2>&1; then
        out="$(sha256sum -b "$1")"
    elif command -v shasum >/dev/null 2>&1; then
        out="$(shasum -a 256 -b "$1")"
    else
        bail "neither \`sha256sum\` nor \`shasum\` is installed; cannot verify downloads"
    fi
    printf '%s' "${out%% *}" | tr 'A-F' 'a-f'
}

# Picks the JSON reader: jq where present (every GitHub-hosted image has it), else python3/python.
json_tool() {
    # CLOSEGATE_JSON_READER=jq|python3 forces one reader (tests cover both paths).
    case "${CLOSEGATE_JSON_READER:-}" in
        jq | python3 | python)
            printf '%s' "${CLOSEGATE_JSON_READER}"
            return 0
            ;;
        *) ;;
    esac
    if command -v jq >/dev/null 2>&1; then
        printf 'jq'
    elif command -v python3 >/dev/null 2>&1; then
        printf 'python3'
    elif command -v python >/dev/null 2>&1; then
        printf 'python'
    else
        bail "neither \`jq\` nor \`python3\` is installed; one is needed to read JSON"
    fi
}

# json_string FILE KEY...: prints the string at FILE's path KEY1.KEY2... (empty when absent).
# Fails (exit 1 with ::error::) when FILE is not valid JSON.
json_string() {
    local file="$1" reader
    shift
    reader="$(json_tool)"
    if [[ "${reader}" == jq ]]; then
        jq -er --args 'getpath($ARGS.positional) | if . == null then "" elif type == "string" or type == "boolean" or type == "number" then tostring else error("not a scalar") end' "$@" <"${file}" \
            || bail "\`${file}\` is not valid JSON or \`$*\` is not a scalar there"
    else
        "${reader}" - "${file}" "$@" <<'PY' || bail "\`${file}\` is not valid JSON or a key there is not a scalar"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    v = json.load(f)
for k in sys.argv[2:]:
    v = v.get(k) if isinstance(v, dict) else None
if v is None:
    v = ""
if isinstance(v, bool):
    v = "true" if v else "false"
if isinstance(v, (dict, list)):
    sys.exit(1)
sys.stdout.write(str(v))
PY
    fi
}

# json_rows FILE: prints one TSV line per deterministic row of a soc2-monitor.json:
# dimension, status, headline, threshold_met (tabs and newlines inside values become spaces).
json_rows() {
    local file="$1" reader
    reader="$(json_tool)"
    if [[ "${reader}" == jq ]]; then
        jq -r '.deterministic_rows // [] | .[] | [.dimension, .status, .headline, .threshold_met] | map(tostring | gsub("[\t\r\n]"; " ")) | join("\t")' <"${file}" \
            || bail "\`${file}\` is not a valid soc2-monitor.json"
    else
        "${reader}" - "${file}" <<'PY' || bail "\`${file}\` is not a valid soc2-monitor.json"
import json, re, sys
with open(sys.argv[1], encoding="utf-8") as f:
    doc = json.load(f)
for r in doc.get("deterministic_rows") or []:
    vals = [r.get("dimension"), r.get("status"), r.get("headline"), r.get("threshold_met")]
    vals = ["true" if v is True else "false" if v is False else "" if v is None else str(v) for v in vals]
    print("\t".join(re.sub(r"[\t\r\n]", " ", v) for v in vals))
PY
    fi
}

# annotate LEVEL TITLE MESSAGE: prints a titled ::error:: / ::warning:: annotation to stdout.
annotate() {
    local title msg
    title="$(gh_escape_prop "$2")"
    msg="$(gh_escape_data "$3")"
    printf '::%s title=%s::%s\n' "$1" "${title}" "${msg}"
}
