#!/usr/bin/env bash
# tests/action/run_test.sh: unit tests for dist/run.sh and the JSON readers in dist/lib.sh.
#
# run.sh is driven with the real closegate-engine (CLOSEGATE_E2E_BINARY or target/*), never a
# stand-in: the cases here are input validation (which stops before the engine runs), secrets
# staying out of every output, the retention warning, and the exit-code hand-off when the engine
# writes no monitor file. The JSON readers are tested on the soc2-monitor.json shape that issue 5
# fixes, with jq and with python3, which must agree.
# shellcheck disable=SC2016 # backticks in the expected messages are literal
set -CeEuo pipefail
IFS=$'\n\t'

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "${here}/../.." && pwd)"
# shellcheck source=testlib.sh
. "${here}/testlib.sh"

bin="${CLOSEGATE_E2E_BINARY:-}"
if [[ -z "${bin}" ]]; then
    if [[ ! -x "${repo}/target/debug/closegate-engine" ]]; then
        (cd -- "${repo}" && cargo build --quiet --bin closegate-engine)
    fi
    bin="${repo}/target/debug/closegate-engine"
fi
tmp="$(mktemp -d)"
trap 'rm -rf -- "${tmp}"' EXIT
secret_token=ghs_unit_test_token_0123456789
secret_hook=https://hooks.slack.invalid/services/T000/B000/unit-test-secret

# run_case NAME [VAR=VALUE ...]: runs run.sh in a clean env; files in $tmp/NAME.
run_case() {
    local name="$1" rc=0
    shift
    mkdir -p "${tmp}/${name}/ws"
    : >|"${tmp}/${name}/output"
    : >|"${tmp}/${name}/summary"
    env -i PATH="${PATH}" HOME="${HOME}" \
        BINARY="${bin}" GITHUB_WORKSPACE="${tmp}/${name}/ws" \
        GITHUB_OUTPUT="${tmp}/${name}/output" GITHUB_STEP_SUMMARY="${tmp}/${name}/summary" \
        GITHUB_SERVER_URL=https://github.example GITHUB_REPOSITORY=o/r GITHUB_RUN_ID=42 GITHUB_RUN_NUMBER=7 \
        INPUT_GITHUB_TOKEN="${secret_token}" INPUT_SLACK_WEBHOOK="${secret_hook}" \
        "$@" bash "${repo}/dist/run.sh" >"${tmp}/${name}/stdout" 2>"${tmp}/${name}/stderr" || rc=$?
    printf '%s' "${rc}" >|"${tmp}/${name}/rc"
}
exited() {
    local got
    got="$(cat "${tmp}/$1/rc")" || return 1
    test "${got}" = "$2"
}
no_secret() { # no_secret NAME: neither secret appears in any output of the case
    ! grep -rqF -e "${secret_token}" -e "${secret_hook}" "${tmp}/$1"
}

# --- input validation --------------------------------------------------------------------------
run_case bad-mode INPUT_MODE=deploy
check "run bad mode: exit 1" exited bad-mode 1
check "run bad mode: error repeats the value" has "${tmp}/bad-mode/stderr" '^::error::input `mode` must be `monitor`, `export` or `verify`, got `deploy`'
run_case bad-bool INPUT_FAIL_ON_REGRESSION=yes
check "run bad fail-on-regression: error repeats the value" has "${tmp}/bad-bool/stderr" '^::error::input `fail-on-regression` must be `true` or `false`, got `yes`'
run_case bad-days INPUT_RETENTION_DAYS=1y
check "run bad retention-days: error repeats the value" has "${tmp}/bad-days/stderr" '^::error::input `retention-days` must be a whole number of days from 1, got `1y`'
run_case bad-pack 'INPUT_PACK=../etc'
check "run bad pack: error repeats the value" has "${tmp}/bad-pack/stderr" '^::error::input `pack` must be a pack name such as `saas`, got `\.\./etc`'
run_case bad-dims INPUT_DIMENSIONS='policy;rm'
check "run bad dimensions: error repeats the value" has "${tmp}/bad-dims/stderr" '^::error::input `dimensions` must be a comma-separated list'
run_case no-since INPUT_MODE=export INPUT_UNTIL=2026-06-30
check "run export without since: exit 1" exited no-since 1
check "run export without since: says it is required" has "${tmp}/no-since/stderr" '^::error::input `since` is required in export mode'
run_case bad-until INPUT_MODE=export INPUT_SINCE=2026-01-01 INPUT_UNTIL=30/06/2026
check "run export bad until: error repeats the value" has "${tmp}/bad-until/stderr" '^::error::input `until` must be a date such as `2026-01-01`, got `30/06/2026`'
for c in bad-mode bad-bool bad-days bad-pack bad-dims no-since bad-until; do
    check "run ${c}: no secret in any output" no_secret "${c}"
    check "run ${c}: engine not run (no exit-code output)" lacks "${tmp}/${c}/output" '^exit-code=.'
done

# --- monitor mode: engine wrote no monitor file -> exit code handed on, not raised ------------
# A policy file that does not exist makes `ci` stop before it writes anything (exit 1).
run_case monitor-missing GITHUB_RETENTION_DAYS=90 INPUT_POLICY=does-not-exist/policy.yaml
check "run monitor: the script itself exits 0 (action.yml fails later)" exited monitor-missing 0
check "run monitor: exit-code output carries the engine's non-zero code" has "${tmp}/monitor-missing/output" '^exit-code=[1-9]$'
check "run monitor: overall-ok=false" has "${tmp}/monitor-missing/output" '^overall-ok=false$'
check "run monitor: monitor-path is absolute" has "${tmp}/monitor-missing/output" "^monitor-path=${tmp}/monitor-missing/ws/soc2-monitor\\.json\$"
check "run monitor: artifact-name default soc2-monitor-<run_number>" has "${tmp}/monitor-missing/output" '^artifact-name=soc2-monitor-7$'
check "run monitor: ::error:: says no soc2-monitor.json" has "${tmp}/monitor-missing/stdout" '^::error title=closegate::closegate-engine ci exited [1-9] and wrote no `soc2-monitor\.json`'
check "run monitor: retention warning at 90 < 365" has "${tmp}/monitor-missing/stderr" '^::warning::artifact retention is capped: this repository keeps artifacts for 90 days'
check "run monitor: summary links the run" has "${tmp}/monitor-missing/summary" '\(https://github\.example/o/r/actions/runs/42\)'
check "run monitor: no secret in any output" no_secret monitor-missing
run_case monitor-no-upload GITHUB_RETENTION_DAYS=90 INPUT_UPLOAD_ARTIFACT=false INPUT_RETENTION_DAYS=30
check "run monitor: no retention warning when 90 >= 30" lacks "${tmp}/monitor-no-upload/stderr" 'retention is capped'

run_case export-fails INPUT_MODE=export INPUT_SINCE=2026-01-01 INPUT_UNTIL=2026-06-30
check "run export: engine failure is handed on as exit-code" has "${tmp}/export-fails/output" '^exit-code=[1-9]$'
check "run export: no bundle-path when no bundle" lacks "${tmp}/export-fails/output" '^bundle-path='
check "run export: no secret in any output" no_secret export-fails

# --- JSON readers: jq and python3 agree on the issue-5 soc2-monitor.json shape ------------------
cat >"${tmp}/monitor.json" <<'JSON'
{
  "generated_at": "2026-06-01T06:00:00Z",
  "eval_run_id": "20260601-060000",
  "deterministic_rows": [
    {"dimension": "matching_accuracy", "status": "OK", "headline": "macro-F1 1.0 on 83 cases", "threshold_met": true},
    {"dimension": "policy_enforcement", "status": "FAIL", "headline": "21 scenarios,\tpass-rate 0.95", "threshold_met": false},
    {"dimension": "adversarial_robustness", "status": "MISSING", "headline": "", "threshold_met": false}
  ],
  "overall_ok": false,
  "notes": ["adversarial_robustness missing"]
}
JSON
for reader in jq python3; do
    rows="$(CLOSEGATE_JSON_READER="${reader}" bash -c '. "$1/dist/lib.sh"; json_rows "$2"' _ "${repo}" "${tmp}/monitor.json")" || rows=''
    printf '%s\n' "${rows}" >|"${tmp}/rows-${reader}"
    nrows="$(wc -l <"${tmp}/rows-${reader}")" || nrows=0
    check "lib ${reader}: three rows" test "${nrows}" -eq 3
    check "lib ${reader}: FAIL row, tab in headline flattened" has "${tmp}/rows-${reader}" $'^policy_enforcement\tFAIL\t21 scenarios, pass-rate 0\\.95\tfalse$'
    check "lib ${reader}: MISSING row with empty headline" has "${tmp}/rows-${reader}" $'^adversarial_robustness\tMISSING\t\tfalse$'
    v="$(CLOSEGATE_JSON_READER="${reader}" bash -c '. "$1/dist/lib.sh"; json_string "$2" overall_ok' _ "${repo}" "${tmp}/monitor.json")" || v=''
    check "lib ${reader}: overall_ok reads false" test "${v}" = false
    v="$(CLOSEGATE_JSON_READER="${reader}" bash -c '. "$1/dist/lib.sh"; json_string "$2" nope deeper' _ "${repo}" "${tmp}/monitor.json")" || v='error'
    check "lib ${reader}: absent key reads empty" test -z "${v}"
    printf '{"broken": ' >|"${tmp}/broken.json"
    if CLOSEGATE_JSON_READER="${reader}" bash -c '. "$1/dist/lib.sh"; json_string "$2" broken' _ "${repo}" "${tmp}/broken.json" >/dev/null 2>&1; then
        fail "lib ${reader}: invalid JSON is an error" "it was accepted"
    else
        pass "lib ${reader}: invalid JSON is an error"
    fi
done
check "lib: jq and python3 give identical rows" cmp -s "${tmp}/rows-jq" "${tmp}/rows-python3"

t_summary run
