#!/usr/bin/env bash
# tests/action/install_test.sh: unit tests for dist/install.sh, with stubbed RUNNER_* env and a
# loopback release server (python3 -m http.server on 127.0.0.1).
#
# The release asset here holds a small shell script named closegate-engine that prints a version:
# install.sh treats the asset as opaque bytes, so this payload is enough to test it; the real
# binary is installed by the act end-to-end test (tests/action/e2e.sh). `cargo` is a stub on PATH
# that records its arguments and environment: the source fallback's job is to call it correctly.
# shellcheck disable=SC2016 # backticks in the expected messages are literal
set -CeEuo pipefail
IFS=$'\n\t'

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "${here}/../.." && pwd)"
# shellcheck source=testlib.sh
. "${here}/testlib.sh"

tmp="$(mktemp -d)"
server_pid=''
cleanup() {
    if [[ -n "${server_pid}" ]]; then kill "${server_pid}" 2>/dev/null || true; fi
    rm -rf -- "${tmp}"
}
trap cleanup EXIT

version=0.1.0
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc)

# The action under test: a copy of action.yml + dist/ whose manifest pins the assets built below.
action="${tmp}/action"
mkdir -p "${action}" "${tmp}/www/v${version}" "${tmp}/payload"
cp -a -- "${repo}/action.yml" "${repo}/dist" "${action}/"

make_payload() { # make_payload DIR EXE_SUFFIX
    mkdir -p "$1"
    printf '#!/bin/sh\necho "closegate-engine %s"\n' "${version}" >"$1/closegate-engine$2"
    chmod 0755 "$1/closegate-engine$2"
}
manifest_entries=''
for t in "${targets[@]}"; do
    rm -rf -- "${tmp}/payload" && mkdir -p "${tmp}/payload"
    if [[ "${t}" == *windows* ]]; then
        make_payload "${tmp}/payload" .exe
        a="closegate-engine-${version}-${t}.zip"
        (cd -- "${tmp}/payload" && zip -q -X "${tmp}/www/v${version}/${a}" closegate-engine.exe)
    else
        make_payload "${tmp}/payload" ''
        a="closegate-engine-${version}-${t}.tar.gz"
        tar -czf "${tmp}/www/v${version}/${a}" -C "${tmp}/payload" closegate-engine
    fi
    sha="$(sha256sum "${tmp}/www/v${version}/${a}" | cut -d' ' -f1)"
    manifest_entries+="\"${t}\": {\"sha256\": \"${sha}\", \"asset\": \"${a}\"},"
done
good_manifest="{\"version\": \"${version}\", \"targets\": {${manifest_entries%,}}}"
printf '%s\n' "${good_manifest}" >|"${action}/dist/manifest.json"

python3 -u -m http.server 0 --bind 127.0.0.1 --directory "${tmp}/www" >"${tmp}/server.log" 2>&1 &
server_pid=$!
port=''
for _ in $(seq 1 50); do
    port="$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "${tmp}/server.log" | head -n1)"
    [[ -z "${port}" ]] || break
    sleep 0.1
done
[[ -n "${port}" ]] || {
    fail "install: loopback server started" "no port"
    t_summary install
    exit 1
}
base="http://127.0.0.1:${port}"

# Stub cargo: records its args and env, and installs a payload where `--root` says.
mkdir -p "${tmp}/stubbin"
cat >"${tmp}/stubbin/cargo" <<'STUB'
#!/usr/bin/env bash
printf '%s\n' "$@" >"${CARGO_STUB_LOG:?}.args"
env >"${CARGO_STUB_LOG}.env"
root=''
while (($#)); do
    if [[ "$1" == --root ]]; then root="$2"; shift; fi
    shift
done
mkdir -p "${root}/bin"
printf '#!/bin/sh\necho "closegate-engine 0.1.0"\n' >"${root}/bin/closegate-engine"
chmod 0755 "${root}/bin/closegate-engine"
STUB
chmod 0755 "${tmp}/stubbin/cargo"

n=0
# run_install NAME [VAR=VALUE ...]: runs install.sh in a clean env; files in $tmp/NAME.
run_install() {
    local name="$1" rc=0
    shift
    mkdir -p "${tmp}/${name}"
    : >|"${tmp}/${name}/output"
    : >|"${tmp}/${name}/path"
    n=$((n + 1))
    env -i PATH="${tmp}/stubbin:${PATH}" HOME="${HOME}" \
        RUNNER_OS=Linux RUNNER_ARCH=X64 \
        RUNNER_TOOL_CACHE="${tmp}/toolcache" RUNNER_TEMP="${tmp}/${name}" \
        GITHUB_ACTION_PATH="${action}" GITHUB_OUTPUT="${tmp}/${name}/output" GITHUB_PATH="${tmp}/${name}/path" \
        INPUT_DOWNLOAD_BASE_URL="${base}" INPUT_INSTALL_FROM=release INPUT_VERSION='' \
        CARGO_STUB_LOG="${tmp}/${name}/cargo" \
        "$@" bash "${action}/dist/install.sh" >"${tmp}/${name}/stdout" 2>"${tmp}/${name}/stderr" || rc=$?
    printf '%s' "${rc}" >|"${tmp}/${name}/rc"
}
exited() { # exited NAME CODE
    local got
    got="$(cat "${tmp}/$1/rc")" || return 1
    test "${got}" = "$2"
}
requests() { grep -c "GET /v${version}/" "${tmp}/server.log" || true; }

# --- platform mapping: each runner fetches its own asset and installs the right file name ----
map_case() { # OS ARCH TARGET EXE ARCHDIR
    local name="map-$1-$2" before after
    before="$(requests)"
    run_install "${name}" RUNNER_OS="$1" RUNNER_ARCH="$2" RUNNER_TOOL_CACHE="${tmp}/tc-${name}"
    after="$(requests)"
    local ext=tar.gz
    [[ "$4" != .exe ]] || ext=zip
    check "install map $1/$2: exit 0" exited "${name}" 0
    check "install map $1/$2: fetched closegate-engine-${version}-$3.${ext}" has "${tmp}/server.log" "GET /v${version}/closegate-engine-${version}-$3\\.${ext} "
    check "install map $1/$2: one download" test "$((after - before))" = 1
    check "install map $1/$2: binary-path in tool cache" has "${tmp}/${name}/output" "^binary-path=${tmp}/tc-${name}/closegate-engine/${version}/$5/closegate-engine$4\$"
    check "install map $1/$2: marker" test -s "${tmp}/tc-${name}/closegate-engine/${version}/$5.complete"
    check "install map $1/$2: GITHUB_PATH appended" has "${tmp}/${name}/path" "^${tmp}/tc-${name}/closegate-engine/${version}/$5\$"
}
map_case Linux X64 x86_64-unknown-linux-musl '' x64
map_case Linux ARM64 aarch64-unknown-linux-musl '' arm64
map_case macOS X64 x86_64-apple-darwin '' x64
map_case macOS ARM64 aarch64-apple-darwin '' arm64
map_case Windows X64 x86_64-pc-windows-msvc .exe x64

# --- python3 JSON reader gives the same result as jq -----------------------------------------
run_install py-reader CLOSEGATE_JSON_READER=python3 RUNNER_TOOL_CACHE="${tmp}/tc-py"
check "install python3 reader: exit 0" exited py-reader 0
check "install python3 reader: installed" has "${tmp}/py-reader/output" "^binary-path=${tmp}/tc-py/closegate-engine/${version}/x64/closegate-engine\$"

# --- cache hit ------------------------------------------------------------------------------
run_install cache-1
before="$(requests)"
run_install cache-2
after="$(requests)"
check "install cache: second run exit 0" exited cache-2 0
check "install cache: second run is a cache hit" has "${tmp}/cache-2/stderr" '^info: cache hit: '
check "install cache: no request on cache hit" test "${after}" = "${before}"
check "install cache: binary-path output on cache hit" has "${tmp}/cache-2/output" "^binary-path=${tmp}/toolcache/closegate-engine/${version}/x64/closegate-engine\$"
# A cached binary changed behind our back is not trusted.
printf '#!/bin/sh\necho "closegate-engine %s"  # changed\n' "${version}" >|"${tmp}/toolcache/closegate-engine/${version}/x64/closegate-engine"
run_install cache-3
after3="$(requests)"
check "install cache: modified cached binary is reinstalled" has "${tmp}/cache-3/stderr" 'does not match the pinned checksum; reinstalling'
check "install cache: reinstall downloads again" test "${after3}" = "$((after + 1))"
check "install cache: reinstalled binary is the pinned one" lacks "${tmp}/toolcache/closegate-engine/${version}/x64/closegate-engine" 'changed'

# --- checksum mismatch ------------------------------------------------------------------------
wrong="0000000000000000000000000000000000000000000000000000000000000000"
python3 - "${action}/dist/manifest.json" "${wrong}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["targets"]["x86_64-unknown-linux-musl"]["sha256"] = sys.argv[2]
json.dump(m, open(sys.argv[1], "w"))
PY
real_sha="$(sha256sum "${tmp}/www/v${version}/closegate-engine-${version}-x86_64-unknown-linux-musl.tar.gz" | cut -d' ' -f1)"
run_install mismatch RUNNER_TOOL_CACHE="${tmp}/tc-mismatch"
check "install mismatch: exit 1" exited mismatch 1
check "install mismatch: ::error:: names both hashes" has "${tmp}/mismatch/stderr" "^::error::checksum mismatch for .*pins sha256 \`${wrong}\` but the download .* has sha256 \`${real_sha}\`"
check "install mismatch: nothing installed" test ! -e "${tmp}/tc-mismatch/closegate-engine/${version}/x64/closegate-engine"
check "install mismatch: no marker" test ! -e "${tmp}/tc-mismatch/closegate-engine/${version}/x64.complete"
check "install mismatch: no binary-path output" lacks "${tmp}/mismatch/output" 'binary-path'
check "install mismatch: cargo not called" test ! -e "${tmp}/mismatch/cargo.args"
printf '%s\n' "${good_manifest}" >|"${action}/dist/manifest.json"

# --- source fallback ------------------------------------------------------------------------
run_install source INPUT_INSTALL_FROM=source GITHUB_TOKEN=ghs_secret_token_value GH_TOKEN=ghs_secret_token_value
check "install source: exit 0" exited source 0
cargo_args="$(paste -sd' ' "${tmp}/source/cargo.args")" || true
check "install source: cargo install --path <action> --locked" test "${cargo_args}" = "install --path ${action} --locked --root ${tmp}/source/closegate-engine-source"
check "install source: binary-path is cargo's" has "${tmp}/source/output" "^binary-path=${tmp}/source/closegate-engine-source/bin/closegate-engine\$"
check "install source: no download" lacks "${tmp}/source/stderr" 'downloading'
check "install source: token not passed to cargo" lacks "${tmp}/source/cargo.env" 'ghs_secret_token_value'
check "install source: token never printed" lacks "${tmp}/source/stderr" 'ghs_secret_token_value'

printf '{"version": "%s", "targets": {}}\n' "${version}" >|"${action}/dist/manifest.json"
run_install no-entry RUNNER_TOOL_CACHE="${tmp}/tc-no-entry"
check "install no manifest entry: exit 0" exited no-entry 0
check "install no manifest entry: ::notice:: about the source build" has "${tmp}/no-entry/stderr" '^::notice::dist/manifest.json pins no prebuilt closegate-engine 0\.1\.0 for `x86_64-unknown-linux-musl`; building from source'
check "install no manifest entry: cargo called" has "${tmp}/no-entry/cargo.args" '^--locked$'
check "install no manifest entry: no download" lacks "${tmp}/no-entry/stderr" 'downloading'
printf '%s\n' "${good_manifest}" >|"${action}/dist/manifest.json"

run_install unsupported RUNNER_OS=FreeBSD RUNNER_ARCH=X64
check "install unsupported platform: exit 0 via source" exited unsupported 0
check "install unsupported platform: ::notice::" has "${tmp}/unsupported/stderr" '^::notice::no prebuilt closegate-engine for FreeBSD/X64'

# --- input validation: each error repeats the bad value, nothing is fetched ----------------
before="$(requests)"
run_install bad-from INPUT_INSTALL_FROM=ftp
check "install bad install-from: exit 1 naming the value" has "${tmp}/bad-from/stderr" '^::error::input `install-from` must be `release` or `source`, got `ftp`'
run_install bad-version INPUT_VERSION=9.9.9
check "install other version: exit 1 explaining the pin" has "${tmp}/bad-version/stderr" '^::error::input `version` is `9\.9\.9` but this ref of the action pins checksums for `0\.1\.0` only'
run_install bad-version-syntax INPUT_VERSION='1.0;rm'
check "install malformed version: error naming the value" has "${tmp}/bad-version-syntax/stderr" '^::error::input `version` must look like `1\.2\.3`, got `1\.0;rm`'
run_install bad-url INPUT_DOWNLOAD_BASE_URL=http://example.invalid/releases
check "install plain http to a non-loopback host refused" has "${tmp}/bad-url/stderr" '^::error::input `download-base-url` must use https .*got `http://example\.invalid/releases`'
run_install bad-url2 INPUT_DOWNLOAD_BASE_URL=file:///etc
check "install file:// refused" has "${tmp}/bad-url2/stderr" '^::error::input `download-base-url` must be an https URL, got `file:///etc`'
run_install v-prefix INPUT_VERSION=v0.1.0 RUNNER_TOOL_CACHE="${tmp}/tc-v"
check "install version with a v prefix accepted" exited v-prefix 0
after="$(requests)"
check "install invalid inputs fetched nothing" test "${after}" = "$((before + 1))"
for c in bad-from bad-version bad-version-syntax bad-url bad-url2; do
    check "install ${c}: exit code 1" exited "${c}" 1
done

t_summary install
