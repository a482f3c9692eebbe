# bench/e2e/stack_env.sh — sourced by the end-to-end scripts: the ports of a stack started by
# scripts/up, ten from $1 (PostgreSQL, Redis, OTLP, viewer, gateway, then the five internal
# services), and one fresh internal token (scripts/up uses it; flowex load grants shares with it).
flowex_stack_env() {
  local base="$1"
  export FLOWEX_PG_PORT=$base FLOWEX_REDIS_PORT=$((base + 1)) FLOWEX_OTLP_PORT=$((base + 2)) \
         FLOWEX_VIEWER_PORT=$((base + 3)) FLOWEX_GATEWAY_PORT=$((base + 4)) \
         FLOWEX_USER_SERVICE_PORT=$((base + 5)) FLOWEX_ORDER_MANAGER_PORT=$((base + 6)) \
         FLOWEX_RISK_MANAGER_PORT=$((base + 7)) FLOWEX_WALLET_SERVICE_PORT=$((base + 8)) \
         FLOWEX_REPORTING_SERVICE_PORT=$((base + 9))
  FLOWEX_INTERNAL_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export FLOWEX_INTERNAL_TOKEN
}
