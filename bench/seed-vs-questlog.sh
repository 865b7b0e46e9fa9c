#!/usr/bin/env bash
# seed-vs-questlog.sh — the seed's API (Flask + kafka-python KafkaProducer,
# bench/seed/game_api.py) against `questlog serve --kafka`, both producing
# to the same librdkafka mock cluster (3 brokers, topic events, 4 partitions),
# each driven by the same wrk run: GET /purchase_a_sword with the seed's
# Host header. Prints both req/s, the ratio, and how many events each one
# actually got into the topic (the seed answers before Kafka has the event;
# questlog answers after the delivery report, acks=all, idempotent).
#
#   bash bench/seed-vs-questlog.sh
#   DUR=10s CONN=64 THREADS=2   wrk's run;   QLX="-X linger.ms=5 --threads 1"
#   extra questlog serve arguments;   SKIP_SEED=1 questlog only (tuning)
#
# Limits: the mock cluster is librdkafka's in-process test broker, one
# process, in memory; at questlog's rate it is the bottleneck together with
# wrk, all on a shared 2-core machine. Figures are noisy.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QL="${QL_BIN:-$ROOT/questlog}"
MOCK="$ROOT/build/tools/mock_cluster"
DUR="${DUR:-10s}"; CONN="${CONN:-64}"; THREADS="${THREADS:-2}"
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
run_wrk() {  # run_wrk PORT -> "req/s non2xx total"
    wrk -t"$THREADS" -c"$CONN" -d"$DUR" -H "Host: user1.comcast.com" "http://127.0.0.1:$1/purchase_a_sword" >"$tmp/wrk.out" 2>&1
    awk '/^Requests\/sec:/{r=$2} /Non-2xx or 3xx responses:/{b=$5} /requests in/{t=$1} END {printf "%s %d %d\n", r, b, t}' "$tmp/wrk.out"
}

mkfifo "$tmp/mock.in"
exec 3<>"$tmp/mock.in"
sh -c 'exec "$@" <"$0"' "$tmp/mock.in" "$MOCK" --brokers 3 --partitions 4 --topic events >"$tmp/mock.out" 2>"$tmp/mock.err" &
pids+=($!)
for ((i = 0; i < 100; i++)); do BOOT="$(head -n1 "$tmp/mock.out" 2>/dev/null)"; [ -n "$BOOT" ] && break; sleep 0.05; done
[ -n "${BOOT:-}" ] || { echo "mock cluster did not start"; exit 1; }
echo "mock cluster: $BOOT (3 brokers, topic events, 4 partitions)"
echo "load: wrk -t$THREADS -c$CONN -d$DUR GET /purchase_a_sword (Host: user1.comcast.com)"

if [ -z "${SKIP_SEED:-}" ]; then
# 1. The seed: Flask's server (threaded) + kafka-python.
port=$(free_port)
(cd "$ROOT/bench/seed" && KAFKA_BOOTSTRAP="$BOOT" FLASK_APP=game_api.py exec $PY -m flask run --port "$port" \
    >"$tmp/seed.log" 2>&1) &
seed=$!
pids+=($seed)
wait_port "$port" || { echo "seed app did not start:"; cat "$tmp/seed.log"; exit 1; }
curl -s "http://127.0.0.1:$port/purchase_a_sword" >/dev/null   # connect the producer
sleep 1
before=$(topic_count)
read -r seed_rps seed_bad seed_total <<<"$(run_wrk "$port")"
sleep 2                                  # let kafka-python's background sender drain
seed_in=$(( $(topic_count) - before ))
kill "$seed" 2>/dev/null; wait "$seed" 2>/dev/null
printf 'seed (Flask + kafka-python):   %10s req/s  (%d requests, %d non-2xx, %d events in the topic)\n' \
    "$seed_rps" "$seed_total" "$seed_bad" "$seed_in"
else seed_rps=0; fi

# 2. questlog serve --kafka (default: one event loop per core, acks=all, idempotent, lz4).
port=$(free_port)
"$QL" serve --kafka "$BOOT" --listen "127.0.0.1:$port" --data "$tmp/ql" ${QLX:-} 2>"$tmp/ql.log" &
qlp=$!
pids+=($qlp)
wait_port "$port" || { echo "questlog serve did not start:"; cat "$tmp/ql.log"; exit 1; }
curl -s "http://127.0.0.1:$port/purchase_a_sword" >/dev/null
before=$(topic_count)
read -r ql_rps ql_bad ql_total <<<"$(run_wrk "$port")"
ql_in=$(( $(topic_count) - before ))
printf 'questlog serve --kafka:        %10s req/s  (%d requests, %d non-2xx, %d events in the topic)\n' \
    "$ql_rps" "$ql_total" "$ql_bad" "$ql_in"
kill -INT "$qlp"; wait "$qlp" 2>/dev/null

awk -v a="$seed_rps" -v b="$ql_rps" 'BEGIN { if (a > 0) printf "ratio questlog/seed: %.0fx (target >= 100x)\n", b / a }'
