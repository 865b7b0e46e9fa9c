#!/usr/bin/env bash
# seed-vs-questlog.sh — the seed's API (Flask + kafka-python KafkaProducer,
# bench/seed/game_api.py) against `questlog serve --kafka`, both producing
# to the same librdkafka mock cluster (3 brokers, topic events, 4 partitions),
# each driven by the same wrk run: GET /purchase_a_sword with the seed's
# Host header. Prints both req/s, the ratio, and how many events each one
# actually got into the topic (the seed answers before Kafka has the event;
# questlog answers after the delivery report, acks=all, idempotent).
#
# Fairness and stability: both servers run side by side for the whole
# script against the one mock cluster; each gets a warm-up run first (the
# seed's producer connects, questlog learns the partition count); then RUNS
# rounds (default 3), each one wrk run on the seed followed by one on
# questlog. Each run prints its CPU split per request — questlog (or the
# seed), the mock cluster, wrk — from /proc and bash's `time`, which shows
# where the time goes on a shared 2-core machine, and the machine's idle
# share during the run next to the share those three processes took (what
# is missing went to interrupts and to neighbours: on a machine shared with
# other jobs, a run with little idle and a low share was starved). The
# summary is the median of each side and the ratio of the medians.
#
#   bash bench/seed-vs-questlog.sh
#   DUR=10s CONN=64 THREADS=2 RUNS=3   wrk's runs;   QLX="-X linger.ms=5 --threads 1"
#   extra questlog serve arguments;   SKIP_SEED=1 questlog only (tuning);
#   NGINX_WORKERS=2 (0: no ceiling runs)
#
# The ceiling: each round also runs the same wrk against nginx answering the
# same route with a fixed text from memory (bench/nginx.sh) — an HTTP server
# that does no Kafka work at all, beside the same idle mock cluster. Its
# ratio to the seed is the most any server can reach here; questlog's
# share of it is what its Kafka path (librdkafka, the mock broker, their
# loopback traffic, answering from delivery reports) costs.
#
# Limits: the mock cluster is librdkafka's in-process test broker, one
# process, in memory; questlog, wrk and the mock share the machine's cores
# with whatever else runs. Figures are noisy: compare within one run.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QL="${QL_BIN:-$ROOT/questlog}"
MOCK="$ROOT/build/tools/mock_cluster"
DUR="${DUR:-10s}"; CONN="${CONN:-64}"; THREADS="${THREADS:-2}"; RUNS="${RUNS:-3}"
PY=/usr/bin/python3          # Debian's python3-flask / python3-kafka live here

need=""
command -v wrk >/dev/null || need="$need wrk"
command -v kcat >/dev/null || need="$need kcat"
$PY -c 'import flask' 2>/dev/null || need="$need python3-flask"
$PY -c 'import kafka' 2>/dev/null || need="$need python3-kafka"
if [ -n "$need" ]; then
    echo "installing:$need"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null || exit 1
fi
[ -x "$QL" ] && [ -x "$MOCK" ] || make -C "$ROOT" all tools >/dev/null || exit 1

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ql-bench.XXXXXX")"
pids=()
cleanup() {
    local p
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    local i
    for ((i = 0; i < 200; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
topic_count() {  # messages in topic events (sum of high watermarks)
    local sum=0 p hw
    for p in 0 1 2 3; do
        hw=$(kcat -Q -b "$BOOT" -t "events:$p:-1" 2>/dev/null | sed -n 's/.* offset \([0-9-]*\)$/\1/p')
        sum=$((sum + ${hw:-0}))
    done
    echo "$sum"
}
cpu_ticks() {   # user+sys of the given pids (one word), in 1/CLK_TCK s
    local t=0 p v
    for p in $1; do v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + v)); done
    echo "$t"
}
machine_ticks() { awk '/^cpu / {print $5 + $6, $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat; }  # idle, irq, all
hz=$(getconf CLK_TCK)
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# run_wrk NAME PORT "SERVERPIDS" [DURATION]: one wrk run; prints a line and
# appends "req/s" to $tmp/NAME.rps (not for warm-ups).
run_wrk() {
    local name=$1 port=$2 spid=$3 dur=${4:-$DUR} s0 m0 e0 s1 m1 e1 wt i0 q0 t0 i1 q1 t1
    s0=$(cpu_ticks "$spid"); m0=$(cpu_ticks "$mockpid"); e0=$(topic_count)
    read -r i0 q0 t0 <<<"$(machine_ticks)"
    TIMEFORMAT='%U %S'
    { time wrk -t"$THREADS" -c"$CONN" -d"$dur" -H "Host: user1.comcast.com" \
          "http://127.0.0.1:$port/purchase_a_sword" >"$tmp/wrk.out" 2>&1; } 2>"$tmp/wrk.time"
    read -r i1 q1 t1 <<<"$(machine_ticks)"    # (before the seed's drain: the run only)
    [ "$name" = seed ] && sleep 2          # kafka-python's background sender drains
    [ -n "${4:-}" ] && return 0
    s1=$(cpu_ticks "$spid"); m1=$(cpu_ticks "$mockpid"); e1=$(topic_count)
    read -r rps bad total <<<"$(awk '/^Requests\/sec:/{r=$2} /Non-2xx or 3xx responses:/{b=$5} /requests in/{t=$1}
        END {printf "%s %d %d\n", r, b, t}' "$tmp/wrk.out")"
    wt=$(awk '{print $1 + $2}' "$tmp/wrk.time")
    echo "$rps" >>"$tmp/$name.rps"
    awk -v n="$name" -v r="$rps" -v t="$total" -v b="$bad" -v ev=$((e1 - e0)) -v s=$((s1 - s0)) -v m=$((m1 - m0)) \
        -v w="$wt" -v hz="$hz" -v idle=$((i1 - i0)) -v irq=$((q1 - q0)) -v tot=$((t1 - t0)) -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
        printf "  %-9s %9.0f req/s  %7d requests, %d non-2xx, %7d events in the topic;", n, r, t, b, ev
        if (t > 0) printf "  CPU us/request: %s %.1f, mock %.1f, wrk %.1f", n, s * 1e6 / hz / t, m * 1e6 / hz / t, w * 1e6 / t
        # The machine during the run: idle, the three processes measured,
        # interrupts (mostly softirqs of the loopback TCP traffic); the rest
        # went to neighbours (builds, tests, other benchmarks).
        if (tot > 0) printf ";  machine: idle %.0f%%, these three %.0f%%, irq %.0f%%, load %s", 100 * idle / tot,
            100 * (s + m + w * hz) / tot, 100 * irq / tot, la
        printf "\n" }'
}

mkfifo "$tmp/mock.in"
exec 3<>"$tmp/mock.in"
sh -c 'exec "$@" <"$0"' "$tmp/mock.in" "$MOCK" --brokers 3 --partitions 4 --topic events >"$tmp/mock.out" 2>"$tmp/mock.err" 3>&- &
mockpid=$!
pids+=($mockpid)
for ((i = 0; i < 100; i++)); do BOOT="$(head -n1 "$tmp/mock.out" 2>/dev/null)"; [ -n "$BOOT" ] && break; sleep 0.05; done
[ -n "${BOOT:-}" ] || { echo "mock cluster did not start"; exit 1; }
echo "mock cluster: $BOOT (3 brokers, topic events, 4 partitions)"
echo "load: wrk -t$THREADS -c$CONN -d$DUR GET /purchase_a_sword (Host: user1.comcast.com), $RUNS runs each after a warm-up"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The seed: Flask's server (threaded) + kafka-python.
if [ -z "${SKIP_SEED:-}" ]; then
    sport=$(free_port)
    (cd "$ROOT/bench/seed" && KAFKA_BOOTSTRAP="$BOOT" FLASK_APP=game_api.py exec $PY -m flask run --port "$sport" \
        >"$tmp/seed.log" 2>&1 3>&-) &
    seed=$!
    pids+=($seed)
    wait_port "$sport" || { echo "seed app did not start:"; cat "$tmp/seed.log"; exit 1; }
fi
# 2. questlog serve --kafka (default: one event loop per core, acks=all, idempotent, lz4).
qport=$(free_port)
"$QL" serve --kafka "$BOOT" --listen "127.0.0.1:$qport" --data "$tmp/ql" ${QLX:-} 2>"$tmp/ql.log" 3>&- &
qlp=$!
pids+=($qlp)
wait_port "$qport" || { echo "questlog serve did not start:"; cat "$tmp/ql.log"; exit 1; }

# 3. The ceiling: nginx, fixed 200 from memory, no Kafka.
NGINX_WORKERS="${NGINX_WORKERS:-2}"
if [ "$NGINX_WORKERS" -gt 0 ]; then
    . "$ROOT/bench/nginx.sh"
    nginx_start "$tmp/nginx" "$NGINX_WORKERS" || exit 1
    pids+=("$NGINX_MASTER")
fi

[ -z "${SKIP_SEED:-}" ] && run_wrk seed "$sport" "$seed" 3s
run_wrk questlog "$qport" "$qlp" 3s
[ "$NGINX_WORKERS" -gt 0 ] && run_wrk nginx "$NGINX_PORT" "$NGINX_PIDS" 3s
for ((r = 1; r <= RUNS; r++)); do
    echo "run $r:"
    [ -z "${SKIP_SEED:-}" ] && run_wrk seed "$sport" "$seed"
    run_wrk questlog "$qport" "$qlp"
    [ "$NGINX_WORKERS" -gt 0 ] && run_wrk nginx "$NGINX_PORT" "$NGINX_PIDS"
done
kill -INT "$qlp"; wait "$qlp" 2>/dev/null

ql_med=$(median <"$tmp/questlog.rps")
printf 'questlog serve --kafka:        %10.0f req/s (median of %d: %s)\n' "$ql_med" "$RUNS" "$(sort -g "$tmp/questlog.rps" | tr '\n' ' ')"
if [ -z "${SKIP_SEED:-}" ]; then
    seed_med=$(median <"$tmp/seed.rps")
    printf 'seed (Flask + kafka-python):   %10.0f req/s (median of %d: %s)\n' "$seed_med" "$RUNS" "$(sort -g "$tmp/seed.rps" | tr '\n' ' ')"
    awk -v a="$seed_med" -v b="$ql_med" 'BEGIN { if (a > 0) printf "ratio questlog/seed: %.0fx (target >= 100x)\n", b / a }'
fi
if [ "$NGINX_WORKERS" -gt 0 ]; then
    ng_med=$(median <"$tmp/nginx.rps")
    printf 'ceiling: nginx fixed 200 (%d workers, no Kafka): %10.0f req/s (median of %d: %s)\n' "$NGINX_WORKERS" "$ng_med" "$RUNS" \
        "$(sort -g "$tmp/nginx.rps" | tr '\n' ' ')"
    awk -v n="$ng_med" -v b="$ql_med" -v a="${seed_med:-0}" 'BEGIN {
        if (a > 0) printf "  ceiling/seed: %.0fx -- the most any server could show here; ", n / a
        printf "questlog/ceiling: %.2f\n", b / n }'
fi
