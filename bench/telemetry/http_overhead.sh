#!/usr/bin/env bash
# Tracing overhead of an HTTP echo server (issue 3 acceptance; results in docs/benchmarks.md).
#
# The server (flowex-bench-telemetry-echo: libs/http + the telemetry middleware, one io thread)
# runs on CPU 0, the load generator (wrk, one thread, keep-alive, no pipelining) on CPU 1, both
# SCHED_FIFO so that other work on the machine cannot take their CPUs (the server's batch
# worker runs one priority above it on the same CPU, so its OTLP export is counted in the
# server's CPU). wrk keeps the server saturated: its median CPU use is reported (~0.95 of a CPU;
# the rest is what Linux's fair server reserves for ordinary threads). Four cases alternate in
# every round, in reverse order every other round: untraced (OTEL_SDK_DISABLED=true), traced at
# 100 % sampling exporting OTLP/HTTP to a local sink, traced with the endpoint refused (nothing
# listening), traced with a black-holed endpoint (accepts, never answers; export timeout 1 s).
# Per case: medians of RUNS runs of requests/s, p99, resident memory before and after the
# measured run, the dropped-span counter, and the server's CPU time per request (utime + stime
# of the whole server process over the measured run / requests), which does not depend on how
# much CPU the machine leaves the server. This VM has slow periods (everything ~40 % slower for
# tens of seconds, including CPU time per request), so the ratios are also taken per round,
# between the adjacent runs of that round, and the median of those is reported too.
#   usage: bench/telemetry/http_overhead.sh [BUILD_DIR] (default build) ; RUNS=5 DURATION=5
#   CONNECTIONS=16
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-16}
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
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

# An OTLP sink that accepts every export (HTTP 200), and a black hole that accepts TCP
# connections but never reads or answers. On wrk's CPU (not the server's), real-time above wrk
# so that exports are answered promptly (it handles a few hundred requests a second).
chrt -f 60 taskset -c 1 python3 - "$SINK_PORT" "$HOLE_PORT" >/dev/null 2>&1 <<'PY' &
import http.server, socket, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
hole = socket.socket(); hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
hole.bind(("127.0.0.1", int(sys.argv[2]))); hole.listen(1024)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)
printf 'wrk.method = "POST"\nwrk.body = "{\\"symbol\\":\\"AAPL\\",\\"quantity\\":10}"\n' > "$TMP/post.lua"

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# utime + stime of the whole server process, in clock ticks.
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# "tid ticks" for every thread of the server.
thread_ticks() { for t in /proc/$1/task/*; do awk -v t="${t##*/}" '{sub(/.*\) /, ""); print t, $12 + $13}' "$t/stat"; done; }
HZ=$(getconf CLK_TCK)
now_ns() { date +%s%N; }
# run_case NAME ENV...: prints
# "rps p99_ms rss_before_kb rss_after_kb dropped cpu_us_per_req server_cpu_share io_us_per_req"
# (io_us_per_req: the busiest thread, the server's io thread; the rest is the batch worker's
# export and other SDK threads)
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
  local dropped; dropped=$(curl -fs "http://127.0.0.1:$PORT/metrics" |
    awk '/^otel_sdk_spans_dropped_total/ {print $2}')
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/$name.wrk")
  local p99; p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$TMP/$name.wrk")
  local reqs; reqs=$(awk '/requests in/ {print $1}' "$TMP/$name.wrk")
  local cpu_us; cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v n="$reqs" \
    'BEGIN {printf "%.2f", (n > 0) ? (b - a) * 1e6 / hz / n : 0}')
  local share; share=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v ns=$((t1 - t0)) \
    'BEGIN {printf "%.2f", (b - a) / hz / (ns / 1e9)}')
  local io_ticks; io_ticks=$(awk 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > m) m = d}
    END {print m + 0}' "$TMP/$name.threads0" "$TMP/$name.threads1")
  local io_us; io_us=$(awk -v d="$io_ticks" -v hz="$HZ" -v n="$reqs" \
    'BEGIN {printf "%.2f", (n > 0) ? d * 1e6 / hz / n : 0}')
  echo "$rps $p99 $before $after ${dropped:-0} $cpu_us $share $io_us"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

COMMON=(OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=bench-echo OTEL_EXPORTER_OTLP_TIMEOUT=1000)
CASES=(untraced traced refused blackhole)
declare -A RES
declare -A ROUND  # "$c $i" -> result of case c in round i
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$RUNS"); do
  order=("${CASES[@]}")
  if (( i % 2 == 0 )); then order=(blackhole refused traced untraced); fi
  for c in "${order[@]}"; do
    case $c in
      untraced) r=$(run_case "$c-$i" OTEL_SDK_DISABLED=true) ;;
      traced) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT) ;;
      refused) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1) ;;
      blackhole) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HOLE_PORT) ;;
    esac
    RES[$c]+="$r"$'\n'
    ROUND["$c $i"]=$r
    echo "run $i $c: rps p99_ms rss_before_kb rss_after_kb dropped cpu_us_per_req server_cpu io_us_per_req = $r"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
col() { printf '%s' "${RES[$1]}" | awk -v k="$2" 'NF {print $k}' | median; }
printf '%-10s %11s %8s %14s %13s %10s %15s %11s %14s\n' case median_rps p99_ms rss_before_kb \
  rss_after_kb dropped cpu_us_per_req server_cpu io_us_per_req
for c in "${CASES[@]}"; do
  printf '%-10s %11s %8s %14s %13s %10s %15s %11s %14s\n' "$c" "$(col "$c" 1)" "$(col "$c" 2)" \
    "$(col "$c" 3)" "$(col "$c" 4)" "$(col "$c" 5)" "$(col "$c" 6)" "$(col "$c" 7)" "$(col "$c" 8)"
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
