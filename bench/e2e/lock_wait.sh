#!/usr/bin/env bash
# bench/e2e/lock_wait.sh — latency of builds alternated, and where an order waits for its symbol.
#
#   bench/e2e/lock_wait.sh BUILD_DIR [BUILD_DIR...]     (default: build)
#
# For each round and each build directory in turn: starts the stack as `make up` does
# (scripts/up --no-demo, 100 % sampling, a fresh state directory, ports from PORT_BASE
# [18800]), warms it with `flowex load` at RATE [500]/s for WARMUP [5s], measures RATE/s for
# DURATION [15s], then reads the last 1,500 `create_order` traces back from the collector and
# prints, per build: errors, p50/p99 of all requests, of limit orders and of cancels (from
# `flowex load`), the wait for the symbol's lock (from the end of the last call to answer,
# validate or block-funds, to the start of `match_order`: p50/p90/p99), `match_order`'s p50,
# and order-manager's group-commit metrics, and the machine's disk writes during the measured
# load (every disk's sectors written, sampled every 250 ms: the median second and the largest).
# ROUNDS [3]; the order of the builds alternates round by round. Compare within a round; the
# VM's speed drifts from minute to minute.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
builds=()
for b in "${@:-$here/build}"; do
  [[ -x "$b/bin/order-manager" ]] || { echo "lock_wait: $b/bin has no services built" >&2; exit 2; }
  builds+=("$(cd "$b" && pwd)")
done
load_bin="$here/build/bin/flowex"
[[ -x "$load_bin" ]] || { echo "lock_wait: $load_bin is not built" >&2; exit 2; }
RATE="${RATE:-500}"
DURATION="${DURATION:-15s}"
WARMUP="${WARMUP:-5s}"
ROUNDS="${ROUNDS:-3}"
base="${PORT_BASE:-18800}"

# shellcheck source=stack_env.sh
source "$here/bench/e2e/stack_env.sh"
flowex_require_count lock_wait ROUNDS
work="$(mktemp -d /tmp/flowex-lock-wait.XXXXXX)"
trap 'flowex_stop_stack; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

run() {  # build
  local b="$1"
  flowex_stack_env "$base"
  flowex_start_stack "$here" "$b" "$work/state" "$work/up.log" 1
  local args=(--gateway-url "http://127.0.0.1:$FLOWEX_GATEWAY_PORT"
              --wallet-url "http://127.0.0.1:$FLOWEX_WALLET_SERVICE_PORT" --users 20 --quiet)
  FLOWEX_INTERNAL_TOKEN="$FLOWEX_INTERNAL_TOKEN" "$load_bin" load "${args[@]}" --rate "$RATE" \
    --duration "$WARMUP" > /dev/null
  python3 "$here/bench/e2e/disk_writes.py" "$work/disk.txt" &
  local sampler=$!
  FLOWEX_INTERNAL_TOKEN="$FLOWEX_INTERNAL_TOKEN" "$load_bin" load "${args[@]}" --rate "$RATE" \
    --duration "$DURATION" --seed 2 --json > "$work/load.json"
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  curl -sf "http://127.0.0.1:$FLOWEX_VIEWER_PORT/api/traces?service=order-manager&operation=create_order&limit=1500&lookback=1m" \
    -o "$work/traces.json"
  curl -sf "http://127.0.0.1:$FLOWEX_ORDER_MANAGER_PORT/metrics" > "$work/metrics.txt" || true
  flowex_stop_stack
  rm -rf "$work/state"
  python3 - "$work" "$b" <<'PY'
import json, sys
work, build = sys.argv[1], sys.argv[2]
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")
rep = json.load(open(f"{work}/load.json"))
waits, match = [], []
for t in json.load(open(f"{work}/traces.json"))["data"]:
    kids = {}
    for s in t["spans"]:
        for r in s.get("references", []):
            if r["refType"] == "CHILD_OF":
                kids.setdefault(r["spanID"], []).append(s)
    for co in (s for s in t["spans"] if s["operationName"] == "create_order"):
        ch = sorted(kids.get(co["spanID"], []), key=lambda s: s["startTime"])
        mo = [s for s in ch if s["operationName"] == "match_order"]
        if not mo:
            continue
        calls = [s for s in ch if s["operationName"] == "POST" and s["startTime"] < mo[0]["startTime"]]
        if calls:  # from the end of the last call to answer (validate and block-funds overlap)
            ready = max(s["startTime"] + s["duration"] for s in calls)
            waits.append((mo[0]["startTime"] - ready) / 1000)
            match.append(mo[0]["duration"] / 1000)
metrics = {}
for line in open(f"{work}/metrics.txt"):
    name, _, value = line.partition(" ")
    if name.startswith("order_manager_") and not name.endswith("_bucket") and "{" not in name:
        metrics[name[len("order_manager_"):]] = value.strip()
per_second = {}
last = None
for line in open(f"{work}/disk.txt"):
    t, sectors = line.split()
    if last is not None:
        per_second[int(float(t))] = per_second.get(int(float(t)), 0) + (int(sectors) - last) * 512 / 1e6
    last = int(sectors)
disk = sorted(per_second.values())
r = rep["routes"]
per_commit = ""
if "orders_per_commit_count" in metrics and float(metrics["orders_per_commit_count"]) > 0:
    per_commit = f", {float(metrics['orders_per_commit_sum']) / float(metrics['orders_per_commit_count']):.2f} orders a commit, {metrics.get('group_commits_failed_total', '0')} groups failed"
print(f"  {build}: {rep['completed']} completed, {rep['errors']} errors; p50/p99 ms: all "
      f"{r['all']['p50_ms']:.2f}/{r['all']['p99_ms']:.2f}, limit {r['limit']['p50_ms']:.2f}/"
      f"{r['limit']['p99_ms']:.2f}, cancel {r['cancel']['p50_ms']:.2f}/{r['cancel']['p99_ms']:.2f}; "
      f"lock wait p50/p90/p99 {q(waits, .5):.2f}/{q(waits, .9):.2f}/{q(waits, .99):.2f} ms "
      f"({len(waits)} orders), match_order p50 {q(match, .5):.2f} ms{per_commit}; "
      f"disk writes MB a second: median {q(disk, .5):.1f}, largest {disk[-1] if disk else 0:.1f}")
PY
}

for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)):"
  order=("${builds[@]}")
  if (( r % 2 == 0 )); then
    order=()
    for ((i = ${#builds[@]} - 1; i >= 0; i--)); do order+=("${builds[$i]}"); done
  fi
  for b in "${order[@]}"; do run "$b"; done
done
