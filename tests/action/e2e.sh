#!/usr/bin/env bash
# tests/action/e2e.sh: end-to-end run of the real action.yml under `act` (host mode, offline).
#
# It packages a freshly built closegate-engine as a release asset, regenerates dist/manifest.json
# for it in a temporary copy of the action, serves the release from a loopback HTTP server, and
# runs tests/action/e2e.yml (which calls `uses: ./`) with act. Scenarios:
#   1. fresh install: the binary is downloaded, verified and installed in the tool cache; outputs
#      set; the job summary holds the dimension table; the artifacts are uploaded.
#   2. fault-injected regression (CLOSEGATE_FAULT_INJECT=policy-regression) with
#      GITHUB_RETENTION_DAYS=90: the retention warning appears, the tool cache is hit, the
#      artifacts are uploaded and only then does the step fail.
#   3. tampered asset: the step fails with the checksum error naming both hashes.
# actions/upload-artifact is replaced (act --local-repository) by tests/action/upload-artifact-stub,
# a recorder; it is a stand-in for the remote action only, never for closegate-engine.
#
# Checks that need `closegate-engine ci` (issue 5) report PENDING until the binary has it.
#
# Env: CLOSEGATE_E2E_BINARY (binary to package; default target/release or target/debug, built when
# missing), ACT (default `act`).
set -CeEuo pipefail
IFS=$'\n\t'

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "${here}/../.." && pwd)"
# shellcheck source=testlib.sh
. "${here}/testlib.sh"
act_bin="${ACT:-act}"

bin="${CLOSEGATE_E2E_BINARY:-}"
if [[ -z "${bin}" ]]; then
    if [[ -x "${repo}/target/release/closegate-engine" ]]; then
        bin="${repo}/target/release/closegate-engine"
    else
        if [[ ! -x "${repo}/target/debug/closegate-engine" ]]; then
            (cd -- "${repo}" && cargo build --quiet --bin closegate-engine)
        fi
        bin="${repo}/target/debug/closegate-engine"
    fi
fi
[[ -x "${bin}" ]] || {
    fail "e2e: binary" "\`${bin}\` is not an executable"
    t_summary e2e
    exit 1
}
version="$("${bin}" --version)"
version="${version##* }"

# Does this binary have the `ci` command yet (issue 5)?
has_ci=false
if "${bin}" ci --help >/dev/null 2>&1; then has_ci=true; fi

# The host build is packaged under the name the action maps this runner to (act reports the
# host's RUNNER_ARCH); it is a glibc build under a musl name, which install.sh cannot tell apart.
case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl arch_dir=x64 ;;
    aarch64) target=aarch64-unknown-linux-musl arch_dir=arm64 ;;
    *) target=unknown arch_dir=unknown ;;
esac
asset="closegate-engine-${version}-${target}.tar.gz"

tmp="$(mktemp -d)"
server_pid=''
cleanup() {
    if [[ -n "${server_pid}" ]]; then kill "${server_pid}" 2>/dev/null || true; fi
    rm -rf -- "${tmp}"
}
trap cleanup EXIT

# Release directory: good/v<version>/<asset> and tampered/v<version>/<asset> (one byte more).
mkdir -p "${tmp}/pkg" "${tmp}/www/good/v${version}" "${tmp}/www/tampered/v${version}"
cp -- "${bin}" "${tmp}/pkg/closegate-engine"
tar -czf "${tmp}/www/good/v${version}/${asset}" -C "${tmp}/pkg" closegate-engine
cp -- "${tmp}/www/good/v${version}/${asset}" "${tmp}/www/tampered/v${version}/${asset}"
printf 'x' >>"${tmp}/www/tampered/v${version}/${asset}"
good_sha="$(sha256sum "${tmp}/www/good/v${version}/${asset}" | cut -d' ' -f1)"
bad_sha="$(sha256sum "${tmp}/www/tampered/v${version}/${asset}" | cut -d' ' -f1)"

# The action under test: the real action.yml and dist/, with a manifest for this binary.
mkdir -p "${tmp}/src"
cp -a -- "${repo}/action.yml" "${repo}/dist" "${tmp}/src/"
python3 - "${tmp}/src/dist/manifest.json" "${version}" "${target}" "${good_sha}" "${asset}" <<'PY'
import json, sys
path, version, target, sha, asset = sys.argv[1:]
with open(path, "w", encoding="utf-8") as f:
    json.dump({"version": version, "targets": {target: {"sha256": sha, "asset": asset}}}, f, indent=2)
    f.write("\n")
PY

# Loopback release server on a free port.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "${tmp}/www" >"${tmp}/server.log" 2>&1 &
server_pid=$!
port=''
for _ in $(seq 1 50); do
    port="$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "${tmp}/server.log" | head -n1)"
    [[ -z "${port}" ]] || break
    sleep 0.1
done
[[ -n "${port}" ]] || {
    server_out="$(cat "${tmp}/server.log")" || true
    fail "e2e: loopback server" "did not start: ${server_out}"
    t_summary e2e
    exit 1
}

upload_pin="$(sed -n 's/.*uses: \(actions\/upload-artifact@[0-9a-f]\{40\}\).*/\1/p' "${repo}/action.yml" | head -n1)"
[[ -n "${upload_pin}" ]] || fail "e2e: action.yml pins actions/upload-artifact by sha" "no pinned uses line found"

# run_act NAME BASE_PATH UPLOAD [--env K=V ...]: runs the e2e job; output and records in $tmp/NAME/.
run_act() {
    local name="$1" base="$2" upload="$3" rc=0
    shift 3
    mkdir -p "${tmp}/${name}"
    (
        cd -- "${tmp}" &&
            "${act_bin}" workflow_dispatch -W "${here}/e2e.yml" -j monitor \
                -P ubuntu-latest=-self-hosted --pull=false \
                --local-repository "${upload_pin}=${here}/upload-artifact-stub" \
                --env "E2E_SRC=${tmp}/src" \
                --env "E2E_BASE_URL=http://127.0.0.1:${port}/${base}" \
                --env "E2E_TOOL_CACHE=${tmp}/toolcache" \
                --env "E2E_OUT=${tmp}/${name}" \
                --env "E2E_UPLOAD=${upload}" \
                "$@"
    ) >"${tmp}/${name}/act.log" 2>&1 || rc=$?
    printf '%s' "${rc}" >"${tmp}/${name}/act.rc"
}

out_of() { sed -n "s/^$2=//p" "${tmp}/$1/outputs.txt" 2>/dev/null | head -n1; }

# --- 1. fresh install, monitor -------------------------------------------------------------
run_act fresh good true --env GITHUB_RETENTION_DAYS=400
log="${tmp}/fresh/act.log"
check "e2e fresh: sha256 verified against the regenerated manifest" has "${log}" "sha256 ${good_sha} matches dist/manifest.json"
binary_path="$(out_of fresh binary-path)"
check "e2e fresh: binary-path output points into the tool cache" test "${binary_path}" = "${tmp}/toolcache/closegate-engine/${version}/${arch_dir}/closegate-engine"
check "e2e fresh: installed binary is the packaged one" cmp -s -- "${binary_path}" "${bin}"
check "e2e fresh: tool cache has the .complete marker" test -s "${tmp}/toolcache/closegate-engine/${version}/${arch_dir}.complete"
check "e2e fresh: monitor-path output set" has "${tmp}/fresh/outputs.txt" '^monitor-path=/.*/soc2-monitor\.json$'
check "e2e fresh: summary-path output set" has "${tmp}/fresh/outputs.txt" '^summary-path=/.*/evals/results/latest/summary\.json$'
check "e2e fresh: report-path output set" has "${tmp}/fresh/outputs.txt" '^report-path=/.*/evals/results/latest/report\.md$'
check "e2e fresh: overall-ok output set" has "${tmp}/fresh/outputs.txt" '^overall-ok=(true|false)$'
check "e2e fresh: no retention warning at 400 days" lacks "${log}" 'artifact retention is capped'
check "e2e fresh: upload-artifact got name and retention-days" has "${tmp}/fresh/upload.log" '^retention-days=365$'
if [[ "${has_ci}" == true ]]; then
    check "e2e fresh: step succeeded" has "${tmp}/fresh/outputs.txt" '^outcome=success$'
    check "e2e fresh: overall-ok=true" has "${tmp}/fresh/outputs.txt" '^overall-ok=true$'
    check "e2e fresh: job summary holds the dimension table" has "${log}" '^\| Dimension \| Status \| Headline \| Threshold met \|$'
    check "e2e fresh: job summary names policy_enforcement" has "${log}" '\| policy_enforcement \| OK \|'
    check "e2e fresh: soc2-monitor.json uploaded" has "${tmp}/fresh/upload.log" '^file-present=.*/soc2-monitor\.json$'
    check "e2e fresh: summary.json uploaded" has "${tmp}/fresh/upload.log" '^file-present=.*/summary\.json$'
    check "e2e fresh: report.md uploaded" has "${tmp}/fresh/upload.log" '^file-present=.*/report\.md$'
else
    for c in "step succeeded" "overall-ok=true" "job summary holds the dimension table" "artifact files uploaded"; do
        pending "e2e fresh: ${c}" "needs \`closegate-engine ci\` (issue 5)"
    done
fi

# --- 2. fault-injected regression, retention 90, cache hit ---------------------------------
# A BASH_ENV file on the runner: the step's own shell may read it, the action's scripts must not.
# shellcheck disable=SC2016 # $0 is for the sourcing shell to expand
printf 'echo "E2E-BASH-ENV-SOURCED by ${0##*/}"\n' >"${tmp}/bash_env.sh"
run_act regression good true --env GITHUB_RETENTION_DAYS=90 --env CLOSEGATE_FAULT_INJECT=policy-regression \
    --env "BASH_ENV=${tmp}/bash_env.sh"
log="${tmp}/regression/act.log"
check "e2e regression: act passed BASH_ENV to the steps (so the next check means something)" has "${log}" 'E2E-BASH-ENV-SOURCED by'
check "e2e regression: BASH_ENV not read by install.sh or run.sh" lacks "${log}" 'E2E-BASH-ENV-SOURCED by (install|run)\.sh'
check "e2e regression: retention warning when GITHUB_RETENTION_DAYS=90" has "${log}" '::warning::artifact retention is capped: this repository keeps artifacts for 90 days|artifact retention is capped: this repository keeps artifacts for 90 days'
check "e2e regression: second install is a tool-cache hit" has "${log}" "cache hit: ${tmp}/toolcache/closegate-engine/${version}/${arch_dir}/closegate-engine"
check "e2e regression: no download on cache hit" lacks "${log}" 'info: downloading'
check "e2e regression: the action step failed" has "${tmp}/regression/outputs.txt" '^outcome=failure$'
check "e2e regression: overall-ok=false" has "${tmp}/regression/outputs.txt" '^overall-ok=false$'
upload_line="$(line_of "${log}" 'E2E-STUB-UPLOAD name=e2e-monitor')"
fail_line="$(line_of "${log}" 'Failure - Main Conclude')"
check "e2e regression: upload ran before the step failed" test "${upload_line}" -gt 0 -a "${fail_line}" -gt "${upload_line}"
if [[ "${has_ci}" == true ]]; then
    check "e2e regression: failed with exit code 2 (regression), not 1" has "${log}" 'closegate-engine monitor found a failure \(exit code 2\)'
    check "e2e regression: soc2-monitor.json existed at upload time" has "${tmp}/regression/upload.log" '^file-present=.*/soc2-monitor\.json$'
    check "e2e regression: report.md existed at upload time" has "${tmp}/regression/upload.log" '^file-present=.*/report\.md$'
    check "e2e regression: ::error:: annotation for the policy dimension" has "${log}" '::error title=closegate%3A policy_enforcement FAIL::'
    check "e2e regression: monitor JSON says overall_ok false" grep -q '"overall_ok": *false' "${tmp}/regression/soc2-monitor.json"
else
    for c in "failed with exit code 2 after writing the artifacts" "artifact files existed at upload time" "::error:: annotation per failing dimension"; do
        pending "e2e regression: ${c}" "needs \`closegate-engine ci\` with CLOSEGATE_FAULT_INJECT=policy-regression (issue 5)"
    done
fi

# --- 3. tampered asset ---------------------------------------------------------------------
rm -rf -- "${tmp}/toolcache"
run_act tampered tampered false
log="${tmp}/tampered/act.log"
check "e2e tampered: checksum error names both hashes" has "${log}" "checksum mismatch for \`${asset}\`: dist/manifest.json pins sha256 \`${good_sha}\` but the download from .* has sha256 \`${bad_sha}\`"
check "e2e tampered: the action step failed" has "${tmp}/tampered/outputs.txt" '^outcome=failure$'
check "e2e tampered: nothing installed" test ! -e "${tmp}/toolcache/closegate-engine/${version}/${arch_dir}/closegate-engine"
check "e2e tampered: no binary-path output" has "${tmp}/tampered/outputs.txt" '^binary-path=$'

if [[ -n "${E2E_KEEP_LOGS:-}" ]]; then
    mkdir -p "${E2E_KEEP_LOGS}" && cp -a "${tmp}"/fresh "${tmp}"/regression "${tmp}"/tampered "${E2E_KEEP_LOGS}"/ 2>/dev/null || true
fi
t_summary e2e
