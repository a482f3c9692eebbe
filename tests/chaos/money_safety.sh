#!/usr/bin/env bash
# The money-safety tests at full size (issue #7): 50 users × 200 random orders through the
# gateway, one user racing itself from 4 connections: once undisturbed, once with
# order-manager and then wallet-service killed with SIGKILL at random instants mid-load, once
# with PostgreSQL stopped mid-load (503s meanwhile) and started again, and once with
# PostgreSQL crashed mid-load (immediate stop, crash recovery, synchronous commits).
# Each run ends with the oracle's comparison and `flowex audit`. `make test` runs the same
# tests at a small size.
#
#   tests/chaos/money_safety.sh [BUILD_DIR]      (default: build)
#
# Environment: FLOWEX_MONEY_USERS (50), FLOWEX_MONEY_ORDERS (200), FLOWEX_MONEY_RACERS (4),
# FLOWEX_MONEY_SEED (random; printed, so a failing run can be replayed), FLOWEX_CHAOS_TIMEOUT
# (seconds for the whole run, 1800). Starts its own PostgreSQL and Redis
# (scripts/test-services) on free loopback ports and stops them afterwards.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
build="$(cd "${1:-$repo/build}" && pwd)"
test_bin="$build/bin/flowex-money-safety-test"
[[ -x "$test_bin" ]] || { echo "money_safety: $test_bin is not built (make build)" >&2; exit 2; }

state="$(mktemp -d /tmp/flowex-chaos.XXXXXX)"
cleanup() {
  "$repo/scripts/test-services" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
"$repo/scripts/test-services" start "$state"

export FLOWEX_TEST_ENV_FILE="$state/env"
export FLOWEX_MONEY_USERS="${FLOWEX_MONEY_USERS:-50}"
export FLOWEX_MONEY_ORDERS="${FLOWEX_MONEY_ORDERS:-200}"
export FLOWEX_MONEY_RACERS="${FLOWEX_MONEY_RACERS:-4}"
[[ -n "${FLOWEX_MONEY_SEED:-}" ]] && export FLOWEX_MONEY_SEED
started=$(date +%s)
timeout --signal=TERM --kill-after=30 "${FLOWEX_CHAOS_TIMEOUT:-1800}" "$test_bin" --gtest_color=no
echo "money_safety: passed in $(( $(date +%s) - started )) s"
