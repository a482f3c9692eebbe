#!/usr/bin/env bash
# bench/run-all.sh BUILD_DIR — the benchmarks recorded in docs/benchmarks.md, one after the
# other (run on a quiet machine: `uptime` load well under 1). Each prints its own table.
set -euo pipefail
build="${1:-build}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
echo "== matching (libs/matching)";  "$build/bin/flowex-bench-matching" --repeat 3
echo "== http vs nginx (libs/http)"; "$here/http/compare_nginx.sh" "$build"
echo "== one hop between two processes (the machine's floor under every call)"
"$build/bin/flowex-bench-hop"; "$build/bin/flowex-bench-hop" --unix
echo "== telemetry SDK"
# One CPU at real-time priority, where the span loop drops nothing (docs/benchmarks.md); an
# ordinary caller on one CPU is not preempted by its woken worker, so without chrt run it as is.
if chrt -f 50 true 2>/dev/null; then pin=(taskset -c 1 chrt -f 50); else pin=(); fi
"${pin[@]}" "$build/bin/flowex-bench-telemetry" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
echo "== collector ingest/query";    "$build/bin/flowex-bench-collector"
echo "== collector over HTTP, the exchange's traffic (pinned, CPU per span)"
taskset -c 0 "$build/bin/flowex-bench-collector-http" --collector "$build/bin/flowex-collector" --collector-cpu 1
