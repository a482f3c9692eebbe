#!/usr/bin/env bash
# flowex-bench-http vs nginx-light, side by side under the same wrk load.
#
#   bench/http/compare_nginx.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# Both servers answer the same keep-alive request, POST /echo with body {"ok":true}, with the
# same 11-byte JSON body:
#   - nginx-light (Debian): worker_processes 1, `return 200 '{"ok":true}'` with
#     default_type application/json, access_log to a file (buffer=64k), error_log to a file;
#   - flowex-bench-http: one server thread through the router, the middleware chain and the
#     access log (async spdlog logger writing to a file), body parsed and re-serialized.
# Each server is pinned to CPU $SERVER_CPU (default 1), wrk to CPU $WRK_CPU (default 0).
# Runs alternate nginx/flowex/nginx/flowex… ($ROUNDS rounds each, default 3) of
# `wrk -t1 -c50 -d$DURATION --latency` (default 10s), after one warm-up run each. Prints
# every run and a Markdown table of the medians with the ratios; exit status 1 when flowex
# misses the targets (≥ 60 % of nginx's requests/s, p99 ≤ 2× nginx's). It also reports the
# server's CPU time per request (all its processes and threads, from /proc), which stays
# meaningful when other work shares the machine: check `uptime` first, the throughput
# ratio is only fair on a quiet machine.
set -euo pipefail

BUILD_DIR=${1:-build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
SERVER_CPU=${SERVER_CPU:-1}
WRK_CPU=${WRK_CPU:-0}
BIN="$BUILD_DIR/bin/flowex-bench-http"

die() { echo "compare_nginx.sh: $*" >&2; exit 2; }
for tool in nginx wrk taskset python3; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian: nginx-light, wrk, util-linux, python3)"
done
[[ -x "$BIN" ]] || die "$BIN not found: build it with 'ninja -C $BUILD_DIR flowex-bench-http'"

TMP=$(mktemp -d /tmp/flowex-bench-http.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for_port() {  # port
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    die "nothing listens on port $1"
}

cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"ok":true}'
wrk.headers["Content-Type"] = "application/json"
EOF

# --- nginx ---------------------------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log $TMP/nginx/access.log combined buffer=64k flush=1s;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            default_type application/json;
            return 200 '{"ok":true}';
        }
    }
}
EOF
taskset -c "$SERVER_CPU" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_for_port "$NGINX_PORT"

# --- flowex --------------------------------------------------------------------------------
taskset -c "$SERVER_CPU" "$BIN" --listen 127.0.0.1:0 --access-log "$TMP/flowex-access.log" \
    >"$TMP/flowex.out" 2>&1 &
FLOWEX_PID=$!
PIDS+=("$FLOWEX_PID")
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$TMP/flowex.out" && break
    sleep 0.05
done
FLOWEX_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/flowex.out")
[[ -n "$FLOWEX_PORT" ]] || die "flowex-bench-http did not start: $(cat "$TMP/flowex.out")"

# --- runs ----------------------------------------------------------------------------------
# CPU clock ticks used so far by a process and its children (nginx's worker).
cpu_ticks() {
    local total=0 pid fields
    for pid in "$1" $(pgrep -P "$1" || true); do
        read -r -a fields <"/proc/$pid/stat" || continue
        total=$((total + fields[13] + fields[14]))
    done
    echo "$total"
}
HZ=$(getconf CLK_TCK)

# run_wrk PORT DURATION [SERVER_PID] → "requests_per_s p99_us cpu_us_per_request"
run_wrk() {
    local before=0
    [[ -n "${3:-}" ]] && before=$(cpu_ticks "$3")
    taskset -c "$WRK_CPU" wrk -t1 -c"$CONNECTIONS" -d"$2" --latency -s "$TMP/post.lua" \
        "http://127.0.0.1:$1/echo" >"$TMP/wrk.txt" 2>&1 || die "wrk failed: $(cat "$TMP/wrk.txt")"
    if grep -qE 'Non-2xx|Socket errors' "$TMP/wrk.txt"; then
        die "errors during the run: $(grep -E 'Non-2xx|Socket errors' "$TMP/wrk.txt")"
    fi
    local after=0
    [[ -n "${3:-}" ]] && after=$(cpu_ticks "$3")
    awk -v ticks=$((after - before)) -v hz="$HZ" '
        / requests in / { requests = $1 }
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
            if (unit == "us") p99 = v; else if (unit == "ms") p99 = v * 1000;
            else if (unit == "s") p99 = v * 1000000; else p99 = v
        }
        END { printf "%.0f %.0f %.1f\n", rps, p99, requests ? ticks * 1000000 / hz / requests : 0 }' "$TMP/wrk.txt"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "# warm-up (not counted)"
run_wrk "$NGINX_PORT" 2s >/dev/null
run_wrk "$FLOWEX_PORT" 2s >/dev/null

NGINX_RPS=(); NGINX_P99=(); NGINX_CPU=(); FLOWEX_RPS=(); FLOWEX_P99=(); FLOWEX_CPU=()
echo "# $(uptime)"
printf '%-6s %-7s %12s %10s %14s\n' round server "req/s" "p99 (us)" "cpu us/req"
for round in $(seq 1 "$ROUNDS"); do
    read -r rps p99 cpu < <(run_wrk "$NGINX_PORT" "$DURATION" "$NGINX_PID")
    NGINX_RPS+=("$rps"); NGINX_P99+=("$p99"); NGINX_CPU+=("$cpu")
    printf '%-6s %-7s %12s %10s %14s\n' "$round" nginx "$rps" "$p99" "$cpu"
    read -r rps p99 cpu < <(run_wrk "$FLOWEX_PORT" "$DURATION" "$FLOWEX_PID")
    FLOWEX_RPS+=("$rps"); FLOWEX_P99+=("$p99"); FLOWEX_CPU+=("$cpu")
    printf '%-6s %-7s %12s %10s %14s\n' "$round" flowex "$rps" "$p99" "$cpu"
done
echo "# $(uptime)"

n_rps=$(printf '%s\n' "${NGINX_RPS[@]}" | median)
n_p99=$(printf '%s\n' "${NGINX_P99[@]}" | median)
f_rps=$(printf '%s\n' "${FLOWEX_RPS[@]}" | median)
f_p99=$(printf '%s\n' "${FLOWEX_P99[@]}" | median)
n_cpu=$(printf '%s\n' "${NGINX_CPU[@]}" | median)
f_cpu=$(printf '%s\n' "${FLOWEX_CPU[@]}" | median)
cpu_ratio=$(awk -v f="$f_cpu" -v n="$n_cpu" 'BEGIN { printf "%.2f", f / n }')
rps_ratio=$(awk -v f="$f_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", f / n }')
p99_ratio=$(awk -v f="$f_p99" -v n="$n_p99" 'BEGIN { printf "%.2f", f / n }')
verdict=$(awk -v r="$rps_ratio" -v p="$p99_ratio" 'BEGIN { print (r >= 0.60 && p <= 2.0) ? "met" : "MISSED" }')

echo
echo "| server (median of $ROUNDS, wrk -t1 -c$CONNECTIONS -d$DURATION) | requests/s | p99 | server CPU per request |"
echo "|---|---:|---:|---:|"
echo "| nginx-light, worker_processes 1 | $n_rps | $(awk -v v="$n_p99" 'BEGIN { printf "%.2f ms", v / 1000 }') | $n_cpu µs |"
echo "| flowex-bench-http, 1 server thread | $f_rps | $(awk -v v="$f_p99" 'BEGIN { printf "%.2f ms", v / 1000 }') | $f_cpu µs |"
echo "| **flowex / nginx** | **$rps_ratio×** (target ≥ 0.60) | **$p99_ratio×** (target ≤ 2.0) | $cpu_ratio× |"
echo
echo "targets: $verdict"
[[ "$verdict" == met ]]
