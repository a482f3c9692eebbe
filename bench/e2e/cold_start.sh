#!/usr/bin/env bash
# bench/e2e/cold_start.sh — the first seconds of a fresh stack: latency of `flowex load` started
# as soon as `make up` says ready, with the services' PostgreSQL warm-up on and off.
#
#   bench/e2e/cold_start.sh [BUILD_DIR]        (default: build)
#
# Each run starts the whole stack as `make up` does (scripts/up --no-demo, fresh state, 100 %
# tracing) on ports from PORT_BASE [18700], runs `flowex load` at RATE [300]/s for DURATION
# [15s] with USERS [20] right away — no warm-up, unlike run.sh — and stops it. Runs alternate
# FLOWEX_PG_WARM=1 (the default: each service opens its connections at start and has them plan
# every table once) and FLOWEX_PG_WARM=0 (connections opened during the first requests),
# ROUNDS [3] rounds, the order swapped every other round. Prints the overall row of each report
# and the median p99 of each setting.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
build="$(cd "${1:-$repo/build}" && pwd)"
[[ -x "$build/bin/flowex" ]] || { echo "cold_start: $build/bin/flowex is not built" >&2; exit 2; }
RATE="${RATE:-300}"
DURATION="${DURATION:-15s}"
USERS="${USERS:-20}"
ROUNDS="${ROUNDS:-3}"

# shellcheck source=stack_env.sh
source "$repo/bench/e2e/stack_env.sh"
flowex_require_count cold_start ROUNDS
flowex_stack_env "${PORT_BASE:-18700}"
work="$(mktemp -d /tmp/flowex-cold.XXXXXX)"
trap 'flowex_stop_stack; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

declare -A p99s=([0]="" [1]="")
for round in $(seq 1 "$ROUNDS"); do
  order=(1 0)
  (( round % 2 == 0 )) && order=(0 1)
  for warm in "${order[@]}"; do
    rm -rf "$work/state"
    FLOWEX_PG_WARM=$warm flowex_start_stack "$repo" "$build" "$work/state" "$work/up.log"
    report="$("$build/bin/flowex" load --gateway-url "http://127.0.0.1:$FLOWEX_GATEWAY_PORT" \
                --wallet-url "http://127.0.0.1:$FLOWEX_WALLET_SERVICE_PORT" --rate "$RATE" \
                --duration "$DURATION" --users "$USERS" --quiet --json)"
    flowex_stop_stack
    row="$(python3 -c '
import json, sys
r = json.load(sys.stdin)
a = r["routes"]["all"]
print("%d %d %.2f %.2f %.2f %.2f" % (a["count"], a["errors"], a["p50_ms"], a["p90_ms"], a["p99_ms"], a["max_ms"]))
' <<< "$report")"
    read -r count errors p50 p90 p99 max <<< "$row"
    printf 'round %d  FLOWEX_PG_WARM=%d  requests %s  errors %s  p50 %s  p90 %s  p99 %s  max %s ms\n' \
      "$round" "$warm" "$count" "$errors" "$p50" "$p90" "$p99" "$max"
    p99s[$warm]+="$p99 "
  done
done
for warm in 1 0; do
  printf 'FLOWEX_PG_WARM=%d: median p99 %s ms\n' "$warm" \
    "$(tr ' ' '\n' <<< "${p99s[$warm]}" | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')"
done
