# bench/e2e/stack_env.sh — sourced by the end-to-end scripts: the ports of a stack started by
# scripts/up, eleven from $1 (PostgreSQL, Redis, OTLP, viewer, gateway, the five internal
# services, then Prometheus), and one fresh internal token (scripts/up uses it; flowex load grants shares with it);
# flowex_start_stack and flowex_stop_stack run scripts/up in the background.
flowex_stack_env() {
  local base="$1"
  export FLOWEX_PG_PORT=$base FLOWEX_REDIS_PORT=$((base + 1)) FLOWEX_OTLP_PORT=$((base + 2)) \
         FLOWEX_VIEWER_PORT=$((base + 3)) FLOWEX_GATEWAY_PORT=$((base + 4)) \
         FLOWEX_USER_SERVICE_PORT=$((base + 5)) FLOWEX_ORDER_MANAGER_PORT=$((base + 6)) \
         FLOWEX_RISK_MANAGER_PORT=$((base + 7)) FLOWEX_WALLET_SERVICE_PORT=$((base + 8)) \
         FLOWEX_REPORTING_SERVICE_PORT=$((base + 9)) FLOWEX_PROMETHEUS_PORT=$((base + 10))
  FLOWEX_INTERNAL_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export FLOWEX_INTERNAL_TOKEN
}

# Exits with 2 unless the variable named $2 holds a positive integer ($1: the script, for the message).
flowex_require_count() {  # script variable
  [[ "${!2}" =~ ^[1-9][0-9]*$ ]] || { echo "$1: $2 must be a positive integer" >&2; exit 2; }
}

# The VM's speed right now, as millions of operations a second of flowex-bench-matching on the
# shared 2M-order stream (one thread; its own median of REPEAT [1] runs): this machine type
# alternates between a fast mode (about 20 – 28) and a slow one (about 7 – 10) that nothing in
# /proc shows, and every end-to-end figure moves with it. Prints "-" when BUILD_DIR has no
# flowex-bench-matching or the stream (REPO/../shared/bench) is missing.
flowex_vm_speed() {  # repo build_dir [repeat]
  local bench="$2/bin/flowex-bench-matching" stream="$1/../shared/bench/matching-mix-2M.csv.gz"
  if [[ -x "$bench" && -r "$stream" ]]; then
    "$bench" --workload "$stream" --repeat "${3:-1}" --json 2>/dev/null |
      python3 -c 'import json, sys; print("%.1f" % (json.load(sys.stdin)["ops_per_sec"] / 1e6))' \
      2>/dev/null || echo -
  else
    echo -
  fi
}

# True while the process runs. Not `kill -0`: a background child that has exited but is not yet
# waited for is a zombie, and kill -0 succeeds on it.
flowex_alive() {  # pid
  local st
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)"
  [[ -n "$st" && "$st" != Z ]]
}

# Starts REPO/scripts/up for BUILD_DIR in the background (state in STATE_DIR, output to LOG,
# 100 % sampling, OTEL_SDK_DISABLED=true when TRACING is 0) and returns once it is ready;
# FLOWEX_UP_PID is its pid. Exits the calling script with 1 when the stack dies first or is
# not ready within 120 s.
flowex_start_stack() {  # repo build_dir state_dir log [tracing: 1 (default) | 0]
  local repo="$1" build="$2" state="$3" log="$4" tracing="${5:-1}"
  local env=(OTEL_TRACES_SAMPLER=always_on)
  (( tracing )) || env+=(OTEL_SDK_DISABLED=true)
  mkdir -p "$state"
  FLOWEX_STACK_STATE="$(cd "$state" && pwd)"
  env "${env[@]}" "$repo/scripts/up" --build-dir "$build" --state-dir "$state" --no-demo \
    > "$log" 2>&1 &
  FLOWEX_UP_PID=$!
  for _ in $(seq 1 1200); do
    grep -q 'flowex is ready' "$log" 2>/dev/null && return 0
    flowex_alive "$FLOWEX_UP_PID" || { cat "$log" >&2; echo "the stack did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "the stack did not come up in 120 s (see $log)" >&2
  exit 1
}

# Stops the stack flowex_start_stack started, and waits for it. SIGTERM: a background job of
# a script ignores SIGINT, so scripts/up would never see it. Removes what scripts/up keeps
# under /var/tmp when the postgres or redis user cannot reach the state directory (the
# caller removes the state directory itself).
flowex_stop_stack() {
  [[ -n "${FLOWEX_UP_PID:-}" ]] || return 0
  kill -TERM "$FLOWEX_UP_PID" 2>/dev/null || true
  wait "$FLOWEX_UP_PID" 2>/dev/null || true
  FLOWEX_UP_PID=""
  rm -rf "/var/tmp/flowex-$(echo "$FLOWEX_STACK_STATE" | md5sum | cut -c1-8)" \
         "/var/tmp/flowex-redis-$FLOWEX_REDIS_PORT"
}
