#!/usr/bin/env bash
# Runs every benchmark in the build dir and prints their figures (`make bench`).
# See bench/README.md for what each figure means.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
echo "== bench_parse"
"$build/bench/bench_parse"
echo
echo "== daemons.sh (controller + agent on 127.0.0.1)"
bash "$here/daemons.sh" "$build"
echo
echo "== git_triggers.sh (webhook push to first step; idle polling)"
bash "$here/git_triggers.sh" "$build"
echo
echo "== gates.sh (GMUD approval -> deploy starts)"
bash "$here/gates.sh" "$build"
echo
echo "== fanout.sh (live events to 1 000 WebSocket watchers)"
bash "$here/fanout.sh" "$build"
echo
echo "== agents.sh (10 000 simulated idle agents)"
bash "$here/agents.sh" "$build"
echo
echo "== dispatch.sh (1 000 one-stage runs over 8 simulated agents)"
bash "$here/dispatch.sh" "$build"
