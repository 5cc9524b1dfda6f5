#!/usr/bin/env bash
# bench/dispatch.sh BUILD_DIR: dispatch throughput and latency, with
# simulated agents (gantry-sim-agents --work: real protocol sessions whose
# fake executor accepts, ships one log line and finishes SUCCESS at once), so
# the figures are the controller's.
#
#   1. throughput (SPEC §12: 1 000 one-stage runs over 8 agents, >= 500
#      runs/s): the runs are started through POST /api/v1/runs first, while
#      the agents are away (measured apart), then the agents connect and the
#      clock runs until every run succeeded (GET /metrics): store, schedule,
#      assign, log commit, finish. Baseline: the same runs' creation rate.
#   2. latency, one job at a time (research/agent-protocol.md §6.10 G7:
#      runnable -> assign p50 < 20 ms, p99 < 100 ms, with 1 000 idle sim
#      agents): BENCH_G7_RUNS (100) one-stage runs posted one after another
#      to BENCH_G7_AGENTS (1000) connected agents, all idle but the one that
#      gets the job. From each run's record (GET /api/v1/runs/ID, the
#      controller's clock, ms): created_at -> the stage's started_at, set when
#      the assignment is made (before its write-ahead commit and the send),
#      and created_at -> the stage's finished_at (assign sent, received,
#      accepted, one log chunk committed, finish applied): the time the agent
#      receives the assign lies between the two. Baseline: the same with the
#      8 agents of part 1.
# Nothing is asserted. BENCH_QUICK=1: 30 latency runs.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/lib.sh"
runs=$(bench_knob BENCH_DISPATCH_RUNS 1000 1000)
agents=$(bench_knob BENCH_DISPATCH_AGENTS 8 8)
lat_runs=$(bench_knob BENCH_G7_RUNS 100 30)
lat_agents=$(bench_knob BENCH_G7_AGENTS 1000 1000)
bench_setup dispatch
bench_buildbot   # bb_dispatch: its fanout, one-step builds/s
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cp "$build/controller/gantry-controller" "$build/tools/gantry-sim-agents" "$tmp/"
bench_controller --listen 127.0.0.1:0 --data "$tmp/data"
token=$(cat "$tmp/data/admin.token")
succeeded() {
  curl -s -H "Authorization: Bearer $token" "$server/metrics" |
    awk -F' ' '/^gantry_runs\{status="succeeded"\}/ { print $2 }'
}
# sim_agents COUNT: starts COUNT working sim agents, waits until they are
# welcomed; sets $sim.
sim_agents() {
  "$tmp/gantry-sim-agents" "ws://${server#http://}" "$(cat "$tmp/data/agent.token")" "$1" 600 --work \
    >"$tmp/sim.$1.out" 2>&1 &
  sim=$!
  pids+=("$sim")
}
sim_ready() {
  for _ in $(seq 1 3000); do grep -q '^ready' "$tmp/sim.$1.out" 2>/dev/null && return 0; sleep 0.02; done
  echo "dispatch.sh: $1 sim agents did not connect" >&2
  return 1
}
pipeline="pipeline { agent { label 'simwork' }
  stages { stage('Build') { steps { echo 'built' } } } }"

# ------------------------------------------------ 1. throughput
create_s=$(printf '%s\n' "$pipeline" | "$tmp/gantry-sim-agents" trigger "$server" "$token" "$runs" bench)
start=$(date +%s%N)
sim_agents "$agents"
done_runs=0
for _ in $(seq 1 6000); do
  done_runs=$(succeeded)
  [ "${done_runs:-0}" -ge "$runs" ] && break
  sleep 0.02
done
secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
rate=$(awk -v n="$done_runs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')
create_rate=$(awk -v n="$runs" -v s="$create_s" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')

# ------------------------------------------------ 2. latency, one job at a time
body=$(printf '%s' "$pipeline" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{ printf "%s\\n", $0 }')
body="{\"source\":\"$body\",\"format\":\"jenkinsfile\",\"job\":\"g7\"}"
api() { curl -fsS -H "Authorization: Bearer $token" "$@"; }
# latency_series FILE: $lat_runs runs one after another (each posted once the
# previous one ended); FILE gets "assigned_ms finished_ms" per run.
latency_series() {
  local id j st c s f
  : >"$1"
  for _ in $(seq 1 "$lat_runs"); do
    id=$(api -H 'Content-Type: application/json' --data "$body" "$server/api/v1/runs" |
      sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
    [[ -n $id ]] || { echo "dispatch.sh: POST /api/v1/runs gave no id" >&2; return 1; }
    for _ in $(seq 1 500); do
      j=$(api "$server/api/v1/runs/$id")
      [[ $j == *'"status":"succeeded"'* ]] && break
      sleep 0.01
    done
    # The stage's fields: the one object of the "stages" array.
    st=${j#*\"stages\":\[}
    st=${st%%\]*}
    c=$(sed -n 's/.*"created_at":\([0-9]*\).*/\1/p' <<<"$j")
    s=$(sed -n 's/.*"started_at":\([0-9]*\).*/\1/p' <<<"$st")
    f=$(sed -n 's/.*"finished_at":\([0-9]*\).*/\1/p' <<<"$st")
    [[ -n $c && -n $s && -n $f ]] || { echo "dispatch.sh: run $id has no stage times" >&2; return 1; }
    echo "$((s - c)) $((f - c))" >>"$1"
  done
}
# pct FILE COLUMN P: nearest-rank percentile.
pct() {
  awk -v k="$2" '{ print $k }' "$1" | sort -g |
    awk -v p="$3" '{ v[NR] = $1 } END { i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; print v[i] }'
}
sim_ready "$agents"
latency_series "$tmp/lat.base"
kill "$sim" 2>/dev/null || true
wait "$sim" 2>/dev/null || true
sim_agents "$lat_agents"
sim_ready "$lat_agents"
sleep 1
latency_series "$tmp/lat.many"
la50=$(pct "$tmp/lat.many" 1 50) la99=$(pct "$tmp/lat.many" 1 99)
lf50=$(pct "$tmp/lat.many" 2 50) lf99=$(pct "$tmp/lat.many" 2 99)
ba50=$(pct "$tmp/lat.base" 1 50) ba99=$(pct "$tmp/lat.base" 1 99)
bf50=$(pct "$tmp/lat.base" 2 50) bf99=$(pct "$tmp/lat.base" 2 99)

printf '%-60s %12s %14s %8s\n' figure measured baseline ratio
printf '%-60s %6s runs/s %8s runs/s %8s\n' "dispatch: $done_runs one-stage runs over $agents agents (target 500)" \
  "$rate" "$create_rate" "$(awk -v a="$rate" -v b="$create_rate" 'BEGIN { printf "%.2fx", (b > 0) ? a / b : 0 }')"
printf '%-60s %10s s\n' "time from the agents connecting to the last run's end" "$secs"
printf '%-60s %9s ms %11s ms\n' "runnable -> assigned, p50 ($lat_runs runs, $lat_agents agents)" "$la50" "$ba50"
printf '%-60s %9s ms %11s ms\n' "runnable -> assigned, p99 (G7 target < 100 ms)" "$la99" "$ba99"
printf '%-60s %9s ms %11s ms\n' "runnable -> stage finished (bound of assign received), p50" "$lf50" "$bf50"
printf '%-60s %9s ms %11s ms\n' "runnable -> stage finished, p99" "$lf99" "$bf99"
echo "(throughput baseline: creating the same runs through POST /api/v1/runs, one after another;"
echo " latency baseline: the same one-at-a-time runs with the $agents agents; controller clock, 1 ms steps)"

bench_row "dispatch, $done_runs one-stage runs over $agents agents" "$rate" runs/s ">= 500" \
  "$create_rate" "creating the same runs via POST /api/v1/runs" "${bb_dispatch:-}"
bench_row "G7 runnable -> assigned, p50, $lat_agents agents" "$la50" ms "< 20" "$ba50" "the same with $agents agents"
bench_row "G7 runnable -> assigned, p99" "$la99" ms "< 100" "$ba99" "the same with $agents agents"
bench_row "G7 runnable -> stage finished (bound), p50" "$lf50" ms "< 20" "$bf50" "the same with $agents agents"
bench_row "G7 runnable -> stage finished (bound), p99" "$lf99" ms "< 100" "$bf99" "the same with $agents agents"
