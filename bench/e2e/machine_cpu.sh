#!/usr/bin/env bash
# bench/e2e/machine_cpu.sh — machine CPU per request of whole stacks, builds alternated.
#
#   bench/e2e/machine_cpu.sh BUILD_DIR [BUILD_DIR...]     (default: build)
#
# For each round and each build directory in turn: starts the stack as `make up` does
# (scripts/up --no-demo, 100 % sampling, a fresh state directory, ports from PORT_BASE
# [18500]), warms it with `flowex load` at RATE [300]/s for WARMUP [5s], then measures RATE/s
# for DURATION [15s] and prints the CPU the whole machine spent from "users ready" to the last
# answer (user + nice + system + irq + softirq from /proc/stat: every process, scripts/up's
# log plumbing and the load generator included) divided by the completed requests, with
# completed/s and p50/p99. ROUNDS [3].
# Alternating builds round by round is what makes two builds comparable on a VM whose speed
# drifts from minute to minute; compare within a round, and the median of the per-round
# ratios. TRACING=off starts the services with OTEL_SDK_DISABLED=true. Run it on an
# otherwise quiet machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
builds=()
for b in "${@:-$here/build}"; do
  [[ -x "$b/bin/client-gateway" ]] || { echo "machine_cpu: $b/bin has no services built" >&2; exit 2; }
  builds+=("$(cd "$b" && pwd)")
done
load_bin="$here/build/bin/flowex"
[[ -x "$load_bin" ]] || { echo "machine_cpu: $load_bin is not built" >&2; exit 2; }
RATE="${RATE:-300}"
DURATION="${DURATION:-15s}"
WARMUP="${WARMUP:-5s}"
ROUNDS="${ROUNDS:-3}"
base="${PORT_BASE:-18500}"

# shellcheck source=stack_env.sh
source "$here/bench/e2e/stack_env.sh"
work="$(mktemp -d /tmp/flowex-machine-cpu.XXXXXX)"
trap 'flowex_stop_stack; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
hz="$(getconf CLK_TCK)"
tracing=1
[[ "${TRACING:-on}" == off ]] && tracing=0

for round in $(seq 1 "$ROUNDS"); do
  for b in "${builds[@]}"; do
    flowex_stack_env "$base"
    rm -rf "$work/state"
    flowex_start_stack "$here" "$b" "$work/state" "$work/up.log" "$tracing"
    urls=(--gateway-url "http://127.0.0.1:$FLOWEX_GATEWAY_PORT" --wallet-url "http://127.0.0.1:$FLOWEX_WALLET_SERVICE_PORT")
    "$load_bin" load "${urls[@]}" --rate "$RATE" --duration "$WARMUP" --users 20 --quiet > /dev/null 2>&1 || true
    # The window opens once the run's users are prepared (registration hashes passwords:
    # seconds of CPU that are not the requests') and closes with the last answer.
    "$load_bin" load "${urls[@]}" --rate "$RATE" --duration "$DURATION" --users 20 --json \
      > "$work/report.json" 2> "$work/progress" &
    load_pid=$!
    until grep -q 'users ready' "$work/progress" 2>/dev/null; do
      flowex_alive "$load_pid" || { cat "$work/progress" >&2; echo "machine_cpu: the load did not start" >&2; exit 1; }
      sleep 0.05
    done
    t0="$(busy_ticks)"
    wait "$load_pid" || true
    t1="$(busy_ticks)"
    flowex_stop_stack
    python3 - "$work/report.json" "$round" "$b" "$((t1 - t0))" "$hz" <<'PY'
import json, sys
path, rnd, build, ticks, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
try:
    r = json.load(open(path))
except Exception as e:
    print(f"round {rnd}  {build}: no report ({e})"); sys.exit(0)
a = r["routes"]["all"]
done = a["count"]
cpu_ms = ticks * 1000.0 / hz / done if done else float("nan")
rate = r["achieved_rate"]
print(f"round {rnd}  {build}: {cpu_ms:.2f} ms machine CPU per request, {done} completed "
      f"({rate:.1f}/s), {a['errors']} errors, p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms")
PY
  done
done
