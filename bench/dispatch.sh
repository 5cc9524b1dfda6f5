#!/usr/bin/env bash
# bench/dispatch.sh BUILD_DIR: dispatch throughput (SPEC §12: 1 000
# one-stage runs over 8 agents, >= 500 runs/s). The agents are simulated
# (gantry-sim-agents --work: real protocol sessions whose fake executor
# accepts, ships one log line and finishes SUCCESS at once), so the figure is
# the controller's: store, schedule, assign, log commit, finish. The runs
# are started through POST /api/v1/runs first, while the agents are away
# (measured apart), then the agents connect and the clock runs until every
# run succeeded (GET /metrics). Baseline: the same 1 000 runs' creation rate.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${BENCH_DISPATCH_RUNS:-1000}
agents=${BENCH_DISPATCH_AGENTS:-8}
source "$(dirname "$0")/lib.sh"
bench_setup dispatch
cp "$build/controller/gantry-controller" "$build/tools/gantry-sim-agents" "$tmp/"
bench_controller --listen 127.0.0.1:0 --data "$tmp/data"
token=$(cat "$tmp/data/admin.token")
succeeded() {
  curl -s -H "Authorization: Bearer $token" "$server/metrics" |
    awk -F' ' '/^gantry_runs\{status="succeeded"\}/ { print $2 }'
}
pipeline="pipeline { agent { label 'simwork' }
  stages { stage('Build') { steps { echo 'built' } } } }"
create_s=$(printf '%s\n' "$pipeline" | "$tmp/gantry-sim-agents" trigger "$server" "$token" "$runs" bench)
start=$(date +%s%N)
"$tmp/gantry-sim-agents" "ws://${server#http://}" "$(cat "$tmp/data/agent.token")" "$agents" 600 --work \
  >"$tmp/sim.out" 2>&1 &
pids+=($!)
done_runs=0
for _ in $(seq 1 6000); do
  done_runs=$(succeeded)
  [ "${done_runs:-0}" -ge "$runs" ] && break
  sleep 0.02
done
secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
rate=$(awk -v n="$done_runs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')
create_rate=$(awk -v n="$runs" -v s="$create_s" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')
printf '%-56s %12s %14s %8s\n' figure measured baseline ratio
printf '%-56s %8s runs/s %8s runs/s %8s\n' "dispatch: $done_runs one-stage runs over $agents agents (target 500)" \
  "$rate" "$create_rate" "$(awk -v a="$rate" -v b="$create_rate" 'BEGIN { printf "%.2fx", (b > 0) ? a / b : 0 }')"
printf '%-56s %10s s\n' "time from the agents connecting to the last run's end" "$secs"
echo "(baseline: creating the same runs through POST /api/v1/runs, one after another)"
