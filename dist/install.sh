#!/usr/bin/env bash
# dist/install.sh: installs the closegate-engine binary for the GitHub Action (action.yml).
#
# It maps RUNNER_OS/RUNNER_ARCH to a release target, downloads
# closegate-engine-<version>-<target>.tar.gz (.zip on Windows) from <base>/v<version>/, checks its
# sha256 against dist/manifest.json committed next to this script (never against a checksum served
# from the same place as the binary), and unpacks it into
# RUNNER_TOOL_CACHE/closegate-engine/<version>/<arch>/ with a <arch>.complete marker, so a
# self-hosted runner skips repeat downloads. It appends the folder to GITHUB_PATH and sets the
# step output `binary-path`. With install-from=source, or when the manifest has no entry for this
# platform, it builds with `cargo install --path "$GITHUB_ACTION_PATH" --locked` instead.
#
# It must not: unpack anything before the checksum matched, accept plain http:// except on a
# loopback host (for tests), or see a token (it unsets every token variable first).
#
# Inputs (env): INPUT_VERSION, INPUT_INSTALL_FROM (release|source), INPUT_DOWNLOAD_BASE_URL.
set -CeEuo pipefail
IFS=$'\n\t'

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "${script_dir}/lib.sh"

# This script downloads public release assets only: no token may reach curl or cargo.
unset GITHUB_TOKEN GH_TOKEN INPUT_GITHUB_TOKEN INPUT_SLACK_WEBHOOK CLOSEGATE_SLACK_HOOK || true

readonly tool_name=closegate-engine
readonly default_base_url=https://github.com/closegate/monitor/releases/download
action_path="${GITHUB_ACTION_PATH:-$(cd -- "${script_dir}/.." && pwd)}"
manifest="${CLOSEGATE_MANIFEST:-${action_path}/dist/manifest.json}"

# --- inputs ----------------------------------------------------------------------------------
install_from="${INPUT_INSTALL_FROM:-release}"
case "${install_from}" in
    release | source) ;;
    *) bail "input \`install-from\` must be \`release\` or \`source\`, got \`${install_from}\`" ;;
esac

[[ -f "${manifest}" ]] || bail "the action's manifest \`${manifest}\` is missing"
pinned_version="$(json_string "${manifest}" version)"
[[ -n "${pinned_version}" ]] || bail "\`${manifest}\` has no \`version\`"

version="${INPUT_VERSION:-}"
version="${version#v}"
case "${version}" in
    '') version="${pinned_version}" ;;
    *[!0-9A-Za-z.+-]* | .* | *..*) bail "input \`version\` must look like \`1.2.3\`, got \`${INPUT_VERSION}\`" ;;
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) bail "input \`version\` must look like \`1.2.3\`, got \`${INPUT_VERSION}\`" ;;
esac
if [[ "${version}" != "${pinned_version}" ]]; then
    bail "input \`version\` is \`${version}\` but this ref of the action pins checksums for \`${pinned_version}\` only; use the action ref that pins \`${version}\` (see docs/action.md)"
fi

base_url="${INPUT_DOWNLOAD_BASE_URL:-${default_base_url}}"
base_url="${base_url%/}"
case "${base_url}" in
    https://?*) ;;
    http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/* | http://\[::1\]:* | http://\[::1\]/*) ;;
    http://*) bail "input \`download-base-url\` must use https (plain http is allowed for loopback test servers only), got \`${base_url}\`" ;;
    *) bail "input \`download-base-url\` must be an https URL, got \`${base_url}\`" ;;
esac

# --- platform --------------------------------------------------------------------------------
runner_os="${RUNNER_OS:-}"
runner_arch="${RUNNER_ARCH:-}"
if [[ -z "${runner_os}" ]]; then
    case "$(uname -s)" in
        Linux) runner_os=Linux ;;
        Darwin) runner_os=macOS ;;
        MINGW* | MSYS* | CYGWIN*) runner_os=Windows ;;
        *) runner_os="$(uname -s)" ;;
    esac
fi
if [[ -z "${runner_arch}" ]]; then
    case "$(uname -m)" in
        x86_64 | amd64) runner_arch=X64 ;;
        aarch64 | arm64) runner_arch=ARM64 ;;
        *) runner_arch="$(uname -m)" ;;
    esac
fi

# target_for OS ARCH: prints the Rust target triple released for this runner, or nothing.
target_for() {
    case "$1/$2" in
        Linux/X64) printf 'x86_64-unknown-linux-musl' ;;
        Linux/ARM64) printf 'aarch64-unknown-linux-musl' ;;
        macOS/X64) printf 'x86_64-apple-darwin' ;;
        macOS/ARM64) printf 'aarch64-apple-darwin' ;;
        Windows/X64) printf 'x86_64-pc-windows-msvc' ;;
        *) ;;
    esac
}
target="$(target_for "${runner_os}" "${runner_arch}")"
arch="$(printf '%s' "${runner_arch}" | tr '[:upper:]' '[:lower:]')"
exe=''
archive_ext=tar.gz
if [[ "${runner_os}" == Windows ]]; then
    exe=.exe
    archive_ext=zip
fi

# Converts a Windows path to the form this bash understands (Git Bash), else returns it as is.
to_unix_path() {
    if [[ "${runner_os}" == Windows ]] && command -v cygpath >/dev/null 2>&1; then
        cygpath -u "$1"
    else
        printf '%s' "$1"
    fi
}
to_native_path() {
    if [[ "${runner_os}" == Windows ]] && command -v cygpath >/dev/null 2>&1; then
        cygpath -w "$1"
    else
        printf '%s' "$1"
    fi
}

finish() {
    local bin="$1" dir reported native
    dir="$(dirname -- "${bin}")"
    reported="$("${bin}" --version 2>&1)" || bail "installed binary \`${bin}\` does not run: ${reported}"
    case "${reported}" in
        *" ${version}" | *" ${version} "*) ;;
        *) bail "installed binary reports \`${reported}\`, expected version \`${version}\`" ;;
    esac
    if [[ -n "${GITHUB_PATH:-}" ]]; then
        to_native_path "${dir}" >>"${GITHUB_PATH}"
        printf '\n' >>"${GITHUB_PATH}"
    fi
    native="$(to_native_path "${bin}")"
    set_output binary-path "${native}"
    info "installed ${reported} at ${bin}"
    exit 0
}

install_from_source() {
    local root
    command -v cargo >/dev/null 2>&1 || bail "building from source needs \`cargo\` (install Rust with rustup, or use \`install-from: release\`)"
    root="$(to_unix_path "${RUNNER_TEMP:-${TMPDIR:-/tmp}}")/closegate-engine-source"
    info "cargo install --path ${action_path} --locked --root ${root}"
    cargo install --path "${action_path}" --locked --root "${root}" \
        || bail "\`cargo install --path ${action_path} --locked\` failed"
    finish "${root}/bin/${tool_name}${exe}"
}

if [[ "${install_from}" == source ]]; then
    install_from_source
fi
if [[ -z "${target}" ]]; then
    notice "no prebuilt closegate-engine for ${runner_os}/${runner_arch}; building from source with cargo"
    install_from_source
fi
want_sha="$(json_string "${manifest}" targets "${target}" sha256)"
asset="$(json_string "${manifest}" targets "${target}" asset)"
if [[ -z "${want_sha}" ]]; then
    notice "dist/manifest.json pins no prebuilt closegate-engine ${version} for \`${target}\`; building from source with cargo"
    install_from_source
fi
case "${want_sha}" in
    *[!0-9a-f]*) bail "\`${manifest}\` has a malformed sha256 for \`${target}\`: \`${want_sha}\`" ;;
    *) ;;
esac
[[ ${#want_sha} -eq 64 ]] || bail "\`${manifest}\` has a malformed sha256 for \`${target}\`: \`${want_sha}\`"
expected_asset="${tool_name}-${version}-${target}.${archive_ext}"
[[ -z "${asset}" || "${asset}" == "${expected_asset}" ]] \
    || bail "\`${manifest}\` names asset \`${asset}\` for \`${target}\`, expected \`${expected_asset}\`"
asset="${expected_asset}"

# --- tool cache ------------------------------------------------------------------------------
cache_root="${RUNNER_TOOL_CACHE:-}"
if [[ -z "${cache_root}" ]]; then
    cache_root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/toolcache"
    warn "RUNNER_TOOL_CACHE is not set; caching under \`${cache_root}\`"
fi
cache_root="$(to_unix_path "${cache_root}")"
version_dir="${cache_root}/${tool_name}/${version}"
dest="${version_dir}/${arch}"
marker="${version_dir}/${arch}.complete"
bin="${dest}/${tool_name}${exe}"

# The marker records the archive's sha256 and the binary's sha256: a cache entry counts only when
# it came from the archive pinned now and the binary was not changed since.
if [[ -f "${marker}" && -f "${bin}" ]]; then
    IFS=' ' read -r marker_archive marker_bin <"${marker}" || true
    cached_sha="$(sha256_of "${bin}")"
    if [[ "${marker_archive:-}" == "${want_sha}" && "${cached_sha}" == "${marker_bin:-}" ]]; then
        info "cache hit: ${bin}"
        finish "${bin}"
    fi
    warn "cached closegate-engine in \`${dest}\` does not match the pinned checksum; reinstalling"
fi

# --- download and verify ---------------------------------------------------------------------
tmp_base="$(to_unix_path "${RUNNER_TEMP:-${TMPDIR:-/tmp}}")"
work="$(mktemp -d "${tmp_base}/closegate-install.XXXXXX")"
trap 'rm -rf -- "${work}"' EXIT
url="${base_url}/v${version}/${asset}"
info "downloading ${url}"
curl_args=(--fail --silent --show-error --location --retry 3 --retry-connrefused --connect-timeout 20 --max-time 300 --tlsv1.2 --output "${work}/${asset}")
case "${base_url}" in
    https://*) curl_args+=(--proto '=https' --proto-redir '=https') ;;
    *) curl_args+=(--proto '=http' --proto-redir '=http') ;; # loopback test server only (checked above)
esac
# shellcheck disable=SC2310 # retry only loops over curl; set -e inside it is not needed
retry 2 curl "${curl_args[@]}" "${url}" || bail "could not download \`${url}\`"

got_sha="$(sha256_of "${work}/${asset}")"
if [[ "${got_sha}" != "${want_sha}" ]]; then
    bail "checksum mismatch for \`${asset}\`: dist/manifest.json pins sha256 \`${want_sha}\` but the download from \`${url}\` has sha256 \`${got_sha}\`; refusing to install"
fi
info "sha256 ${got_sha} matches dist/manifest.json"

mkdir -p "${work}/unpack"
if [[ "${archive_ext}" == zip ]]; then
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "${work}/${asset}" -d "${work}/unpack"
    elif command -v 7z >/dev/null 2>&1; then
        7z x -bd -y "-o${work}/unpack" "${work}/${asset}" >/dev/null
    else
        win_zip="$(to_native_path "${work}/${asset}")"
        win_dir="$(to_native_path "${work}/unpack")"
        pwsh -NoProfile -Command "Expand-Archive -LiteralPath '${win_zip}' -DestinationPath '${win_dir}'"
    fi
else
    tar -xzf "${work}/${asset}" -C "${work}/unpack"
fi
[[ -f "${work}/unpack/${tool_name}${exe}" ]] || bail "\`${asset}\` does not hold \`${tool_name}${exe}\` at its root"

rm -rf -- "${dest}" "${marker}"
mkdir -p "${dest}"
mv -f -- "${work}/unpack/${tool_name}${exe}" "${bin}"
chmod 0755 "${bin}"
bin_sha="$(sha256_of "${bin}")"
printf '%s %s\n' "${want_sha}" "${bin_sha}" >"${marker}"
finish "${bin}"
