#!/usr/bin/env bash
# The brief's ./trace_demo.sh: generates traces to watch. The work is in scripts/trace_demo.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/scripts/trace_demo.sh" "$@"
