#!/usr/bin/env bash
# Smoke test of flowex-bench-collector-http's --rounds (ctest CollectorHttpBench.RoundsAlternate):
# two one-second rounds of the same collector against itself report each collector, each
# round's ratio with the start order alternated, and the median; --rounds without --baseline is
# a usage error (exit 2).
#
#   bench/collector/rounds_smoke_test.sh BENCH_BINARY COLLECTOR_BINARY
set -euo pipefail
bench="$1" collector="$2"
out="$("$bench" --collector "$collector" --baseline "$collector" --rounds 2 --rate 50 --duration 1s --json)"
echo "$out"
expect() {  # pattern what
  grep -q -- "$1" <<< "$out" || { echo "FAIL: no $2 in the output" >&2; exit 1; }
}
expect '"role":"ratio","round":1,"started_first":"collector",' "ratio of round 1 (collector first)"
expect '"role":"ratio","round":2,"started_first":"baseline",' "ratio of round 2 (baseline first)"
expect '"role":"median","rounds":2,"cpu_collector_over_baseline":[0-9]' "median of the 2 rounds"
n="$(grep -c '"role":"collector",' <<< "$out")"
[[ "$n" == 2 ]] || { echo "FAIL: $n collector reports, expected one a round" >&2; exit 1; }
status=0
"$bench" --collector "$collector" --rounds 2 > /dev/null 2>&1 || status=$?
[[ "$status" == 2 ]] || { echo "FAIL: --rounds without --baseline exited $status, expected 2" >&2; exit 1; }
echo "ok"
