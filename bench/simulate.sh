#!/usr/bin/env bash
# bench/simulate.sh — how fast can `questlog simulate` drive a server?
#
# Side by side in one run, against the same nginx (nginx-light, `return 200`
# on the game's routes, keep-alive unlimited): wrk -t1 -c64 (the peer: one
# thread, 64 connections) and `questlog simulate --concurrency 64` (one
# thread, 64 keep-alive connections, realistic players and routes), then an
# open-loop run at a fixed rate to show the achieved rate and latency from
# the intended send times. Prints both figures and the ratio.
#
# Usage: bench/simulate.sh [SECONDS] [NGINX_WORKERS] [ROUNDS]   (defaults 3, 1, 3)
# The two generators take turns, ROUNDS times, and the median and best of each
# are printed, so a burst of other load on the machine hits both alike. With 2
# cores shared by server and client, one nginx worker leaves the other core to
# the load generator; figures on a shared machine are noisy.
set -eu
cd "$(dirname "$0")/.."
secs="${1:-3}"
workers="${2:-1}"
rounds="${3:-3}"
QL="${QL_BIN:-./questlog}"
[ -x "$QL" ] || make -s questlog
need=""
command -v nginx >/dev/null || need="$need nginx-light"
command -v wrk >/dev/null || need="$need wrk"
command -v jq >/dev/null || need="$need jq"
if [ -n "$need" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

dir="$(mktemp -d /tmp/questlog-bench-sim.XXXXXX)"
cleanup() { nginx_stop; rm -rf "$dir"; }
trap cleanup EXIT
. bench/nginx.sh
nginx_start "$dir" "$workers"
port="$NGINX_PORT"

echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), $workers worker(s), port $port; $(nproc) cores; $rounds rounds of ${secs}s, taking turns"
wrk_all=""; sim_all=""
for r in $(seq "$rounds"); do
    w=$(wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$port/purchase_a_sword?sword_type=katana&price=250" \
        | awk '/Requests\/sec/ {printf "%d", $2}')
    sim=$("$QL" simulate --url "http://127.0.0.1:$port" --concurrency 64 --duration "$secs" --seed "$r" --json)
    s_rate=$(echo "$sim" | jq '.rate | floor')
    echo "  round $r: wrk $w req/s, simulate $s_rate req/s (p50 $(echo "$sim" | jq .latency_ms.p50) ms, p99 $(echo "$sim" | jq .latency_ms.p99) ms, failed $(echo "$sim" | jq .failed))"
    wrk_all="$wrk_all $w"; sim_all="$sim_all $s_rate"
done
stats() { echo "$@" | tr ' ' '\n' | sort -n | awk 'NF { v[++n] = $1 } END { printf "%d %d", v[int((n + 1) / 2)], v[n] }'; }
read -r wrk_med wrk_best <<< "$(stats $wrk_all)"
read -r sim_med sim_best <<< "$(stats $sim_all)"
echo "closed loop, 64 connections, one thread (median / best):"
printf '  wrk -t1 -c64                 %8d / %8d req/s\n' "$wrk_med" "$wrk_best"
printf '  questlog simulate -c64       %8d / %8d req/s\n' "$sim_med" "$sim_best"
awk -v a="$sim_med" -v b="$wrk_med" 'BEGIN { printf "  ratio simulate/wrk (medians)  %.2f\n", a / b }'
sim_rate=$sim_med

ask=$(awk -v r="$sim_rate" 'BEGIN { printf "%d", r * 0.8 }')
open=$("$QL" simulate --url "http://127.0.0.1:$port" --rate "$ask" --connections 64 --duration "$secs" --seed 2 --json)
echo "open loop at 80% of that ($ask req/s asked), latency from intended send times:"
echo "$open" | jq -r '"  achieved \(.rate|floor) req/s (\(100*.rate/.target_rate|floor)% of asked), missed \(.missed), p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms, max \(.latency_ms.max) ms"'
