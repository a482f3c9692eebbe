#!/usr/bin/env bash
# bench/e2e/tracing_cost.sh — what 100 % tracing costs in saturation throughput (issue #9).
#
#   bench/e2e/tracing_cost.sh [REPO [BUILD_DIR]]   (default: this repository and its build/)
#
# Alternates whole-stack runs with tracing on (100 % sampling, the collector storing every
# span) and off (OTEL_SDK_DISABLED=true), ROUNDS [3] of each, every run on a fresh stack
# (bench/e2e/cpu_per_request.sh) offered RATE [1500]/s — above both stacks' saturation
# (the untraced stack answers 1,200/s since 2026-12-03) — for DURATION [20s]. Which case goes
# first alternates from round to round. Prints every run's requests answered
# per second (timeouts excluded) and machine CPU per request, every round's traced/untraced
# ratio, and the median of those ratios (the VM's speed drifts between rounds; adjacent runs
# share it best). Tracing's cost is 1 − that median.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
ROUNDS="${ROUNDS:-3}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "tracing_cost: ROUNDS must be a positive integer" >&2; exit 2; }
export RATE="${RATE:-1500}" DURATION="${DURATION:-20s}"

run() {  # tracing (on|off) [REPO [BUILD_DIR]] → "answered/s cpu_ms"; the run's report on stderr
  local t="$1" out
  shift
  out="$(TRACING="$t" "$here/bench/e2e/cpu_per_request.sh" "$@" 2>&1)" ||
    { echo "$out" >&2; echo "tracing_cost: the $t run failed" >&2; exit 1; }
  echo "$out" | sed "s/^/    /" >&2
  echo "$(echo "$out" | sed -n 's/.*answered \([0-9.]*\)\/s.*/\1/p') $(echo "$out" | awk '$1 == "total" {print $2}')"
}

ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
  order=(on off)
  (( r % 2 == 0 )) && order=(off on)
  declare -A got=()
  for t in "${order[@]}"; do
    echo "round $r, tracing $t ($(date -u +%H:%M:%S) UTC, offered $RATE/s for $DURATION):" >&2
    got[$t]="$(run "$t" "${@:1:2}")"
  done
  read -r on_rate on_cpu <<< "${got[on]}"
  read -r off_rate off_cpu <<< "${got[off]}"
  ratio="$(python3 -c "print(f'{$on_rate / $off_rate:.3f}')")"
  ratios+=("$ratio")
  printf 'round %d: traced %s/s (%s ms CPU a request), untraced %s/s (%s ms), traced/untraced %s\n' \
    "$r" "$on_rate" "$on_cpu" "$off_rate" "$off_cpu" "$ratio"
  unset got
done
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = [float(x) for x in sys.argv[1:]]
m = statistics.median(r)
print(f"median traced/untraced throughput {m:.3f} over {len(r)} rounds: tracing costs {100 * (1 - m):.1f} %")
PY
