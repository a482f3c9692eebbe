#!/usr/bin/env bash
# bench/e2e/tracing_cost.sh — what 100 % tracing costs in saturation throughput (issue #9).
#
#   bench/e2e/tracing_cost.sh [REPO [BUILD_DIR]]   (default: this repository and its build/)
#
# Alternates whole-stack runs with tracing on (100 % sampling, the collector storing every
# span) and off (OTEL_SDK_DISABLED=true), ROUNDS [3] of each, every run on a fresh stack
# (bench/e2e/cpu_per_request.sh) offered RATE [1500]/s — above both stacks' saturation
# (the untraced stack answers 1,000 – 1,500/s in the VM's slow and fast modes, about 1,900/s
# in the fastest seen: RATE=2100 there; a run that answers 97 % of RATE or more is reported
# as not saturated) — for DURATION [20s]. Which case goes
# first alternates from round to round. Prints every run's requests answered
# per second (timeouts excluded) and machine CPU per request, every round's traced/untraced
# ratio, and the median of those ratios (the VM's speed drifts between rounds; adjacent runs
# share it best). Tracing's cost is 1 − that median. Also the median of untraced/traced CPU a
# request (steadier from run to run), and a warning when arrivals timed out (queueing past
# flowex load's --timeout: such runs' answered/s fall off a cliff). Each round line ends
# with the VM's speed before its traced and its untraced run (flowex_vm_speed, stack_env.sh:
# M ops/s of flowex-bench-matching, 20 – 28 in the VM's fast mode, 7 – 10 in its slow one): a
# round whose two runs saw different modes says nothing about tracing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
ROUNDS="${ROUNDS:-3}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "tracing_cost: ROUNDS must be a positive integer" >&2; exit 2; }
export RATE="${RATE:-1500}" DURATION="${DURATION:-20s}"
# shellcheck source=stack_env.sh
source "$here/bench/e2e/stack_env.sh"

run() {  # tracing (on|off) [REPO [BUILD_DIR]] → "answered/s cpu_ms errors"; the report on stderr
  local t="$1" out
  shift
  out="$(TRACING="$t" "$here/bench/e2e/cpu_per_request.sh" "$@" 2>&1)" ||
    { echo "$out" >&2; echo "tracing_cost: the $t run failed" >&2; exit 1; }
  echo "$out" | sed "s/^/    /" >&2
  echo "$(echo "$out" | sed -n 's/.*answered \([0-9.]*\)\/s.*/\1/p') $(echo "$out" | awk '$1 == "total" {print $2}')" \
    "$(echo "$out" | sed -n 's/.*completed at [0-9.]*\/s, \([0-9]*\) errors.*/\1/p')"
}

ratios=() cpu_ratios=() errors=0 unsaturated=()
for ((r = 1; r <= ROUNDS; r++)); do
  order=(on off)
  (( r % 2 == 0 )) && order=(off on)
  declare -A got=() vm=()
  for t in "${order[@]}"; do
    vm[$t]="$(flowex_vm_speed "$here" "$here/build")"
    echo "round $r, tracing $t ($(date -u +%H:%M:%S) UTC, offered $RATE/s for $DURATION, VM ${vm[$t]}):" >&2
    got[$t]="$(run "$t" "${@:1:2}")"
  done
  read -r on_rate on_cpu on_errors <<< "${got[on]}"
  read -r off_rate off_cpu off_errors <<< "${got[off]}"
  ratio="$(python3 -c "print(f'{$on_rate / $off_rate:.3f}')")"
  ratios+=("$ratio")
  cpu_ratios+=("$(python3 -c "print(f'{$off_cpu / $on_cpu:.3f}')")")
  errors=$(( errors + ${on_errors:-0} + ${off_errors:-0} ))
  # A stack that answered (nearly) all it was offered was not saturated: its throughput is RATE's.
  for t in on off; do
    rate_var="${t}_rate"
    python3 -c "import sys; sys.exit(0 if ${!rate_var} >= 0.97 * $RATE else 1)" &&
      unsaturated+=("round $r, tracing $t: ${!rate_var}/s")
  done
  printf 'round %d: traced %s/s (%s ms CPU a request), untraced %s/s (%s ms), traced/untraced %s, VM %s / %s\n' \
    "$r" "$on_rate" "$on_cpu" "$off_rate" "$off_cpu" "$ratio" "${vm[on]}" "${vm[off]}"
  unset got vm
done
for u in "${unsaturated[@]}"; do
  echo "warning: not saturated ($u of $RATE/s offered): that run measured the offered rate, not" \
       "the stack's capacity, so its round's ratio is not tracing's cost; raise RATE" >&2
done
python3 - "$errors" "${#ratios[@]}" "${ratios[@]}" "${cpu_ratios[@]}" <<'PY'
import statistics, sys
errors, n = int(sys.argv[1]), int(sys.argv[2])
r = [float(x) for x in sys.argv[3:3 + n]]
c = [float(x) for x in sys.argv[3 + n:]]
m = statistics.median(r)
print(f"median traced/untraced throughput {m:.3f} over {n} rounds: tracing costs {100 * (1 - m):.1f} %")
# Where the offered rate saturates the machine's CPU, CPU a request sets the throughput; it
# drifts less with the VM's speed than the throughput of runs minutes apart.
print(f"median untraced/traced CPU a request {statistics.median(c):.3f}: "
      f"tracing costs {100 * (1 - statistics.median(c)):.1f} % of the CPU")
if errors:
    print(f"warning: {errors} arrivals timed out (queueing past the load's --timeout): "
          "those runs' answered/s fall off a cliff; a shorter DURATION or lower RATE avoids it")
PY
