#!/usr/bin/env bash
# bench/e2e/cpu_per_request.sh — CPU time per completed request, per process, of a whole stack.
#
#   bench/e2e/cpu_per_request.sh [REPO [BUILD_DIR]]   (default: this repository and its build/)
#
# Starts the stack of REPO as `make up` does (REPO/scripts/up --no-demo, 100 % sampling, a
# fresh state directory, ports from PORT_BASE [18400]), drives it with this repository's
# `flowex load` at RATE [100]/s for DURATION [20s] with USERS [20], and prints, for every
# service, the collector, Redis and PostgreSQL (all backends), the CPU time (user + system,
# from /proc) spent between "users ready" and the last answer, divided by the completed
# requests. To compare two commits, check the older one out with `git worktree add`, build it,
# and alternate: `bench/e2e/cpu_per_request.sh /path/to/worktree; bench/e2e/cpu_per_request.sh`.
# TRACING=off starts the services with OTEL_SDK_DISABLED=true (at saturation the CPU is the
# limit, so traced/untraced CPU per request is what tracing costs in throughput).
# SYSCALLS=1 also counts each service's system calls per request (strace -c on the running
# processes; strace slows them, so the CPU figures of such a run are not comparable).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
repo="$(cd "${1:-$here}" && pwd)"
build="$(cd "${2:-$repo/build}" && pwd)"
load_bin="$here/build/bin/flowex"
[[ -x "$load_bin" ]] || { echo "cpu_per_request: $load_bin is not built" >&2; exit 2; }
RATE="${RATE:-100}"
DURATION="${DURATION:-20s}"
USERS="${USERS:-20}"
base="${PORT_BASE:-18400}"

# shellcheck source=stack_env.sh
source "$here/bench/e2e/stack_env.sh"
flowex_stack_env "$base"
work="$(mktemp -d /tmp/flowex-cpu.XXXXXX)"
cleanup() {
  flowex_stop_stack
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tracing=1
[[ "${TRACING:-on}" == off ]] && tracing=0
flowex_start_stack "$repo" "$build" "$work/state" "$work/up.log" "$tracing"

processes=(client-gateway user-service order-manager risk-manager wallet-service reporting-service
           flowex-collector redis-server)
snapshot() {  # one "name ticks" line per process group; PostgreSQL: the postmaster and children
  local s t p master
  for s in "${processes[@]}"; do
    t=0
    for p in $(pgrep -f "$s"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo "$s $t"
  done
  master="$(ss -Hltnp "sport = :$FLOWEX_PG_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
  t=0
  for p in $master $(pgrep -P "$master"); do
    t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "postgresql $t"
}

"$load_bin" load --gateway-url "http://127.0.0.1:$FLOWEX_GATEWAY_PORT" \
  --wallet-url "http://127.0.0.1:$FLOWEX_WALLET_SERVICE_PORT" --rate "$RATE" \
  --duration "$DURATION" --users "$USERS" --json > "$work/load.json" 2> "$work/load.progress" &
load_pid=$!
until grep -q 'users ready' "$work/load.progress" 2>/dev/null; do
  flowex_alive "$load_pid" || { cat "$work/load.progress" >&2; exit 1; }
  sleep 0.05
done
snapshot > "$work/before"
tracers=()
if [[ "${SYSCALLS:-0}" == 1 ]]; then
  command -v strace >/dev/null || { echo "cpu_per_request: SYSCALLS=1 needs strace" >&2; exit 2; }
  for s in "${processes[@]:0:6}"; do
    pid="$(pgrep -f "bin/$s" | head -1)"
    [[ -n "$pid" ]] || continue
    strace -c -f -q -o "$work/strace.$s" -p "$pid" & tracers+=($!)
  done
fi
wait "$load_pid" || true
snapshot > "$work/after"
for t in "${tracers[@]}"; do kill -INT "$t" 2>/dev/null || true; wait "$t" 2>/dev/null || true; done

echo "stack: $repo (commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')), tracing ${TRACING:-on}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
before = dict(l.split() for l in open(f"{work}/before"))
after = dict(l.split() for l in open(f"{work}/after"))
report = json.load(open(f"{work}/load.json"))
n = max(1, report["completed"])
tick_ms = 10.0  # USER_HZ = 100
total = 0.0
for name in before:
    ms = (int(after[name]) - int(before[name])) * tick_ms / n
    total += ms
    print(f"  {name:<18} {ms:6.2f} ms CPU per request")
print(f"  {'total':<18} {total:6.2f} ms CPU per request")
a = report["routes"]["all"]
answered = (report["completed"] - report["errors"]) / max(report["elapsed_s"], 1e-9)
print(f"  {report['completed']} completed at {report['achieved_rate']:.1f}/s, {report['errors']} errors, "
      f"answered {answered:.1f}/s, p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms")
import glob, os
for path in sorted(glob.glob(f"{work}/strace.*")):
    calls = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] not in ("total",):
            calls[f[-1]] = int(f[3])
    if not calls:
        continue
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
    print(f"  {os.path.basename(path)[7:]:<18} {sum(calls.values()) / n:6.1f} syscalls per request: " +
          ", ".join(f"{k} {v / n:.1f}" for k, v in top))
PY
