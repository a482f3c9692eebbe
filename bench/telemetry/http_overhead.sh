#!/usr/bin/env bash
# Tracing overhead of an HTTP echo server (issue 3 acceptance; results in docs/benchmarks.md).
# Alternates A/B runs (untraced vs. traced at 100 % sampling), each with the same CPU pinning
# (server on CPU 0, wrk on CPU 1), and reports medians of RUNS runs each. Then the export
# endpoint is made unavailable two ways — refused (nothing listening) and black-holed (a
# listener that never answers) — and throughput, p99, resident memory and the dropped-span
# counter are compared with normal export.
#   usage: bench/telemetry/http_overhead.sh [BUILD_DIR] (default build) ; RUNS=5 DURATION=5
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
ECHO="$BUILD/bin/flowex-bench-telemetry-echo"
PORT=18080
SINK_PORT=18318
HOLE_PORT=18319
command -v wrk >/dev/null || { echo "wrk is required (Debian package wrk)"; exit 2; }
[[ -x $ECHO ]] || { echo "build $ECHO first (ninja -C $BUILD flowex-bench-telemetry-echo)"; exit 2; }
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

# An OTLP sink that accepts every export (HTTP 200), and a black hole that accepts TCP
# connections but never reads or answers.
python3 - "$SINK_PORT" "$HOLE_PORT" >/dev/null 2>&1 <<'PY' &
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
HZ=$(getconf CLK_TCK)
# run_case NAME ENV...: prints "rps p99_ms rss_before_kb rss_after_kb dropped cpu_us_per_req"
# (server CPU per request does not depend on how much CPU other load leaves the server, so it
# is the steadier overhead measure on a shared machine).
run_case() {
  local name=$1; shift
  env "$@" taskset -c 0 "$ECHO" "$PORT" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/metrics" >/dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c16 -d1s -s "$TMP/post.lua" "http://127.0.0.1:$PORT/echo" >/dev/null
  local before; before=$(rss_kb $pid)
  local cpu0; cpu0=$(cpu_ticks $pid)
  taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" --latency -s "$TMP/post.lua" \
    "http://127.0.0.1:$PORT/echo" >"$TMP/$name.wrk"
  local after; after=$(rss_kb $pid)
  local cpu1; cpu1=$(cpu_ticks $pid)
  local dropped; dropped=$(curl -fs "http://127.0.0.1:$PORT/metrics" |
    awk '/^otel_sdk_spans_dropped_total/ {print $2}')
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/$name.wrk")
  local p99; p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$TMP/$name.wrk")
  local reqs; reqs=$(awk '/requests in/ {print $1}' "$TMP/$name.wrk")
  local cpu_us; cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v n="$reqs" \
    'BEGIN {printf "%.1f", (n > 0) ? (b - a) * 1e6 / hz / n : 0}')
  echo "$rps $p99 $before $after ${dropped:-0} $cpu_us"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

COMMON=(OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=bench-echo OTEL_EXPORTER_OTLP_TIMEOUT=1000)
declare -A RES
for i in $(seq "$RUNS"); do
  for c in untraced traced refused blackhole; do
    case $c in
      untraced) r=$(run_case "$c-$i" OTEL_SDK_DISABLED=true) ;;
      traced) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT) ;;
      refused) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1) ;;
      blackhole) r=$(run_case "$c-$i" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$HOLE_PORT) ;;
    esac
    RES[$c]+="$r"$'\n'
    echo "run $i $c: rps p99_ms rss_before_kb rss_after_kb dropped cpu_us_per_req = $r"
  done
done
echo
printf '%-10s %12s %10s %14s %14s %12s %14s\n' case median_rps p99_ms rss_before_kb rss_after_kb \
  dropped cpu_us_per_req
for c in untraced traced refused blackhole; do
  col() { printf '%s' "${RES[$c]}" | awk -v k="$1" 'NF {print $k}' | median; }
  printf '%-10s %12s %10s %14s %14s %12s %14s\n' "$c" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" \
    "$(col 5)" "$(col 6)"
done
