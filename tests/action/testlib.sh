# shellcheck shell=bash
# tests/action/testlib.sh: result helpers for the action's shell tests (sourced).
# Each check prints one line, `PASS: name`, `FAIL: name: why` or `PENDING: name: why`;
# .ci/action-checks.sh counts those lines. PENDING marks a check that waits for a feature
# named in the reason and is not counted as passed.

t_pass=0
t_fail=0
t_pending=0

pass() {
    printf 'PASS: %s\n' "$1"
    t_pass=$((t_pass + 1))
}
fail() {
    printf 'FAIL: %s: %s\n' "$1" "${2:-}"
    t_fail=$((t_fail + 1))
}
pending() {
    printf 'PENDING: %s: %s\n' "$1" "$2"
    t_pending=$((t_pending + 1))
}

# check NAME CMD...: PASS when CMD succeeds.
check() {
    local name="$1" IFS=' '
    shift
    if "$@"; then
        pass "${name}"
    else
        fail "${name}" "\`$*\` failed"
    fi
}

# has FILE REGEX: the file holds a line matching the extended regex.
has() {
    grep -Eq -- "$2" "$1"
}

# line_of FILE REGEX: prints the 1-based number of the first matching line, or 0.
line_of() {
    local n
    n="$(grep -En -m1 -- "$2" "$1" | cut -d: -f1)" || true
    printf '%s' "${n:-0}"
}

t_summary() {
    printf '%s: %d passed, %d failed, %d pending\n' "$1" "${t_pass}" "${t_fail}" "${t_pending}"
    ((t_fail == 0))
}

# lacks FILE REGEX: no line of the file matches the extended regex.
lacks() {
    ! grep -Eq -- "$2" "$1"
}
