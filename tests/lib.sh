# tests/lib.sh — shared helpers for the shell tests (TAP through prove).
# Source it from a tests/*/NAME.t script:  . "$(dirname "$0")/../lib.sh"
#
#   ok COND-EXIT "name"          is "$got" "$want" "name"      done_testing
#   QL                           the questlog binary under test (plain or SAN)
#   tmpdir                       a fresh directory, removed at exit
#   free_port                    an unused TCP port on 127.0.0.1
#   wait_for [-t SECS] CMD…      run CMD until it succeeds (at most SECS, default 60)
#   wait_port PORT [SECS]        wait until something listens there (default 60 s)
#   bg CMD…                      start CMD in the background; killed at exit
#   duck "SQL"                   run SQL in DuckDB (node), JSON lines out
#   QL_KEEP_TMP=1 (environment)  keep $tmpdir (logs, data) when a test fails
#   step "what"                  a test step starts; at exit a step slower than
#                                QL_SLOW_STEP s (default 60) is named on stderr and
#                                $tmpdir is kept, even on success (not an assertion)
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QL="${QL_BIN:-$ROOT/questlog}"
QL_BUILD_DIR="${QL_BUILD_DIR:-$ROOT/build}"
_tap_n=0
_tap_failed=0
_bg_pids=()
tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/questlog-test.XXXXXX")"

_cleanup() {
    local p
    for p in "${_bg_pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
    for p in "${_bg_pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
    _step_end
    if [ ${#_slow_steps[@]} -gt 0 ]; then
        echo "# $(basename "$0"): slow steps (> ${QL_SLOW_STEP:-60} s):${_slow_steps[*]}; logs kept in $tmpdir" >&2
        return
    fi
    if [ -n "${QL_KEEP_TMP:-}" ] && [ "$_tap_failed" -gt 0 ]; then echo "# kept $tmpdir"; return; fi
    rm -rf "$tmpdir"
}

# Slow steps: a test that passes after minutes on a loaded machine leaves
# nothing to look at. `step "what"` marks where a step starts (it ends at the
# next step or at exit); one slower than QL_SLOW_STEP seconds is reported on
# stderr (prove shows it) and the test's $tmpdir is kept with its logs.
_step_name=""
_step_t0=""
_slow_steps=()
_step_end() {
    [ -n "$_step_t0" ] || return 0
    local us=$(( ${EPOCHREALTIME/./} - _step_t0 ))
    if [ "$us" -gt $(( ${QL_SLOW_STEP:-60} * 1000000 )) ]; then
        _slow_steps+=(" '$_step_name' $((us / 1000000)).$((us / 100000 % 10)) s")
    fi
    _step_t0=""
}
step() { _step_end; _step_name=$1; _step_t0=${EPOCHREALTIME/./}; }
trap _cleanup EXIT

ok() {  # ok <exit-status> "name"
    _tap_n=$((_tap_n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"; else echo "not ok $_tap_n - $2"; _tap_failed=$((_tap_failed + 1)); fi
}
is() {  # is "got" "want" "name"
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; printf '#   got: %s\n#  want: %s\n' "$1" "$2"; fi
}
diag() { echo "# $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; exit $?; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Waits are on conditions, never on sleeps, and their caps are generous:
# a SAN build on a loaded 2-core machine is many times slower than a plain
# one on an idle machine, and a condition that holds ends the wait at once.
wait_for() {  # wait_for [-t SECS] CMD…: 0 as soon as CMD succeeds, 1 after SECS
    local secs=60
    if [ "$1" = "-t" ]; then secs=$2; shift 2; fi
    local end=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.05
    done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { wait_for -t "${2:-60}" port_open "$1"; }  # wait_port PORT [SECONDS]
bg() { "$@" & _bg_pids+=($!); }
# serve_bg DATA: `questlog serve --data DATA` in the background on a fresh
# loopback port; sets $port and $serve_pid, bails out if it never listens.
serve_bg() {
    port=$(free_port)
    bg "$QL" serve --data "$1" --listen "127.0.0.1:$port" >/dev/null 2>&1
    serve_pid=$!
    wait_port "$port" || { echo "Bail out! serve did not start on $port"; exit 1; }
}
duck() { node "$ROOT/tests/interop/duck.mjs" "$@"; }

# Fuzz runners (tests/fuzz/NAME.t):
#   fuzz_setup NAME         skip unless build/fuzz/fuzz_NAME exists; makes $corpus
#   fuzz_run NAME "what" [libFuzzer flags…]
#                           runs it for QL_FUZZ_SECONDS (default 10) over $corpus,
#                           one TAP line, the tail of its output on failure
fuzz_setup() {
    fuzz_bin="$QL_BUILD_DIR/fuzz/fuzz_$1"
    [ -x "$fuzz_bin" ] || skip_all "fuzz_$1 not built (make fuzz needs clang)"
    corpus="$tmpdir/corpus"
    mkdir -p "$corpus"
}
fuzz_run() {
    local name="$1" what="$2" secs="${QL_FUZZ_SECONDS:-10}" rc
    shift 2
    "$fuzz_bin" -max_total_time="$secs" -print_final_stats=0 -artifact_prefix="$tmpdir/" "$@" \
        "$corpus" > "$tmpdir/fuzz.out" 2>&1
    rc=$?
    ok $rc "fuzz_$name: $secs s without $what"
    [ $rc -eq 0 ] || tail -40 "$tmpdir/fuzz.out" | sed 's/^/# /'
    done_testing
}
