#!/usr/bin/env bash
# bench/e2e/side_by_side.sh — two whole stacks at once, under the same load at the same
# moments: CPU per request of each and their ratio, drift-free, and each route's p50/p99.
#
#   bench/e2e/side_by_side.sh [REPO [BUILD_DIR [BASELINE_BUILD_DIR]]]
#
# This VM's speed changes by a factor of two within seconds, so runs one after the other
# (tracing_cost.sh, cpu_per_request.sh) disagree by more than the differences they look for.
# Two stacks running side by side share every slow and fast second, so the ratio of their CPU
# per request holds. Both stacks are REPO/scripts/up --no-demo (ports from 18400 and from
# 18600, fresh state directories); each gets its own `flowex load` at RATE [150]/s for
# DURATION [20s] with USERS [20], together well below the machine's saturation.
#
# Without BASELINE_BUILD_DIR, stack A traces 100 % (the collector storing every span) and
# stack B runs with OTEL_SDK_DISABLED=true: B/A is the share of the untraced throughput that
# tracing leaves when CPU is the limit, so tracing's cost is 1 − B/A. With it, both stacks
# trace and B runs BASELINE_BUILD_DIR's binaries: A/B compares two builds. With B_SQL (and no
# BASELINE_BUILD_DIR), both stacks trace and run the same binaries, and B_SQL is run on stack
# B's database (psql, as postgres) once it is up: A/B compares a schema or setting change
# (e.g. B_SQL='ALTER TABLE orders DROP CONSTRAINT orders_side_check').
# ROUNDS [3] rounds; the two stacks swap port ranges and start order every round. Both loads
# prepare their users first, then start their clocks together (flowex load --start-file). With
# WARMUP (e.g. 5s; default none) both stacks first get that much load at RATE, together, so
# p50/p99 are not a cold stack's first seconds (see cold_start.sh). CPU
# is user + system time (from /proc) from then to each load's end, of every process of a stack:
# the services and the collector (scripts/up's descendants), Redis and PostgreSQL (all
# backends, found by their ports).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
repo="$(cd "${1:-$here}" && pwd)"
build="$(cd "${2:-$repo/build}" && pwd)"
baseline="${3:-}"
[[ -n "$baseline" ]] && baseline="$(cd "$baseline" && pwd)"
load_bin="$here/build/bin/flowex"
[[ -x "$load_bin" ]] || { echo "side_by_side: $load_bin is not built" >&2; exit 2; }
RATE="${RATE:-150}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-}"
USERS="${USERS:-20}"
ROUNDS="${ROUNDS:-3}"
B_SQL="${B_SQL:-}"
[[ -n "$B_SQL" && -n "$baseline" ]] && { echo "side_by_side: B_SQL or BASELINE_BUILD_DIR, not both" >&2; exit 2; }

# shellcheck source=stack_env.sh
source "$here/bench/e2e/stack_env.sh"
flowex_require_count side_by_side ROUNDS
work="$(mktemp -d /tmp/flowex-side.XXXXXX)"
declare -A up_pid=() state_dir=() redis_port=() pg_port=() token=() gw_port=() wallet_port=() redis_pid=() pg_pid=()
declare -A load_pid=()
stop_all() {
  local s
  for s in "${!up_pid[@]}"; do
    FLOWEX_UP_PID="${up_pid[$s]}" FLOWEX_STACK_STATE="${state_dir[$s]}" FLOWEX_REDIS_PORT="${redis_port[$s]}" \
      flowex_stop_stack
    unset "up_pid[$s]"
  done
}
cleanup() {
  local s
  # A load still waiting for the start file (the script failed before creating it) or running.
  for s in "${!load_pid[@]}"; do
    kill "${load_pid[$s]}" 2>/dev/null || true
    wait "${load_pid[$s]}" 2>/dev/null || true
  done
  stop_all
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # name port_base tracing build
  local name="$1" base="$2" tracing="$3" b="$4"
  flowex_stack_env "$base"
  flowex_start_stack "$repo" "$b" "$work/$name/state" "$work/$name/up.log" "$tracing"
  up_pid[$name]="$FLOWEX_UP_PID"
  state_dir[$name]="$FLOWEX_STACK_STATE"
  redis_port[$name]="$FLOWEX_REDIS_PORT"
  pg_port[$name]="$FLOWEX_PG_PORT"
  token[$name]="$FLOWEX_INTERNAL_TOKEN"
  gw_port[$name]="$FLOWEX_GATEWAY_PORT"
  wallet_port[$name]="$FLOWEX_WALLET_SERVICE_PORT"
  redis_pid[$name]="$(ss -Hltnp "sport = :$FLOWEX_REDIS_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
  pg_pid[$name]="$(ss -Hltnp "sport = :$FLOWEX_PG_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
}

descendants() {  # pid → it and all its descendants (one ps call: this runs while the clock runs)
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { q[1] = root; n = 1
          for (i = 1; i <= n; i++) { m = split(kids[q[i]], c, " "); for (k = 1; k <= m; k++) q[++n] = c[k] }
          for (i = 1; i <= n; i++) print q[i] }'
}

stat_by_name() {  # fields -- pids → "name ticks" per process name (the sum of those stat fields)
  local fields="$1"
  shift
  (( $# )) || return 0
  (cd /proc && cat "${@/%//stat}" 2>/dev/null || true) | awk -v f="$fields" '
    BEGIN { n = split(f, F, ",") }
    { name = $2; gsub(/[()]/, "", name); for (k = 1; k <= n; k++) s[name] += $F[k] }
    END { for (x in s) print x, s[x] }'
}

ticks() {  # name → "process-name ticks" lines: CPU of the whole stack so far
  local name="$1" pids pg=()
  local redis="${redis_pid[$name]}"
  mapfile -t pids < <(descendants "${up_pid[$name]}")
  # Redis is a descendant unless it daemonized; count it once.
  [[ -n "$redis" ]] && ! printf '%s\n' "${pids[@]}" | grep -qx "$redis" && pids+=("$redis")
  [[ -n "${pg_pid[$name]}" ]] && mapfile -t pg < <(descendants "${pg_pid[$name]}")
  stat_by_name 14,15 "${pids[@]}"
  # PostgreSQL's backends come and go: the postmaster's children-waited-for times too.
  stat_by_name 14,15,16,17 "${pg[@]}" | awk '{s += $2} END {print "postgresql", s + 0}'
}

ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
  base_a=18400 base_b=18600
  (( r % 2 == 0 )) && { base_a=18600; base_b=18400; }
  if [[ -n "$B_SQL" ]]; then
    trace_b=1 build_b="$build" desc_a="as built" desc_b="after B_SQL"
  elif [[ -z "$baseline" ]]; then
    trace_b=0 build_b="$build" desc_a="traced" desc_b="untraced (OTEL_SDK_DISABLED=true)"
  else
    trace_b=1 build_b="$baseline" desc_a="$build" desc_b="$baseline"
  fi
  if (( r % 2 )); then
    start A "$base_a" 1 "$build"
    start B "$base_b" "$trace_b" "$build_b"
  else
    start B "$base_b" "$trace_b" "$build_b"
    start A "$base_a" 1 "$build"
  fi
  if [[ -n "$B_SQL" ]]; then
    psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${pg_port[B]}" -U postgres -d stockexchange \
      -c "$B_SQL" > /dev/null || { echo "side_by_side: B_SQL failed" >&2; exit 1; }
  fi
  if [[ -n "$WARMUP" ]]; then
    for s in A B; do
      FLOWEX_INTERNAL_TOKEN="${token[$s]}" "$load_bin" load --gateway-url "http://127.0.0.1:${gw_port[$s]}" \
        --wallet-url "http://127.0.0.1:${wallet_port[$s]}" --rate "$RATE" --duration "$WARMUP" \
        --users "$USERS" --quiet > /dev/null 2>&1 &
      load_pid[$s]=$!
    done
    for s in A B; do wait "${load_pid[$s]}" || { echo "side_by_side: the warm-up of $s failed" >&2; exit 1; }; done
    load_pid=()
  fi
  # Both loads prepare their users, then wait for the start file: their clocks start together,
  # right after each stack's CPU so far is read.
  rm -f "$work/start"
  load_pid=()
  for s in A B; do
    FLOWEX_INTERNAL_TOKEN="${token[$s]}" "$load_bin" load --gateway-url "http://127.0.0.1:${gw_port[$s]}" \
      --wallet-url "http://127.0.0.1:${wallet_port[$s]}" --rate "$RATE" --duration "$DURATION" \
      --users "$USERS" --start-file "$work/start" --json > "$work/load.$s.json" 2> "$work/load.$s.progress" &
    load_pid[$s]=$!
  done
  for s in A B; do
    until grep -q 'waiting for' "$work/load.$s.progress" 2>/dev/null; do
      flowex_alive "${load_pid[$s]}" || { cat "$work/load.$s.progress" >&2; exit 1; }
      sleep 0.05
    done
  done
  for s in A B; do ticks "$s" > "$work/before.$s"; done
  touch "$work/start"
  # Each stack's "after" right when its own load ends.
  left=("${load_pid[A]}" "${load_pid[B]}")
  while (( ${#left[@]} )); do
    finished=""
    wait -n -p finished "${left[@]}" || true
    for s in A B; do
      [[ "${load_pid[$s]}" == "$finished" ]] && ticks "$s" > "$work/after.$s"
    done
    mapfile -t left < <(printf '%s\n' "${left[@]}" | grep -vx "$finished")
  done
  load_pid=()  # reaped: nothing for cleanup to kill
  line="$(python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
out = []
for name in ("A", "B"):
    def load(kind):
        d = {}
        for l in open(f"{work}/{kind}.{name}"):
            k, v = l.split()
            d[k] = d.get(k, 0) + int(v)
        return d
    before, after = load("before"), load("after")
    rep = json.load(open(f"{work}/load.{name}.json"))
    n = max(1, rep["completed"])
    per = {k: (after[k] - before.get(k, 0)) * 10.0 / n for k in after}
    groups = {}
    for k, v in per.items():
        g = "scripts" if k in ("bash", "tee", "mawk", "perl", "sleep", "cat") else k
        groups[g] = groups.get(g, 0) + v
    a = rep["routes"]["all"]
    detail = ",".join(f"{g}={v:.2f}" for g, v in sorted(groups.items()))
    routes = ",".join(f"{k}={v['p50_ms']:.2f}/{v['p99_ms']:.2f}"
                      for k, v in rep["routes"].items() if k != "all")
    out.append((sum(per.values()), rep["completed"], rep["errors"], a["p50_ms"], a["p99_ms"], detail, routes))
(ca, na, ea, p50a, p99a, da, ra), (cb, nb, eb, p50b, p99b, db, rb) = out
print(f"{ca:.3f} {cb:.3f} {cb / ca:.4f} {na} {ea} {p50a:.2f} {p99a:.2f} {nb} {eb} {p50b:.2f} {p99b:.2f} {da} {db} {ra} {rb}")
PY
)"
  read -r cpu_a cpu_b ratio n_a e_a p50_a p99_a n_b e_b p50_b p99_b detail_a detail_b routes_a routes_b <<< "$line"
  stop_all
  echo "round $r ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)):"
  echo "  A $desc_a: $cpu_a ms CPU per request, $n_a completed, $e_a errors, p50 $p50_a ms, p99 $p99_a ms"
  echo "      ${detail_a//,/, }"
  echo "      p50/p99 ms: ${routes_a//,/, }"
  echo "  B $desc_b: $cpu_b ms CPU per request, $n_b completed, $e_b errors, p50 $p50_b ms, p99 $p99_b ms"
  echo "      ${detail_b//,/, }"
  echo "      p50/p99 ms: ${routes_b//,/, }"
  echo "  B/A $ratio"
  ratios+=("$ratio")
done
median="$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')"
echo "median B/A of ${#ratios[@]} rounds: $median"
if [[ -z "$baseline" && -z "$B_SQL" ]]; then
  awk -v m="$median" 'BEGIN {printf "a traced request takes %.1f %% more CPU; tracing costs %.1f %% of the throughput where CPU is the limit (1 - B/A)\n", (1 / m - 1) * 100, (1 - m) * 100}'
fi
