# tests/lib.sh — shared helpers for the shell tests (TAP through prove).
# Source it from a tests/*/NAME.t script:  . "$(dirname "$0")/../lib.sh"
#
#   ok COND-EXIT "name"          is "$got" "$want" "name"      done_testing
#   QL                           the questlog binary under test (plain or SAN)
#   tmpdir                       a fresh directory, removed at exit
#   free_port                    an unused TCP port on 127.0.0.1
#   wait_port PORT [SECS]        wait until something listens there
#   bg CMD…                      start CMD in the background; killed at exit
#   duck "SQL"                   run SQL in DuckDB (node), JSON lines out
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
    rm -rf "$tmpdir"
}
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
wait_port() {  # wait_port PORT [SECONDS]
    local i n=$(( ${2:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
bg() { "$@" & _bg_pids+=($!); }
duck() { node "$ROOT/tests/interop/duck.mjs" "$@"; }
