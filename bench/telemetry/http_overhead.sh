#!/usr/bin/env bash
# Tracing overhead of an HTTP echo server (issue 3 acceptance; results in docs/benchmarks.md).
#
# The server (flowex-bench-telemetry-echo: libs/http + the telemetry middleware, one io thread)
# runs on CPU 0, the load generator (wrk, one thread, keep-alive, no pipelining) on CPU 1, both
# SCHED_FIFO so that other work on the machine cannot take their CPUs (the server's batch
# worker runs one priority above it on the same CPU, so its OTLP export is counted in the
# server's CPU). The OTLP endpoint is `flowex-bench-telemetry-echo --sink` (reads each export,
# answers 200: it stands for a collector elsewhere and takes little of wrk's CPU), real-time on
# CPU 1 above wrk so that exports are answered promptly. Four cases alternate in every round,
# in an order that changes from round to round (ORDERS): untraced (OTEL_SDK_DISABLED=true),
# traced at 100 % sampling exporting OTLP/HTTP to the sink, traced with the endpoint refused
# (nothing listening), traced with a black-holed endpoint (`--black-hole`: accepts, never reads or
# answers; a fresh one for every run; export timeout 1 s).
#
# Each run has two parts after a 1 s warm-up:
# - saturated: wrk -cCONNECTIONS as fast as the server answers, DURATION s. Gives requests/s,
#   the server's CPU time per request (utime + stime of the whole server process over the part
#   / requests; independent of how much CPU the machine leaves the server) and its share of a
#   CPU; `io` is the busiest thread (the io thread), the rest is the batch worker's export.
# - paced: the same connections, each waiting PACE_MS after every answer before its next
#   request (a fixed offered load far below saturation: ~16 k requests/s), DURATION s. Gives
#   the p99 latency, which at saturation only measures the queue wrk builds.
# Plus resident memory before and after the saturated part and the dropped-span counter.
# This VM has slow periods (everything ~20-40 % slower for tens of seconds, CPU time per
# request included), so the ratios are also taken per round, between the adjacent runs of
# that round, and the median of those is reported too; more and shorter rounds keep the runs
# of a pair closer in time.
#   usage: bench/telemetry/http_overhead.sh [BUILD_DIR] (default build) ; RUNS=12 DURATION=3
#   CONNECTIONS=16 PACE_MS=1
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-12}
DURATION=${DURATION:-3}
CONNECTIONS=${CONNECTIONS:-16}
PACE_MS=${PACE_MS:-1}
ECHO="$BUILD/bin/flowex-bench-telemetry-echo"
PORT=18080
SINK_PORT=18318
HOLE_PORT=18319
command -v wrk >/dev/null || { echo "wrk is required (Debian package wrk)"; exit 2; }
[[ -x $ECHO ]] || { echo "build $ECHO first (ninja -C $BUILD flowex-bench-telemetry-echo)"; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "needs 2 CPUs (server on CPU 0, wrk on CPU 1)"; exit 2; }
# Another real-time process on these CPUs would take them from the server or wrk.
others=$(ps -eo rtprio=,comm= | awk '$1 != "-" && $2 !~ /^(migration|irq|watchdog|ksoftirq|rcu)/')
if [[ -n $others ]]; then
  echo "other SCHED_FIFO/RR processes are running, results would be skewed:"; echo "$others"; exit 2
fi
TMP=$(mktemp -d)
PIDS=()
hole=""  # the black hole of the running case, if any
cleanup() {
  for p in "${PIDS[@]}" $hole; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# The OTLP sink, on wrk's CPU (not the server's), real-time above wrk.
chrt -f 60 taskset -c 1 "$ECHO" --sink "$SINK_PORT" &
PIDS+=($!)
printf 'wrk.method = "POST"\nwrk.body = "{\\"symbol\\":\\"AAPL\\",\\"quantity\\":10}"\n' > "$TMP/post.lua"
{ cat "$TMP/post.lua"; printf 'function delay()\n  return %s\nend\n' "$PACE_MS"; } > "$TMP/paced.lua"

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# utime + stime of the whole server process, in clock ticks.
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# "tid ticks" for every thread of the server.
thread_ticks() { for t in /proc/$1/task/*; do awk -v t="${t##*/}" '{sub(/.*\) /, ""); print t, $12 + $13}' "$t/stat"; done; }
HZ=$(getconf CLK_TCK)
now_ns() { date +%s%N; }
# wrk's 99th percentile in milliseconds, from its --latency report.
wrk_p99() {
  awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$1"
}
# run_case NAME ENV...: prints "rps p99_ms rss_before_kb rss_after_kb dropped cpu_us_per_req
# server_cpu_share io_us_per_req paced_rps" (rps, CPU and RSS from the saturated part, p99 and
# paced_rps from the paced part; io_us_per_req: the busiest thread, the server's io thread; the
# rest is the batch worker's export and other SDK threads)
run_case() {
  local name=$1; shift
  env "$@" chrt -f 50 taskset -c 0 "$ECHO" "$PORT" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/metrics" >/dev/null && break; sleep 0.1; done
  chrt -f 50 taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s -s "$TMP/post.lua" \
    "http://127.0.0.1:$PORT/echo" >/dev/null
  local before; before=$(rss_kb $pid)
  local cpu0; cpu0=$(cpu_ticks $pid)
  thread_ticks $pid >"$TMP/$name.threads0"
  local t0; t0=$(now_ns)
  chrt -f 50 taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/post.lua" \
    "http://127.0.0.1:$PORT/echo" >"$TMP/$name.wrk"
  local t1; t1=$(now_ns)
  local cpu1; cpu1=$(cpu_ticks $pid)
  thread_ticks $pid >"$TMP/$name.threads1"
  local after; after=$(rss_kb $pid)
  chrt -f 50 taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/paced.lua" \
    "http://127.0.0.1:$PORT/echo" >"$TMP/$name.paced"
  local dropped; dropped=$(curl -fs "http://127.0.0.1:$PORT/metrics" |
    awk '/^otel_sdk_spans_dropped_total/ {print $2}')
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/$name.wrk")
  local p99; p99=$(wrk_p99 "$TMP/$name.paced")
  local paced_rps; paced_rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/$name.paced")
  local reqs; reqs=$(awk '/requests in/ {print $1}' "$TMP/$name.wrk")
  local cpu_us; cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v n="$reqs" \
    'BEGIN {printf "%.2f", (n > 0) ? (b - a) * 1e6 / hz / n : 0}')
  local share; share=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v ns=$((t1 - t0)) \
    'BEGIN {printf "%.2f", (b - a) / hz / (ns / 1e9)}')
  local io_ticks; io_ticks=$(awk 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > m) m = d}
    END {print m + 0}' "$TMP/$name.threads0" "$TMP/$name.threads1")
  local io_us; io_us=$(awk -v d="$io_ticks" -v hz="$HZ" -v n="$reqs" \
    'BEGIN {printf "%.2f", (n > 0) ? d * 1e6 / hz / n : 0}')
  echo "$rps $p99 $before $after ${dropped:-0} $cpu_us $share $io_us $paced_rps"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

COMMON=(OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=bench-echo OTEL_EXPORTER_OTLP_TIMEOUT=1000)
CASES=(untraced traced refused blackhole)
declare -A RES
declare -A ROUND  # "$c $i" -> result of case c in round i
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The order of the cases in round i: every case takes every position once in four rounds,
# untraced and traced are always next to each other, and no case ends one round and starts
# the next (a slow period of the VM then hits two runs of one case less often).
ORDERS=("untraced traced refused blackhole" "refused blackhole traced untraced"
        "traced untraced blackhole refused" "blackhole refused untraced traced")
for i in $(seq "$RUNS"); do
  read -r -a order <<<"${ORDERS[$(( (i - 1) % 4 ))]}"
  for c in "${order[@]}"; do
    case $c in
      untraced) r=$(run_case "$c-$i" OTEL_SDK_DISABLED=true) ;;
      traced) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT) ;;
      refused) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1) ;;
      blackhole)
        # A fresh black hole per run: the connections earlier runs left in a hole's accept
        # queue (each with an unread export) are not part of this run's condition.
        hole_port=$((HOLE_PORT + i))
        "$ECHO" --black-hole "$hole_port" & hole=$!
        for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$hole_port") 2>/dev/null && break; sleep 0.1; done
        r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$hole_port)
        kill "$hole"; wait "$hole" 2>/dev/null || true; hole="" ;;
    esac
    RES[$c]+="$r"$'\n'
    ROUND["$c $i"]=$r
    echo "run $i $c: rps p99_ms rss_before_kb rss_after_kb dropped cpu_us_per_req server_cpu io_us_per_req paced_rps = $r"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
col() { printf '%s' "${RES[$1]}" | awk -v k="$2" 'NF {print $k}' | median; }
printf '%-10s %11s %8s %14s %13s %10s %15s %11s %14s %10s\n' case median_rps p99_ms \
  rss_before_kb rss_after_kb dropped cpu_us_per_req server_cpu io_us_per_req paced_rps
for c in "${CASES[@]}"; do
  printf '%-10s %11s %8s %14s %13s %10s %15s %11s %14s %10s\n' "$c" "$(col "$c" 1)" \
    "$(col "$c" 2)" "$(col "$c" 3)" "$(col "$c" 4)" "$(col "$c" 5)" "$(col "$c" 6)" \
    "$(col "$c" 7)" "$(col "$c" 8)" "$(col "$c" 9)"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f %%", (b > 0) ? 100 * a / b : 0}'; }
# paired A B K: the median over rounds of (A's field K / B's field K) in the same round.
paired() {
  for i in $(seq "$RUNS"); do
    awk -v a="$(echo "${ROUND["$1 $i"]}" | awk -v k="$3" '{print $k}')" \
        -v b="$(echo "${ROUND["$2 $i"]}" | awk -v k="$3" '{print $k}')" \
        'BEGIN {if (b > 0) printf "%.4f\n", 100 * a / b}'
  done | median | awk '{printf "%.1f %%", $1}'
}
printf '%-40s %14s %22s\n' "ratio" "of the medians" "median of round ratios"
printf '%-40s %14s %22s\n' "traced / untraced requests/s" \
  "$(ratio "$(col traced 1)" "$(col untraced 1)")" "$(paired traced untraced 1)"
printf '%-40s %14s %22s\n' "untraced / traced CPU per request" \
  "$(ratio "$(col untraced 6)" "$(col traced 6)")" "$(paired untraced traced 6)"
for c in refused blackhole; do
  printf '%-40s %14s %22s\n' "$c / traced requests/s" \
    "$(ratio "$(col $c 1)" "$(col traced 1)")" "$(paired $c traced 1)"
  printf '%-40s %14s %22s\n' "$c / traced p99" \
    "$(ratio "$(col $c 2)" "$(col traced 2)")" "$(paired $c traced 2)"
done
