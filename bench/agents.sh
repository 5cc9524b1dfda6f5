#!/usr/bin/env bash
# bench/agents.sh BUILD_DIR: idle agents held by one controller (SPEC §12:
# 10 000 in <= 200 MB RSS), with simulated agents (gantry-sim-agents: real
# protocol sessions, heartbeats at the controller's interval, fake executor).
#
# Measures the controller's RSS and CPU with no agent (the baseline), then
# with BENCH_AGENTS (10000) idle agents connected for BENCH_IDLE_SECONDS
# (10): RSS, RSS per agent, CPU while idle (share of one core), and how long
# they took to connect. Nothing is asserted. BENCH_QUICK=1: 4 s idle.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/lib.sh"
count=$(bench_knob BENCH_AGENTS 10000 10000)
idle=$(bench_knob BENCH_IDLE_SECONDS 10 4)
bench_setup agents
# One socket per agent in each process (the controller, the simulator), plus files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$((count + 1000))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  echo "agents.sh: open files limit $(ulimit -n) < $need; lowering to $(($(ulimit -n) - 1000)) agents" >&2
  count=$(($(ulimit -n) - 1000))
fi
cp "$build/controller/gantry-controller" "$build/tools/gantry-sim-agents" "$tmp/"
bench_controller --listen 127.0.0.1:0 --data "$tmp/data"
rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$cpid/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$cpid/stat"; }
hz=$(getconf CLK_TCK)
sleep 2
base_rss=$(rss)
t0=$(ticks)
sleep "$idle"
base_cpu=$(awk -v a="$t0" -v b="$(ticks)" -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }')

start=$(date +%s%N)
"$tmp/gantry-sim-agents" "ws://${server#http://}" "$(cat "$tmp/data/agent.token")" "$count" \
  $((idle + 3)) >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
for _ in $(seq 1 6000); do grep -q '^ready' "$tmp/sim.out" 2>/dev/null && break; sleep 0.02; done
connected=$(awk '/^ready/ { print $2 }' "$tmp/sim.out")
connect_s=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
sleep 1
t0=$(ticks)
sleep "$idle"
cpu=$(awk -v a="$t0" -v b="$(ticks)" -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }')
agents_rss=$(rss)
listed=$(curl -s -H "Authorization: Bearer $(cat "$tmp/data/admin.token")" "$server/api/v1/agents" |
  grep -o '"connected": *true' | wc -l)
per_agent=$(awk -v a="$agents_rss" -v b="$base_rss" -v n="$connected" 'BEGIN { printf "%.1f", (n > 0) ? (a - b) * 1024 / n : 0 }')
printf '%-52s %14s %14s\n' figure measured baseline
printf '%-52s %10s MiB %10s MiB\n' "controller RSS, $connected idle agents (target 200 MB)" "$agents_rss" "$base_rss"
printf '%-52s %10s KiB\n' "RSS per idle agent" "$per_agent"
printf '%-52s %12s %% %12s %%\n' "controller CPU while idle (of one core)" "$cpu" "$base_cpu"
printf '%-52s %12s s\n' "time for $count agents to connect (hello/welcome)" "$connect_s"
printf '%-52s %14s\n' "agents the API lists as connected" "$listed"
echo "(baseline: the same controller with no agent; agents heartbeat every 2 s)"
bench_row "controller RSS, $connected idle agents" "$agents_rss" MiB "<= 200" "$base_rss" \
  "the same controller with no agent"
bench_row "controller CPU, $connected idle agents" "$cpu" "% of a core" "" "$base_cpu" \
  "the same controller with no agent"
