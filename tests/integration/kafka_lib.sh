# kafka_lib.sh — helpers for the Kafka tests (tests/integration/kafka*.t),
# sourced after ../lib.sh. Starts librdkafka's mock cluster through
# tests/tools/mock_cluster.c and talks to it over a FIFO.
#
#   start_mock [--partitions P] [--topic T] [--brokers N]   sets $BOOT
#   mock_cmd "down 2"        send a command, wait for its "ok" (fails on error)
#   count_topic TOPIC        sum of the partitions' high watermarks (kcat -Q)
MOCK="$QL_BUILD_DIR/tools/mock_cluster"
KCLIENT="$QL_BUILD_DIR/tools/kafka_client"
[ -x "$MOCK" ] && [ -x "$KCLIENT" ] || skip_all "test tools not built (make tools)"
command -v kcat >/dev/null || skip_all "kcat not installed"

start_mock() {
    mkfifo "$tmpdir/mock.in"
    # Read-write open: does not block, and keeps a writer so the mock only
    # sees end-of-file when this test exits.
    exec 3<>"$tmpdir/mock.in"
    # (an async command's stdin would be /dev/null unless redirected in it)
    bg sh -c 'exec "$@" <"$0"' "$tmpdir/mock.in" "$MOCK" "$@" >"$tmpdir/mock.out" 2>"$tmpdir/mock.err"
    wait_for mock_listening && return 0
    echo "# mock cluster did not start: $(cat "$tmpdir/mock.err")"
    return 1
}
mock_listening() { BOOT="$(head -n1 "$tmpdir/mock.out" 2>/dev/null)"; [ -n "$BOOT" ]; }

mock_cmd() {
    local before
    before=$(wc -l <"$tmpdir/mock.out")
    echo "$1" >&3
    wait_for mock_answered "$before" || return 1
    tail -n +"$((before + 1))" "$tmpdir/mock.out" | grep -qx "ok $1"
}
mock_answered() { [ "$(wc -l <"$tmpdir/mock.out")" -gt "$1" ]; }

count_topic() {
    kcat -Q -b "$BOOT" -t "$1:0:-1" >/dev/null 2>&1 # warm-up: metadata
    local sum=0 p hw
    for p in $(kcat -L -b "$BOOT" -t "$1" 2>/dev/null | sed -n 's/^ *partition \([0-9]*\),.*/\1/p'); do
        hw=$(kcat -Q -b "$BOOT" -t "$1:$p:-1" 2>/dev/null | sed -n 's/.* \[[0-9]*\] offset \([0-9-]*\)$/\1/p')
        sum=$((sum + ${hw:-0}))
    done
    echo "$sum"
}

# is_todo GOT WANT NAME REASON: like `is`, but a mismatch is reported as a
# TAP TODO (a known failure of someone else's part, shown but not fatal).
is_todo() {
    if [ "$1" = "$2" ]; then ok 0 "$3"; return; fi
    _tap_n=$((_tap_n + 1))
    echo "not ok $_tap_n - $3 # TODO $4"
    printf '#   got: %s\n#  want: %s\n' "$1" "$2"
}
