#!/usr/bin/env bash
# bench/e2e/slow_seconds.sh — which seconds of a run the slow orders fall in, and what else
# happened in those seconds.
#
#   bench/e2e/slow_seconds.sh [BUILD_DIR]     (default: this repository's build/)
#
# Starts the stack as `make up` does (scripts/up --no-demo, 100 % sampling, a fresh state
# directory, ports from PORT_BASE [18800]), has PostgreSQL log every autovacuum run, samples
# the machine's disk writes every 250 ms, drives it with `flowex load` at RATE [500]/s for
# DURATION [60s], then prints, for every second in which at least MIN_SLOW [3] orders took
# longer than SLOW [25ms] (the collector's trace summaries of `POST /v1/order`, by start), or
# the disk wrote more than DISK_MB [40] MB, or autovacuum spent 10 ms of CPU or more: the slow
# orders, the MB written, and each autovacuum run with its CPU. Tail latency that comes in
# bursts has a cause that keeps time; this lines the bursts up with the usual suspects.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
build="$(cd "${1:-$here/build}" && pwd)"
load_bin="$here/build/bin/flowex"
[[ -x "$load_bin" ]] || { echo "slow_seconds: $load_bin is not built" >&2; exit 2; }
RATE="${RATE:-500}" DURATION="${DURATION:-60s}" SLOW="${SLOW:-25ms}"
MIN_SLOW="${MIN_SLOW:-3}" DISK_MB="${DISK_MB:-40}"
base="${PORT_BASE:-18800}"

# shellcheck source=stack_env.sh
source "$here/bench/e2e/stack_env.sh"
flowex_require_count slow_seconds MIN_SLOW
work="$(mktemp -d /tmp/flowex-slow-seconds.XXXXXX)"
sampler=""
cleanup() {
  [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
  flowex_stop_stack
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

flowex_stack_env "$base"
flowex_start_stack "$here" "$build" "$work/state" "$work/up.log" 1
psql -qAtX -h 127.0.0.1 -p "$FLOWEX_PG_PORT" -U postgres stockexchange \
  -c "ALTER SYSTEM SET log_autovacuum_min_duration = 0" -c "SELECT pg_reload_conf()" > /dev/null
python3 "$here/bench/e2e/disk_writes.py" "$work/disk.txt" &
sampler=$!
start_us=$(($(date +%s%N) / 1000))
FLOWEX_INTERNAL_TOKEN="$FLOWEX_INTERNAL_TOKEN" "$load_bin" load \
  --gateway-url "http://127.0.0.1:$FLOWEX_GATEWAY_PORT" \
  --wallet-url "http://127.0.0.1:$FLOWEX_WALLET_SERVICE_PORT" --users 20 --quiet \
  --rate "$RATE" --duration "$DURATION" --json > "$work/load.json"
end_us=$(($(date +%s%N) / 1000))
kill "$sampler"
wait "$sampler" 2>/dev/null || true
sampler=""
# The collector answers at most 1,500 traces a search: ask five seconds at a time.
: > "$work/slow.txt"
for ((from = start_us; from < end_us; from += 5000000)); do
  curl -sf -G "http://127.0.0.1:$FLOWEX_VIEWER_PORT/api/trace-summaries" \
    --data-urlencode "service=client-gateway" --data-urlencode "operation=POST /v1/order" \
    --data-urlencode "minDuration=$SLOW" --data-urlencode "limit=1500" \
    --data-urlencode "start=$from" --data-urlencode "end=$((from + 5000000))" |
    python3 -c 'import json, sys; [print(t["startTime"]) for t in json.load(sys.stdin)["data"] or []]' \
    >> "$work/slow.txt"
done
# scripts/up keeps PostgreSQL's data under /var/tmp when the postgres user cannot reach ours.
pg_log="$FLOWEX_STACK_STATE/pg/server.log"
[[ -f "$pg_log" ]] || pg_log="/var/tmp/flowex-$(echo "$FLOWEX_STACK_STATE" | md5sum | cut -c1-8)/pg/server.log"
python3 - "$work" "$pg_log" "$RATE" "$DURATION" "$SLOW" "$MIN_SLOW" "$DISK_MB" <<'PY'
import collections, datetime, json, re, sys
work, pg_log, rate, duration, slow, min_slow, disk_mb = sys.argv[1:8]
rep = json.load(open(f"{work}/load.json"))
a = rep["routes"]["all"]
slow_at = collections.Counter(int(int(x) / 1e6) for x in open(f"{work}/slow.txt").read().split())
disk, last = collections.Counter(), None
for line in open(f"{work}/disk.txt"):
    t, sectors = line.split()
    if last is not None:
        disk[int(float(t))] += (int(sectors) - last) * 512 / 1e6
    last = int(sectors)
vac = collections.defaultdict(list)
what = None
for line in open(pg_log):
    m = re.match(r"(\S+ \S+) UTC .*automatic (vacuum|analyze) of table \"[^\"]*?\.?(\w+)\"", line)
    if m:
        at = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
        what = (int(at.replace(tzinfo=datetime.timezone.utc).timestamp()), f"{m.group(2)} {m.group(3)}")
        continue
    m = re.search(r"system usage: CPU: user: ([\d.]+) s, system: ([\d.]+) s", line)
    if m and what:
        cpu = float(m.group(1)) + float(m.group(2))
        if cpu >= 0.01:
            vac[what[0]].append(f"{what[1]} {cpu:.2f} s")
        what = None
print(f"{rate}/s for {duration}: {rep['completed']} completed, {rep['errors']} errors, "
      f"p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms, max {a['max_ms']:.1f} ms; "
      f"{sum(slow_at.values())} orders over {slow}")
print("second (UTC)  orders over " + slow + "  disk MB  autovacuum (CPU)")
seconds = sorted(set(disk) | set(slow_at))
for s in seconds:
    if slow_at[s] >= int(min_slow) or disk[s] > float(disk_mb) or vac.get(s):
        stamp = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%H:%M:%S")
        print(f"{stamp}      {slow_at[s]:>8}  {disk[s]:>7.1f}  {', '.join(vac.get(s, []))}")
PY
