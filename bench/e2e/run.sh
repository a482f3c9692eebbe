#!/usr/bin/env bash
# bench/e2e/run.sh — the end-to-end exchange benchmark (issue #9).
#
#   bench/e2e/run.sh [BUILD_DIR]        (default: build)
#
# For every run it starts the whole stack as `make up` does — scripts/up --no-demo: private
# PostgreSQL (synchronous_commit on, its default), Redis, flowex-collector storing every
# span, the six services with 100 % sampling — on its own ports and a fresh state directory,
# drives it with `flowex load` (on the same machine), runs `flowex audit`, and stops it.
# Traced runs (the default) alternate with OTEL_SDK_DISABLED=true runs at the rates in
# UNTRACED_RATES, to measure what tracing costs. At the top traced rate it also records
# `perf record -g` profiles of the busiest service and of PostgreSQL.
# Writes OUT/summary.md (a markdown table and the profiles) plus every raw report.
#
# Environment (defaults in brackets): RATES ["250 500 1000 1500 2000"] traced rates,
# UNTRACED_RATES ["1000 2000"], DURATION [20s] per point, LONG_RATE [1000] run for
# LONG_DURATION [60s], USERS [20], CONNECTIONS [64], PORT_BASE [18300] (eleven ports from
# there), OUT [bench/e2e/results/<UTC time>], PROFILE [1], PROFILE_SECONDS [8], WARMUP [5s]
# of load at the run's rate before each measured run (0 for none).
# Before each run it measures the VM's speed (flowex_vm_speed in stack_env.sh: M ops/s of
# flowex-bench-matching, from BUILD_DIR or else build/; "-" without it): column "VM".
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
build="$(cd "${1:-$repo/build}" && pwd)"
bin="$build/bin"
for b in flowex client-gateway user-service order-manager risk-manager wallet-service \
         reporting-service flowex-collector; do
  [[ -x "$bin/$b" ]] || { echo "e2e: $bin/$b is not built" >&2; exit 2; }
done

RATES="${RATES:-250 500 1000 1500 2000}"
UNTRACED_RATES="${UNTRACED_RATES-1000 2000}"
DURATION="${DURATION:-20s}"
LONG_RATE="${LONG_RATE-1000}"
LONG_DURATION="${LONG_DURATION:-60s}"
USERS="${USERS:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
PROFILE="${PROFILE:-1}"
PROFILE_SECONDS="${PROFILE_SECONDS:-8}"
WARMUP="${WARMUP:-5s}"
base="${PORT_BASE:-18300}"
out="${OUT:-$repo/bench/e2e/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# shellcheck source=stack_env.sh
source "$repo/bench/e2e/stack_env.sh"
flowex_stack_env "$base"  # one internal token for every run
gateway="http://127.0.0.1:$FLOWEX_GATEWAY_PORT"
wallet="http://127.0.0.1:$FLOWEX_WALLET_SERVICE_PORT"
database="postgresql://postgres@127.0.0.1:$FLOWEX_PG_PORT/stockexchange"
services=(client-gateway user-service order-manager risk-manager wallet-service reporting-service
          flowex-collector)

trap flowex_stop_stack EXIT
trap 'exit 130' INT TERM

start_stack() {  # name, tracing (1/0)
  rm -rf "$out/state-$1"
  flowex_start_stack "$repo" "$build" "$out/state-$1" "$out/$1.up.log" "$2"
}

# CPU ticks (user + system) of a pid, summed over its threads.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pid_of() { pgrep -f "^$bin/$1( |$)" | head -1; }
pg_pids() {  # the postmaster on our port and its children
  local master
  master="$(ss -Hltnp "sport = :$FLOWEX_PG_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
  [[ -n "$master" ]] && { echo "$master"; pgrep -P "$master"; }
}

profile() {  # name: during a running load, profile the busiest service and PostgreSQL
  local name="$1" svc best="" best_ticks=0 pid
  declare -A before
  # Wait until the users are prepared and the load runs, then let it settle.
  for _ in $(seq 1 600); do grep -q 'users ready' "$out/$name.progress" 2>/dev/null && break; sleep 0.5; done
  sleep 3
  for svc in "${services[@]}"; do pid="$(pid_of "$svc")"; [[ -n "$pid" ]] && before[$svc]="$pid $(ticks "$pid")"; done
  local pg_before=0; for pid in $(pg_pids); do pg_before=$((pg_before + $(ticks "$pid"))); done
  sleep 2
  {
    echo "CPU ticks (10 ms) per process over a nominal 2 s window at the top rate (compare rows only):"
    for svc in "${!before[@]}"; do
      read -r pid t0 <<<"${before[$svc]}"
      local d=$(( $(ticks "$pid") - t0 ))
      printf '  %-18s %4d\n' "$svc" "$d"
      (( d > best_ticks )) && { best_ticks=$d; best=$svc; }
    done
    local pg_after=0; for pid in $(pg_pids); do pg_after=$((pg_after + $(ticks "$pid"))); done
    printf '  %-18s %4d (all backends; exited backends not counted)\n' postgresql $((pg_after - pg_before))
  } > "$out/$name.cpu.txt"
  [[ -n "$best" ]] || return 0
  echo "$best" > "$out/$name.hottest"
  local svc_pid; svc_pid="$(pid_of "$best")"
  local pgs; pgs="$(pg_pids | paste -sd, -)"
  perf record -q -g -F 499 -p "$svc_pid" -o "$out/$name.$best.perf.data" -- sleep "$PROFILE_SECONDS" \
    > /dev/null 2>&1 &
  local p1=$!
  perf record -q -g -F 499 -p "$pgs" -o "$out/$name.postgres.perf.data" -- sleep "$PROFILE_SECONDS" \
    > /dev/null 2>&1 &
  local p2=$!
  wait "$p1" "$p2" || true
  for what in "$best" postgres; do
    perf report -q --stdio --no-children --sort dso,symbol -g none --percent-limit 0.7 \
      -i "$out/$name.$what.perf.data" 2>/dev/null | sed '/^$/d; s/ *- *- *$//; s/  */ /g' | head -40 \
      > "$out/$name.$what.perf.txt" || true
  done
}

results=()
run() {  # tracing rate duration
  local tracing="$1" rate="$2" duration="$3" tag
  tag=$([[ "$tracing" == 1 ]] && echo traced || echo untraced)
  local name="$tag-$rate-$duration" vm
  # Measured on the idle machine, before the stack starts.
  vm="$(flowex_vm_speed "$repo" "$build")"
  [[ "$vm" == - ]] && vm="$(flowex_vm_speed "$repo" "$repo/build")"
  echo "$vm" > "$out/$name.vm"
  echo "e2e: $name (load average $(cut -d' ' -f1-3 /proc/loadavg), VM $vm M ops/s)" >&2
  start_stack "$name" "$tracing"
  cut -d' ' -f1-3 /proc/loadavg > "$out/$name.loadavg.before"
  local prof=""
  if [[ "$PROFILE" == 1 && "$tracing" == 1 && "$rate" == "$top" && "$duration" == "$DURATION" ]]; then
    profile "$name" & prof=$!
  fi
  if [[ "$WARMUP" != 0 && "$WARMUP" != 0s ]]; then
    # A fresh stack opens its connections and PostgreSQL backends load their catalogs on
    # first use: warm it at the same rate (its own users; its report is kept, not tabled).
    "$bin/flowex" load --gateway-url "$gateway" --wallet-url "$wallet" --rate "$rate" \
      --duration "$WARMUP" --users "$USERS" --connections "$CONNECTIONS" --json --quiet \
      > "$out/$name.warmup.json" 2>&1 || true
  fi
  "$bin/flowex" load --gateway-url "$gateway" --wallet-url "$wallet" --rate "$rate" \
    --duration "$duration" --users "$USERS" --connections "$CONNECTIONS" --json \
    --histogram "$out/$name.hist" > "$out/$name.json" 2> "$out/$name.progress" || true
  [[ -n "$prof" ]] && wait "$prof"
  cut -d' ' -f1-3 /proc/loadavg > "$out/$name.loadavg.after"
  # Arrivals the generator gave up on (--timeout) may still be in the services: let the
  # sagas finish (every trade settled, every finished order's reservation released — the
  # sweeper does what a request could not) before auditing, for at most two minutes.
  local waited=0 unsettled
  while (( waited < 120 )); do
    unsettled="$(psql "$database" -Atqc "SELECT (SELECT count(*) FROM trades WHERE settled_at IS NULL) + (SELECT count(*) FROM reservations r JOIN orders o ON o.order_id = r.order_id WHERE NOT r.released AND o.status IN ('FILLED', 'CANCELLED', 'REJECTED'))" 2>/dev/null || echo '?')"
    [[ "$unsettled" == 0 ]] && break
    sleep 1; waited=$((waited + 1))
  done
  echo "$waited" > "$out/$name.settle.seconds"
  if "$bin/flowex" audit --database-url "$database" > "$out/$name.audit" 2>&1; then
    echo pass > "$out/$name.audit.result"
  else
    echo FAIL > "$out/$name.audit.result"
  fi
  flowex_stop_stack
  rm -rf "$out/state-$name"
  results+=("$name")
}

top="$(tr ' ' '\n' <<<"$RATES" | sort -n | tail -1)"
# Alternate: each untraced run follows the traced run at the same rate.
for rate in $RATES; do
  run 1 "$rate" "$DURATION"
  if tr ' ' '\n' <<<"$UNTRACED_RATES" | grep -qx "$rate"; then run 0 "$rate" "$DURATION"; fi
done
[[ -n "$LONG_RATE" ]] && run 1 "$LONG_RATE" "$LONG_DURATION"

python3 - "$out" "${results[@]}" > "$out/summary.md" <<'PY'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
print("| run | tracing | rate/s | completed/s | ok/s | completed | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | settle s | audit | VM | load avg before → after |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
for n in names:
    try:
        r = json.load(open(f"{out}/{n}.json"))
    except Exception:
        print(f"| {n} | | | | | | | | | | | | | no report | | |"); continue
    a = r["routes"]["all"]
    audit = open(f"{out}/{n}.audit.result").read().strip()
    try:
        settle = open(f"{out}/{n}.settle.seconds").read().strip()
    except OSError:
        settle = "-"
    try:
        vm = open(f"{out}/{n}.vm").read().strip()
    except OSError:
        vm = "-"
    la0 = open(f"{out}/{n}.loadavg.before").read().strip()
    la1 = open(f"{out}/{n}.loadavg.after").read().strip()
    tracing = "off" if n.startswith("untraced") else "100 %"
    print(f"| {n} | {tracing} | {r['requested_rate']:.0f} | {r['achieved_rate']:.0f} | {r['ok'] / r['elapsed_s']:.0f} | {r['completed']} | "
          f"{r['errors']} ({100*r['error_rate']:.2f} %) | {a['p50_ms']:.2f} | {a['p90_ms']:.2f} | "
          f"{a['p99_ms']:.2f} | {a['p999_ms']:.2f} | {a['max_ms']:.1f} | {settle} | {audit} | {vm} | {la0} → {la1} |")
print()
print("VM: M ops/s of flowex-bench-matching just before the run (about 20 – 28 in the VM's fast "
      "mode, 7 – 10 in its slow one).")
print()
for n in names:
    try:
        r = json.load(open(f"{out}/{n}.json"))
    except Exception:
        continue
    if r["errors_by_code"]:
        print(f"- {n} errors: " + ", ".join(f"{k}: {v}" for k, v in r["errors_by_code"].items()))
print()
for n in names:
    for f in sorted(os.listdir(out)):
        if f.startswith(n + ".") and (f.endswith(".perf.txt") or f.endswith(".cpu.txt")):
            print(f"### {f}\n\n```")
            print(open(f"{out}/{f}").read().rstrip())
            print("```\n")
PY
rm -f "$out"/*.perf.data
echo "e2e: wrote $out/summary.md" >&2
cat "$out/summary.md"
