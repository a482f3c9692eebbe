#!/usr/bin/env bash
# End-to-end test of the front door: `make up` on free ports reaches "ready" with the URLs
# printed, the demo's traces are in the viewer's API, the market maker quotes every symbol
# and Prometheus scrapes every target and evaluates the alert rules; then Ctrl-C (SIGINT to make's process group, as a terminal sends it) stops
# everything and leaves no process of ours running. Last, scripts/up signalled (SIGTERM) in
# the middle of its start-up must exit promptly and leave nothing running either.
#
#   tests/e2e/make_up_test.sh SOURCE_DIR BUILD_DIR [BUILD_TYPE] [SANITIZE]
#
# BUILD_TYPE and SANITIZE must be those BUILD_DIR was configured with, so that make's
# configure and build steps are no-ops (ctest passes them).
set -euo pipefail

src="$(cd "$1" && pwd)"
build="$(cd "$2" && pwd)"
build_type="${3:-RelWithDebInfo}"
sanitize="${4:-}"

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "${log:-}" ]]; then
    echo "--- make up output, without the services' own lines ---" >&2
    grep -v -E '^(\x1b\[[0-9;]*m)?[a-z-]+ +\|' "$log" >&2 || true
    echo "--- make up output (last 100 lines) ---" >&2
    tail -100 "$log" >&2
  fi
  exit 1
}
pass() { echo "ok: $*"; }

state="$(mktemp -d /tmp/flowex-make-up-test.XXXXXX)"
chmod 755 "$state"   # the postgres user keeps its data under it
log="$state/make-up.log"
make_pid=""

# --- free ports on 127.0.0.1 --------------------------------------------------------------
# Below the kernel's ephemeral range: a port in it can become an outgoing connection's local
# port (the browser tests running beside this one make many) between this pick and the bind.
taken=" "
read -r ephemeral_low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
(( ephemeral_low > 21000 )) || ephemeral_low=32768
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % (ephemeral_low - 20000) ))
    [[ "$taken" == *" $p "* ]] && continue
    ss -Htan "sport = :$p" 2>/dev/null | grep -q . && continue
    taken+="$p "
    echo "$p"
    return 0
  done
  return 1
}
declare -A port
for name in PG REDIS OTLP VIEWER GATEWAY USER_SERVICE ORDER_MANAGER RISK_MANAGER WALLET_SERVICE REPORTING_SERVICE PROMETHEUS; do
  port[$name]="$(free_port)" || fail "no free port"
done
viewer="http://127.0.0.1:${port[VIEWER]}"
gateway="http://127.0.0.1:${port[GATEWAY]}"
prometheus="http://127.0.0.1:${port[PROMETHEUS]}"

# --- what is "ours": every descendant of make, plus the daemonised PostgreSQL and Redis ----
descendants() {  # pid → that pid and all its descendants
  local all; all="$(ps -e -o pid=,ppid=)"
  local frontier=("$1") out=("$1")
  while (( ${#frontier[@]} )); do
    local next=()
    for p in "${frontier[@]}"; do
      while read -r child; do next+=("$child"); done < <(awk -v p="$p" '$2 == p {print $1}' <<<"$all")
    done
    out+=("${next[@]}")
    frontier=("${next[@]}")
  done
  echo "${out[@]}"
}
alive() {  # pid → 0 when the process exists and is not a zombie
  local st
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z ]]
}
ours_by_cmdline() {  # processes whose command line names our state directory or our ports
  ps -e -o pid=,args= | grep -E -- "$state|127\.0\.0\.1:(${port[GATEWAY]}|${port[VIEWER]}|${port[OTLP]}|${port[REDIS]})\b| -p ${port[PG]} " |
    grep -v -E "grep|make_up_test" | awk '{print $1}' || true
}
pg_pid() {
  local f
  for f in "$state/pg/postmaster.pid" /var/tmp/flowex-"$(echo "$state" | md5sum | cut -c1-8)"/pg/postmaster.pid; do
    [[ -f "$f" ]] && { head -1 "$f"; return 0; }
  done
  return 0
}

# Fails unless none of the tracked processes, and nothing naming our state or ports, runs.
# PostgreSQL's and Redis's last children may take a moment to be reaped by init.
expect_nothing_left() {  # what stopped the stack
  local left=()
  for _ in $(seq 1 100); do
    left=()
    for p in "${tracked[@]}" $(ours_by_cmdline); do alive "$p" && left+=("$p"); done
    (( ${#left[@]} == 0 )) && return 0
    sleep 0.1
  done
  ps -o pid=,args= -p "$(IFS=,; echo "${left[*]}")" >&2 || true
  fail "still running after $1: ${left[*]}"
}

tracked=()
cleanup() {
  local rc=$?
  if [[ -n "$make_pid" ]] && alive "$make_pid"; then
    # A failure midway: stop the stack as a user would, then make sure nothing is left.
    local tree; read -r -a tree <<<"$(descendants "$make_pid")"
    tracked+=("${tree[@]}")
    kill -INT -- "-$make_pid" 2>/dev/null || true
    for _ in $(seq 1 600); do alive "$make_pid" || break; sleep 0.1; done
  fi
  local left=("${tracked[@]}" $(ours_by_cmdline))
  for p in "${left[@]}"; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
  local pg; pg="$(pg_pid)"; [[ -n "$pg" ]] && alive "$pg" && kill -KILL "$pg" 2>/dev/null || true
  rm -rf "$state" /var/tmp/flowex-"$(echo "$state" | md5sum | cut -c1-8)"
  exit "$rc"
}
trap cleanup EXIT

# --- make up --------------------------------------------------------------------------------
# With job control on, make runs in its own process group (pgid = its pid) and, unlike an
# asynchronous command of a non-interactive shell, does not start with SIGINT ignored: a
# SIGINT to that group is exactly what a terminal's Ctrl-C delivers to `make up`.
set -m
echo "make up with state $state, gateway ${port[GATEWAY]}, viewer ${port[VIEWER]}, PostgreSQL ${port[PG]}"
env -u FLOWEX_INTERNAL_TOKEN -u OTEL_SDK_DISABLED -u OTEL_EXPORTER_OTLP_ENDPOINT \
  FLOWEX_STATE_DIR="$state" \
  FLOWEX_PG_PORT="${port[PG]}" FLOWEX_REDIS_PORT="${port[REDIS]}" \
  FLOWEX_OTLP_PORT="${port[OTLP]}" FLOWEX_VIEWER_PORT="${port[VIEWER]}" \
  FLOWEX_GATEWAY_PORT="${port[GATEWAY]}" FLOWEX_USER_SERVICE_PORT="${port[USER_SERVICE]}" \
  FLOWEX_ORDER_MANAGER_PORT="${port[ORDER_MANAGER]}" FLOWEX_RISK_MANAGER_PORT="${port[RISK_MANAGER]}" \
  FLOWEX_WALLET_SERVICE_PORT="${port[WALLET_SERVICE]}" FLOWEX_REPORTING_SERVICE_PORT="${port[REPORTING_SERVICE]}" \
  FLOWEX_PROMETHEUS_PORT="${port[PROMETHEUS]}" FLOWEX_SCRAPE_INTERVAL=1s \
  OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BLRP_SCHEDULE_DELAY=200 \
  make -C "$src" up BUILD="$build" BUILD_TYPE="$build_type" SANITIZE="$sanitize" JOBS=1 \
  >"$log" 2>&1 </dev/null &
make_pid=$!
set +m

ready=0
for _ in $(seq 1 3000); do   # ≤ 300 s: bootstrap check, no-op build, initdb, services, demo
  grep -q "flowex is ready." "$log" 2>/dev/null && { ready=1; break; }
  alive "$make_pid" || break
  sleep 0.1
done
(( ready )) || fail "make up did not reach ready"
pass "make up reached ready"

grep -q "trace viewer *$viewer" "$log" || fail "the viewer URL is not printed"
grep -q "public API *$gateway" "$log" || fail "the API URL is not printed"
grep -q "OTLP receiver *http://127.0.0.1:${port[OTLP]}" "$log" || fail "the OTLP URL is not printed"
grep -q "alerts, metrics *$prometheus/alerts" "$log" || fail "the Prometheus URL is not printed"
pass "URLs printed"

# Each service's output: in its log file as written, and on the console with its name before
# each line (scripts/up's log_lines; no colours, the console here is a file).
for svc in user-service risk-manager wallet-service order-manager reporting-service client-gateway; do
  grep -q "^listening on 127\.0\.0\.1:" "$state/logs/$svc.log" ||
    fail "$state/logs/$svc.log lacks the service's 'listening on' line"
  grep -q -E "^$svc +\| listening on 127\.0\.0\.1:" "$log" ||
    fail "the console lacks '$svc | listening on …'"
done
pass "every service's output is in its log file and, prefixed, on the console"

# The demo data: the market maker quotes every listed symbol.
quotes="$(sed -n 's/.*demo data: demo_market_maker quotes \([0-9]*\) symbols.*/\1/p' "$log" | tail -1)"
[[ -n "$quotes" && "$quotes" -ge 7 ]] || fail "the market maker did not quote every symbol (got '${quotes}')"
for symbol in AAPL MSFT GOOGL AMZN TSLA NVDA META; do
  book="$(curl -fsS "$gateway/v1/orderbook/$symbol")" || fail "GET /v1/orderbook/$symbol"
  grep -q '"bids":\[{' <<<"$book" || fail "$symbol has no bid: $book"
  grep -q '"asks":\[{' <<<"$book" || fail "$symbol has no ask: $book"
done
pass "the market maker quotes $quotes symbols, each book has a bid and an ask"

# The demo's order trace is in the viewer's API with the brief's five services.
order_trace="$(sed -n 's#.*The order: *http://[^ ]*/trace/\([0-9a-f]\{32\}\).*#\1#p' "$log" | tail -1)"
[[ -n "$order_trace" ]] || fail "the demo printed no order trace"
found=0
for _ in $(seq 1 300); do   # the batch processors export within OTEL_BSP_SCHEDULE_DELAY
  trace="$(curl -fsS "$viewer/api/traces/$order_trace" 2>/dev/null)" || trace=""
  missing=0
  for svc in client-gateway user-service order-manager risk-manager wallet-service; do
    grep -q "\"serviceName\":\"$svc\"" <<<"$trace" || missing=1
  done
  (( missing == 0 )) && grep -q '"operationName":"POST /v1/order"' <<<"$trace" && { found=1; break; }
  sleep 0.1
done
(( found )) || fail "the demo's order trace $order_trace is not complete in the viewer: ${trace:0:400}"
errors="$(curl -fsS "$viewer/api/traces?service=client-gateway&tags=%7B%22error%22%3A%22true%22%7D&lookback=1h&limit=20")"
grep -q '"traceID"' <<<"$errors" || fail "the demo's error is not found with error=true: ${errors:0:300}"
pass "the demo's traces are in the viewer's API (order $order_trace; error=true finds the rejected order)"

# The CLI's search lists it too (one summary per trace, from /api/trace-summaries), and draws
# the order's waterfall.
listed="$("$build/bin/flowex" traces --query-url "$viewer" --service client-gateway --tags error=true --no-color)" ||
  fail "flowex traces failed: $listed"
grep -q 'client-gateway: POST /v1/order' <<<"$listed" || fail "flowex traces lists no rejected order: $listed"
drawn="$("$build/bin/flowex" trace --query-url "$viewer" --no-color "$order_trace")" || fail "flowex trace failed: $drawn"
grep -q 'wallet-service' <<<"$drawn" || fail "flowex trace draws no wallet-service span: ${drawn:0:600}"
# --logs prints the order's log records under it, with their spans (the log batch processors
# export within OTEL_BLRP_SCHEDULE_DELAY).
for _ in $(seq 1 300); do
  with_logs="$("$build/bin/flowex" trace --query-url "$viewer" --no-color --logs "$order_trace")" ||
    fail "flowex trace --logs failed: $with_logs"
  grep -Eq '^\+[0-9.]+(µs|ms|s) +wallet-service +INFO +block_funds +Blocking ' <<<"$with_logs" && break
  with_logs=""
  sleep 0.1
done
[[ -n "$with_logs" ]] || fail "flowex trace --logs prints no 'Blocking …' record of block_funds: $("$build/bin/flowex" trace --query-url "$viewer" --no-color --logs "$order_trace" 2>&1 | tail -20)"
pass "flowex traces finds the rejected order; flowex trace draws the order's waterfall, and its logs with --logs"

# The service map (Jaeger's /api/dependencies) joins each call's CLIENT span to the callee's
# SERVER span, although every service exports on its own schedule.
deps="$(curl -fsS "$viewer/api/dependencies?endTs=$(($(date +%s) * 1000 + 60000))&lookback=3600000")" ||
  fail "GET /api/dependencies"
for edge in client-gateway:user-service client-gateway:order-manager order-manager:risk-manager \
            order-manager:wallet-service order-manager:postgresql wallet-service:postgresql; do
  grep -q "\"parent\":\"${edge%%:*}\",\"child\":\"${edge#*:}\"" <<<"$deps" ||
    fail "the service map has no ${edge%%:*} -> ${edge#*:}: ${deps:0:600}"
done
pass "the service map shows the order's calls (gateway, user-service, order-manager, risk-manager, wallet-service, postgresql)"

# Prometheus scrapes every service and the collector, and evaluates the alert rules of
# deploy/prometheus/alerts.yml against them: the rules' series exist, and their labels join
# (each service's own request counter with the collector's spans of that service).
promql() {  # expression → the JSON answer of an instant query
  curl -fsS --get --data-urlencode "query=$1" "$prometheus/api/v1/query"
}
up_targets="" rules="" joined=""
for _ in $(seq 1 600); do   # scrape and evaluation every second (FLOWEX_SCRAPE_INTERVAL=1s)
  up_targets="$(curl -fsS "$prometheus/api/v1/targets?state=active" 2>/dev/null)" || up_targets=""
  rules="$(curl -fsS "$prometheus/api/v1/rules?type=alert" 2>/dev/null)" || rules=""
  # The counters, not their increase: the demo may have run before Prometheus's first scrape
  # (alerts_test.yml checks what the rules make of increases).
  joined="$(promql 'sum by (service) (http_server_request_duration_seconds_count{route!~"/health|/metrics"}) > 0 and on (service) sum by (service) (flowex_span_calls_total{span_kind="SPAN_KIND_SERVER"}) > 0' 2>/dev/null)" || joined=""
  n_up="$( (grep -o '"health":"up"' <<<"$up_targets" || true) | wc -l)"
  n_ok="$( (grep -o '"health":"ok"' <<<"$rules" || true) | wc -l)"
  n_joined=0
  for svc in client-gateway user-service order-manager risk-manager wallet-service reporting-service; do
    grep -q "\"service\":\"$svc\"" <<<"$joined" && n_joined=$((n_joined + 1))
  done
  (( n_up == 7 && n_ok == 6 && n_joined == 6 )) && break
  sleep 0.1
done
(( n_up == 7 )) || fail "Prometheus has $n_up of 7 targets up: ${up_targets:0:1500}"
(( n_ok == 6 )) || fail "Prometheus evaluated $n_ok of the 6 alert rules without error: ${rules:0:1500}"
for alert in FlowexLatencyP95High FlowexErrorRateHigh FlowexServiceSendsNoTraces FlowexTargetDown; do
  grep -q "\"name\":\"$alert\"" <<<"$rules" || fail "Prometheus has no alert rule $alert: ${rules:0:600}"
done
if (( n_joined != 6 )); then
  requests="$(promql 'sum by (service) (http_server_request_duration_seconds_count{route!~"/health|/metrics"})')"
  spans="$(promql 'sum by (service) (flowex_span_calls_total{span_kind="SPAN_KIND_SERVER"})')"
  fail "requests and spans do not join by service for the demo's six services: ${joined:0:800}; requests: ${requests:0:800}; spans: ${spans:0:800}"
fi
# A service's request counter can be scraped a moment before the collector has its spans (each
# service exports on its own schedule): a rule evaluated then holds the alert pending until the
# next evaluation, a second later. A healthy stack has none left within a few evaluations.
silent=""
for _ in $(seq 1 100); do
  silent="$(promql 'ALERTS{alertname=~"FlowexServiceSendsNoTraces|FlowexTargetDown"}')" || silent=""
  grep -q '"result":\[\]' <<<"$silent" && break
  sleep 0.1
done
grep -q '"result":\[\]' <<<"$silent" || fail "alerts fire on a healthy stack: ${silent:0:600}"
status="$("$build/bin/flowex" status --gateway-url "$gateway" --query-url "$viewer" --prometheus-url "$prometheus")" ||
  fail "flowex status failed on a healthy stack: $status"
grep -q -E '^prometheus +ok, 0 alerts firing' <<<"$status" || fail "flowex status does not show Prometheus's alerts: $status"
pass "Prometheus scrapes the 7 targets and evaluates the 6 alert rules; requests and spans join by service; flowex status shows 0 alerts firing"

# --- Ctrl-C -------------------------------------------------------------------------------
read -r -a tracked <<<"$(descendants "$make_pid")"
[[ -f "$state/redis.pid" ]] && tracked+=("$(cat "$state/redis.pid")")
pg="$(pg_pid)"; [[ -n "$pg" ]] && tracked+=("$pg")
binaries=0
for p in "${tracked[@]}"; do
  exe="$(readlink "/proc/$p/exe" 2>/dev/null || true)"
  [[ "$exe" == "$build/bin/"* ]] && binaries=$((binaries + 1))
done
(( binaries >= 7 )) || fail "expected the collector and six services running from $build/bin, found $binaries"
prom_procs=0
for p in "${tracked[@]}"; do [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == */prometheus ]] && prom_procs=$((prom_procs + 1)); done
(( prom_procs == 1 )) || fail "expected one Prometheus among the stack's processes, found $prom_procs"
[[ -n "$pg" ]] && alive "$pg" || fail "PostgreSQL is not running"
echo "tracking ${#tracked[@]} processes (${binaries} flowex binaries, PostgreSQL $pg, Redis $(cat "$state/redis.pid" 2>/dev/null))"

kill -INT -- "-$make_pid"
for _ in $(seq 1 600); do alive "$make_pid" || break; sleep 0.1; done
alive "$make_pid" && fail "make up did not exit within 60 s of Ctrl-C"
wait "$make_pid" 2>/dev/null || true
grep -q "stopped; nothing of ours is running" "$log" || fail "no clean-stop message"

expect_nothing_left "Ctrl-C"
pass "Ctrl-C stopped everything: none of the ${#tracked[@]} processes is left"

# --- SIGTERM during start-up --------------------------------------------------------------
# A script that runs the stack (bench/e2e does) may stop it before it is ready. scripts/up,
# signalled once PostgreSQL and Redis are up and before the services are, must stop what it
# started and exit, not go on to start the services after stopping the rest.
log="$state/up-interrupted.log"
set -m
FLOWEX_PG_PORT="${port[PG]}" FLOWEX_REDIS_PORT="${port[REDIS]}" \
  FLOWEX_OTLP_PORT="${port[OTLP]}" FLOWEX_VIEWER_PORT="${port[VIEWER]}" \
  FLOWEX_GATEWAY_PORT="${port[GATEWAY]}" FLOWEX_USER_SERVICE_PORT="${port[USER_SERVICE]}" \
  FLOWEX_ORDER_MANAGER_PORT="${port[ORDER_MANAGER]}" FLOWEX_RISK_MANAGER_PORT="${port[RISK_MANAGER]}" \
  FLOWEX_WALLET_SERVICE_PORT="${port[WALLET_SERVICE]}" FLOWEX_REPORTING_SERVICE_PORT="${port[REPORTING_SERVICE]}" \
  FLOWEX_PROMETHEUS_PORT="${port[PROMETHEUS]}" \
  "$src/scripts/up" --build-dir "$build" --state-dir "$state" --no-demo >"$log" 2>&1 </dev/null &
make_pid=$!   # the EXIT trap stops it as it stops make, should a check below fail
set +m
for _ in $(seq 1 1200); do
  grep -q "Redis ready" "$log" 2>/dev/null && break
  alive "$make_pid" || fail "scripts/up ended before Redis was ready"
  sleep 0.1
done
grep -q "Redis ready" "$log" || fail "scripts/up did not get Redis ready within 120 s"
kill -TERM "$make_pid"   # at once: walking the process tree first would let start-up finish
tracked=()
[[ -f "$state/redis.pid" ]] && tracked+=("$(cat "$state/redis.pid")")
pg="$(pg_pid)"; [[ -n "$pg" ]] && tracked+=("$pg")
for _ in $(seq 1 300); do alive "$make_pid" || break; sleep 0.1; done
alive "$make_pid" && fail "scripts/up did not exit within 30 s of SIGTERM during start-up"
wait "$make_pid" 2>/dev/null || true
make_pid=""
grep -q "stopped; nothing of ours is running" "$log" || fail "no clean-stop message after SIGTERM"
expect_nothing_left "SIGTERM during start-up"
pass "SIGTERM during start-up stopped everything and scripts/up exited"
