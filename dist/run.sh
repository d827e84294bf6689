#!/usr/bin/env bash
# dist/run.sh: runs closegate-engine for the GitHub Action (action.yml) in one of three modes.
#
#   monitor  `closegate-engine ci`: writes soc2-monitor.json and evals/results/latest/*, then the job
#            summary (dimension table, overall status, run link), one ::error:: per failing
#            dimension, and a ::warning:: when GITHUB_RETENTION_DAYS is below retention-days.
#   export   `closegate-engine audit-evidence-export` against this repository's Actions history,
#            with the job token handed to that one process as GITHUB_TOKEN.
#   verify   `closegate-engine audit verify`.
#
# It must not fail the step on a regression: it records the engine's exit code in the output
# `exit-code`, so that action.yml uploads the artifacts first and fails afterwards. It never
# prints the token or the Slack webhook and unsets them as soon as they are read.
#
# Inputs (env): BINARY and INPUT_* (see action.yml).
set -CeEuo pipefail
IFS=$'\n\t'

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "${script_dir}/lib.sh"

# Secrets: read once, unset at once, handed only to the one process that needs them.
token="${INPUT_GITHUB_TOKEN:-}"
slack_hook="${INPUT_SLACK_WEBHOOK:-}"
unset INPUT_GITHUB_TOKEN INPUT_SLACK_WEBHOOK GITHUB_TOKEN GH_TOKEN CLOSEGATE_SLACK_HOOK || true

bin="${BINARY:-}"
[[ -n "${bin}" ]] || bail "no closegate-engine binary: the install step set no \`binary-path\`"

# --- inputs ----------------------------------------------------------------------------------
mode="${INPUT_MODE:-monitor}"
case "${mode}" in
    monitor | export | verify) ;;
    *) bail "input \`mode\` must be \`monitor\`, \`export\` or \`verify\`, got \`${mode}\`" ;;
esac
bool_input() {
    case "$2" in
        true | false) printf '%s' "$2" ;;
        *) bail "input \`$1\` must be \`true\` or \`false\`, got \`$2\`" ;;
    esac
}
fail_on_regression="$(bool_input fail-on-regression "${INPUT_FAIL_ON_REGRESSION:-true}")"
upload="$(bool_input upload-artifact "${INPUT_UPLOAD_ARTIFACT:-true}")"
retention_days="${INPUT_RETENTION_DAYS:-365}"
case "${retention_days}" in
    '' | *[!0-9]* | 0*) bail "input \`retention-days\` must be a whole number of days from 1, got \`${retention_days}\`" ;;
    *) ;;
esac
pack="${INPUT_PACK:-saas}"
case "${pack}" in
    '' | *[!a-z0-9_-]*) bail "input \`pack\` must be a pack name such as \`saas\`, got \`${pack}\`" ;;
    *) ;;
esac
dimensions="${INPUT_DIMENSIONS:-}"
case "${dimensions}" in
    *[!a-z_,]* | ,* | *, | *,,*) bail "input \`dimensions\` must be a comma-separated list such as \`accuracy,policy\`, got \`${dimensions}\`" ;;
    *) ;;
esac
policy="${INPUT_POLICY:-}"
case "${policy}" in
    *$'\n'* | -*) bail "input \`policy\` must be a file path, got \`${policy}\`" ;;
    *) ;;
esac
artifact_name="${INPUT_ARTIFACT_NAME:-soc2-monitor-${GITHUB_RUN_NUMBER:-0}}"
case "${artifact_name}" in
    '' | *[\"\<\>\|\*\?\\/:]* | *$'\n'*) bail "input \`artifact-name\` may not be empty or hold \" : < > | * ? \\ / or a newline, got \`${artifact_name}\`" ;;
    *) ;;
esac
date_input() {
    case "$2" in
        [12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]) printf '%s' "$2" ;;
        '') bail "input \`$1\` is required in export mode (a date such as \`2026-01-01\`)" ;;
        *) bail "input \`$1\` must be a date such as \`2026-01-01\`, got \`$2\`" ;;
    esac
}

workspace="${GITHUB_WORKSPACE:-${PWD}}"
cd -- "${workspace}"

# Absolute path in the runner's own notation (Windows paths for Git Bash on Windows).
abs_path() {
    local p="$1"
    [[ "${p}" == /* ]] || p="${PWD}/${p}"
    if [[ "${RUNNER_OS:-}" == Windows ]] && command -v cygpath >/dev/null 2>&1; then
        cygpath -w "${p}"
    else
        printf '%s' "${p}"
    fi
}

# Joins arguments with single spaces (IFS is newline/tab in this script).
join_args() {
    local IFS=' '
    printf '%s' "$*"
}

summary() {
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        printf '%s\n' "$@" >>"${GITHUB_STEP_SUMMARY}"
    fi
}

run_link() {
    if [[ -n "${GITHUB_SERVER_URL:-}" && -n "${GITHUB_REPOSITORY:-}" && -n "${GITHUB_RUN_ID:-}" ]]; then
        printf '%s/%s/actions/runs/%s' "${GITHUB_SERVER_URL}" "${GITHUB_REPOSITORY}" "${GITHUB_RUN_ID}"
    fi
}

global_args=()
[[ -z "${policy}" ]] || global_args+=(--policy "${policy}")

set_output exit-code ''
rc=0
case "${mode}" in
    monitor)
        out="${INPUT_OUT:-soc2-monitor.json}"
        monitor_path="$(abs_path "${out}")"
        summary_path="$(abs_path evals/results/latest/summary.json)"
        report_path="$(abs_path evals/results/latest/report.md)"
        set_output monitor-path "${monitor_path}"
        set_output summary-path "${summary_path}"
        set_output report-path "${report_path}"
        set_output artifact-name "${artifact_name}"

        if [[ "${upload}" == true && -n "${GITHUB_RETENTION_DAYS:-}" ]]; then
            case "${GITHUB_RETENTION_DAYS}" in
                *[!0-9]*) ;;
                *)
                    if ((GITHUB_RETENTION_DAYS < retention_days)); then
                        warn "artifact retention is capped: this repository keeps artifacts for ${GITHUB_RETENTION_DAYS} days (GITHUB_RETENTION_DAYS) but retention-days is ${retention_days}; GitHub shortens it silently, so evidence older than ${GITHUB_RETENTION_DAYS} days will be gone. Raise the repository's artifact retention (Settings > Actions > General) or copy the artifacts elsewhere; see docs/action.md"
                    fi
                    ;;
            esac
        fi

        args=(ci --pack "${pack}" --out "${out}")
        [[ "${fail_on_regression}" == false ]] || args+=(--fail-on-regression)
        [[ -z "${dimensions}" ]] || args+=(--dimension "${dimensions}")
        cmdline="$(join_args "${global_args[@]}" "${args[@]}")"
        info "closegate-engine ${cmdline}"
        if [[ -n "${slack_hook}" ]]; then
            CLOSEGATE_SLACK_HOOK="${slack_hook}" "${bin}" "${global_args[@]}" "${args[@]}" || rc=$?
        else
            "${bin}" "${global_args[@]}" "${args[@]}" || rc=$?
        fi

        overall=false
        if [[ -f "${out}" ]]; then
            overall="$(json_string "${out}" overall_ok)"
            [[ "${overall}" == true ]] || overall=false
            rows="$(json_rows "${out}")"
            eval_run_id="$(json_string "${out}" eval_run_id)"
            if [[ "${overall}" == true ]]; then
                summary "## closegate SOC 2 monitor: :white_check_mark: all dimensions OK" ""
            else
                summary "## closegate SOC 2 monitor: :x: regression" ""
            fi
            summary "| Dimension | Status | Headline | Threshold met |" "| --- | --- | --- | --- |"
            while IFS=$'\t' read -r dim status headline met; do
                [[ -n "${dim}" ]] || continue
                summary "| ${dim} | ${status} | ${headline//'|'/'\|'} | ${met} |"
                if [[ "${status}" != OK ]]; then
                    annotate error "closegate: ${dim} ${status}" "${dim} is ${status}: ${headline}"
                fi
            done <<<"${rows}"
            overall_word=FAIL
            [[ "${overall}" != true ]] || overall_word=OK
            summary "" "Overall: **${overall_word}** · eval run \`${eval_run_id:-?}\` · \`closegate-engine ci\` exit code ${rc}"
        else
            annotate error closegate "closegate-engine ci exited ${rc} and wrote no \`${out}\`"
            summary "## closegate SOC 2 monitor: :x: did not run" "" "\`closegate-engine ci\` exited ${rc} and wrote no \`${out}\`; see the step log."
        fi
        link="$(run_link)"
        if [[ -n "${link}" ]]; then
            if [[ "${upload}" == true ]]; then
                summary "" "[This run](${link}) · artifact \`${artifact_name}\` (soc2-monitor.json, summary.json, report.md; kept ${retention_days} days unless the repository caps it)"
            else
                summary "" "[This run](${link}) · artifact upload disabled"
            fi
        fi
        set_output overall-ok "${overall}"
        ;;
    export)
        since="$(date_input since "${INPUT_SINCE:-}")"
        until="$(date_input until "${INPUT_UNTIL:-}")"
        out="${INPUT_OUT:-audit-evidence-${since}-${until}.zip}"
        workflow="${INPUT_WORKFLOW:-soc2-monitor-nightly.yml}"
        case "${workflow}" in
            '' | *$'\n'* | -*) bail "input \`workflow\` must be a workflow file name or id, got \`${workflow}\`" ;;
            *) ;;
        esac
        bundle_path="$(abs_path "${out}")"
        args=(audit-evidence-export --since "${since}" --until "${until}" --out "${out}" --workflow "${workflow}")
        [[ -z "${GITHUB_REPOSITORY:-}" ]] || args+=(--github-repo "${GITHUB_REPOSITORY}")
        cmdline="$(join_args "${global_args[@]}" "${args[@]}")"
        info "closegate-engine ${cmdline}"
        GITHUB_TOKEN="${token}" "${bin}" "${global_args[@]}" "${args[@]}" || rc=$?
        if ((rc == 0)) && [[ -f "${out}" ]]; then
            bundle_name="$(basename -- "${out}")"
            set_output bundle-path "${bundle_path}"
            set_output artifact-name "${bundle_name%.zip}"
            bundle_sha="$(sha256_of "${out}")"
            summary "## closegate audit evidence export" "" "Bundle \`${bundle_name}\` for ${since} to ${until}, sha256 \`${bundle_sha}\`."
        else
            annotate error closegate "closegate-engine audit-evidence-export exited ${rc}; no bundle"
            [[ "${rc}" -ne 0 ]] || rc=1
        fi
        ok=false
        [[ "${rc}" -ne 0 ]] || ok=true
        set_output overall-ok "${ok}"
        ;;
    verify)
        cmdline="$(join_args "${global_args[@]}" audit verify)"
        info "closegate-engine ${cmdline}"
        "${bin}" "${global_args[@]}" audit verify || rc=$?
        if ((rc == 0)); then
            summary "## closegate audit chain: :white_check_mark: verified"
        else
            summary "## closegate audit chain: :x: verification failed (exit code ${rc})"
        fi
        ok=false
        [[ "${rc}" -ne 0 ]] || ok=true
        set_output overall-ok "${ok}"
        ;;
    *) bail "unreachable mode \`${mode}\`" ;;
esac
unset token slack_hook
set_output exit-code "${rc}"
