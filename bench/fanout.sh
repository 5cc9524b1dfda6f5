#!/usr/bin/env bash
# bench/fanout.sh BUILD_DIR: live fan-out of a run's log to WebSocket watchers
# (SPEC §12: 1 000 watchers, p99 <= 20 ms from agent output to watcher).
#
# One controller, one agent, a step that prints BENCH_FANOUT_RATE bytes/s
# (10 MB/s) for BENCH_FANOUT_SECONDS (5) as 100-byte lines stamped with the
# time they were written (bench_fanout emit); then the same at
# BENCH_FANOUT_RATE_LOW (100 KB/s; '' to skip, skipped under BENCH_QUICK=1). BENCH_FANOUT_WATCHERS (1000)
# clients of GET /api/v1/events (bench_fanout watch) take the latency of the
# oldest line in each log event they receive. The baseline is the same run
# watched by one client. Also the controller's CPU time and peak RSS during
# each run. Nothing is asserted. BENCH_QUICK=1: 1 MB/s for 3 s.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/lib.sh"
rate=$(bench_knob BENCH_FANOUT_RATE 10000000 1000000)
rate_low=$(bench_knob BENCH_FANOUT_RATE_LOW 100000 '')
secs=$(bench_knob BENCH_FANOUT_SECONDS 5 3)
watchers=$(bench_knob BENCH_FANOUT_WATCHERS 1000 1000)
bench_setup fanout
cp "$build/controller/gantry-controller" "$build/agent/gantry-agent" "$build/cli/gantry" \
  "$build/bench/bench_fanout" "$tmp/"
# More open files than the default 1024: a thousand sockets each side.
ulimit -n 8192 2>/dev/null || true
bench_controller --listen 127.0.0.1:0 --data "$tmp/data"
token=$(cat "$tmp/data/admin.token")
export GANTRY_SERVER=$server GANTRY_TOKEN=$token
"$tmp/gantry-agent" --controller "$server" --token-file "$tmp/data/agent.token" \
  --name a1 --work "$tmp/a1" >"$tmp/agent.log" 2>&1 &
pids+=($!)
mkdir -p "$tmp/repo" && cd "$tmp/repo"
git init -q -b main
rates=$rate
[[ -n $rate_low && $rate_low != "$rate" ]] && rates+=" $rate_low"
for r in $rates; do
  printf "pipeline { agent any\n  options { skipDefaultCheckout() }\n  stages { stage('Flood') { steps { sh '%s emit %s %s' } } } }\n" \
    "$tmp/bench_fanout" "$r" "$secs" >"Jenkinsfile.$r"
done
git add -A && git -c user.name=B -c user.email=b@example.com commit -qm bench
for _ in $(seq 1 250); do "$tmp/gantry" agents | grep -q connected && break; sleep 0.04; done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$cpid/stat"; }
# One measured run at $2 bytes/s watched by $1 clients: prints the watcher's
# figures, then the controller's CPU seconds and peak RSS (MiB).
measure() {
  local n=$1 out="$tmp/watch.$1.$2"
  "$tmp/bench_fanout" watch "ws://${server#http://}" "$token" "$n" $((secs * 6 + 30)) >"$out" &
  local wpid=$!
  for _ in $(seq 1 1500); do grep -q '^ready' "$out" 2>/dev/null && break; sleep 0.02; done
  local t0 c0
  t0=$(cpu_ticks)
  id=$("$tmp/gantry" trigger --repo "$tmp/repo" --file "Jenkinsfile.$2")
  "$tmp/gantry" wait "$id" >/dev/null || true
  wait "$wpid" || true
  c0=$(cpu_ticks)
  echo "$(tail -1 "$out") $(awk -v a="$t0" -v b="$c0" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }') $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$cpid/status")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
for r in $rates; do
  read -r b_n b_ev b_bytes b50 b99 bmax b_slow b_inc b_cpu b_rss <<<"$(measure 1 "$r")"
  read -r n ev bytes p50 p99 pmax slow inc cpu rss <<<"$(measure "$watchers" "$r")"
  echo "-- step: $r bytes/s for $secs s as 100-byte stamped lines; baseline: the same run, 1 watcher"
  printf '%-58s %12s %12s %8s\n' figure measured baseline ratio
  printf '%-58s %9s ms %9s ms %8s\n' "log line written -> watcher, p50 ($n watchers)" "$p50" "$b50" "$(ratio "$p50" "$b50")"
  printf '%-58s %9s ms %9s ms %8s\n' "log line written -> watcher, p99 (target 20 ms)" "$p99" "$b99" "$(ratio "$p99" "$b99")"
  printf '%-58s %9s ms %9s ms\n' "log line written -> watcher, max" "$pmax" "$bmax"
  printf '%-58s %12s %12s\n' "log events received (all watchers)" "$ev" "$b_ev"
  printf '%-58s %12s %12s\n' "watchers closed as too slow (4008) / incomplete" "$slow / $inc" "$b_slow / $b_inc"
  printf '%-58s %10s s %10s s %8s\n' "controller CPU during the run" "$cpu" "$b_cpu" "$(ratio "$cpu" "$b_cpu")"
  printf '%-58s %8s MiB %8s MiB\n' "controller peak RSS so far (VmHWM, after the run)" "$rss" "$b_rss"
  bench_row "live log -> $n WebSocket watchers, p50 ($((r / 1000)) KB/s)" "$p50" ms "" "$b50" \
    "the same run with 1 watcher, p50"
  bench_row "live log -> $n WebSocket watchers, p99 ($((r / 1000)) KB/s)" "$p99" ms "<= 20" "$b99" \
    "the same run with 1 watcher, p99"
done
