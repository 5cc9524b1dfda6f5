#!/usr/bin/env bash
# bench/soak.sh BUILD_DIR: the load soak (`make soak`; issue 9, item 4).
#
# The real daemons on 127.0.0.1: one gantry-controller and SOAK_AGENTS (20)
# gantry-agents with SOAK_EXECUTORS (5) executors each, in a temp dir,
# stopped and removed on exit (also on Ctrl-C or an error). bench_soak
# (bench/soak_driver.cpp) keeps SOAK_RUNS (100) runs in flight for
# SOAK_SECONDS (600), watched by SOAK_WATCHERS (200) WebSocket clients of
# /api/v1/events, and checks every run's result, every stage's log (REST and
# rebuilt from the events) and that no watcher missed an event id. This
# script samples the daemons' RSS every SOAK_RSS_EVERY (5) seconds, and at
# the end checks the daemon logs for level=error lines, that every daemon is
# still up, and that RSS is flat after the warm-up: the mean of the last
# third of the samples may exceed the mean of the middle third by at most
# SOAK_RSS_GROWTH (10) percent, for the controller and for the agents
# (their sum and each one). Exits 1 on any failure, saying which.
#
# Env: SOAK_SECONDS (600), SOAK_RUNS (100), SOAK_AGENTS (20), SOAK_WATCHERS
# (200), SOAK_EXECUTORS (5), SOAK_STAGE_SECONDS (4: a stage's mean sleep),
# SOAK_DRAIN (180: seconds the last runs get to end), SOAK_RSS_EVERY (5),
# SOAK_RSS_GROWTH (10), SOAK_KEEP=1 (keep the temp dir and its logs),
# BENCH_TMPDIR (/tmp).
set -euo pipefail
export LC_ALL=C
build=$(cd "${1:-build}" && pwd)
secs=${SOAK_SECONDS:-600}
runs=${SOAK_RUNS:-100}
agents=${SOAK_AGENTS:-20}
watchers=${SOAK_WATCHERS:-200}
executors=${SOAK_EXECUTORS:-5}
drain=${SOAK_DRAIN:-180}
every=${SOAK_RSS_EVERY:-5}
growth=${SOAK_RSS_GROWTH:-10}
for b in controller/gantry-controller agent/gantry-agent cli/gantry bench/bench_soak; do
  [[ -x $build/$b ]] || { echo "soak.sh: $build/$b not built" >&2; exit 2; }
done
source "$(dirname "$0")/lib.sh"
bench_setup soak
if [[ ${SOAK_KEEP:-} == 1 ]]; then
  trap 'bench_cleanup_kept' EXIT
  bench_cleanup_kept() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp/data/logs" "$tmp"/a*/
    echo "soak.sh: kept $tmp" >&2
  }
fi
trap 'exit 130' INT TERM
cp "$build/controller/gantry-controller" "$build/agent/gantry-agent" "$build/cli/gantry" \
  "$build/bench/bench_soak" "$tmp/"
ulimit -n 8192 2>/dev/null || true
say() { printf '# %s\n' "$*" >&2; }

say "temp dir $tmp; $agents agents x $executors executors, $runs runs in flight, $watchers watchers, ${secs}s"
bench_controller --listen 127.0.0.1:0 --data "$tmp/data"
[[ -n $server ]] || { echo "soak.sh: the controller did not start" >&2; cat "$tmp/controller.log" >&2; exit 1; }
token=$(cat "$tmp/data/admin.token")
export GANTRY_SERVER=$server GANTRY_TOKEN=$token
agent_pids=()
for i in $(seq 1 "$agents"); do
  "$tmp/gantry-agent" --controller "$server" --token "$(cat "$tmp/data/agent.token")" \
    --name "soak-$i" --executors "$executors" --work "$tmp/a$i" >"$tmp/agent-$i.log" 2>&1 &
  pids+=($!)
  agent_pids+=($!)
done
for _ in $(seq 1 300); do
  n=$("$tmp/gantry" agents --json 2>/dev/null | { grep -o '"connected":true' || true; } | wc -l)
  ((n >= agents)) && break
  sleep 0.1
done
((n >= agents)) || { echo "soak.sh: only $n of $agents agents connected" >&2; exit 1; }

# RSS every $every s: seconds since start, controller, each agent (KiB).
rss_of() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
(
  t0=$(date +%s)
  while :; do
    line="$(($(date +%s) - t0)) $(rss_of "$cpid")"
    for p in "${agent_pids[@]}"; do line+=" $(rss_of "$p")"; done
    echo "$line"
    sleep "$every"
  done
) >"$tmp/rss.samples" &
pids+=($!)

"$tmp/bench_soak" "$server" "$token" "$runs" "$watchers" "$secs" "$drain" \
  >"$tmp/driver.out" 2> >(tee "$tmp/driver.err" >&2) &
driver=$!
pids+=("$driver")
driver_rc=0
wait "$driver" || driver_rc=$?
sleep "$every"  # one more RSS sample, after the drain

# ---------------------------------------------------------------- checks
fails=()
fig() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/driver.out"; }
((driver_rc == 0)) || fails+=("the driver found $(fig failures) failures (exit $driver_rc): see below")
alive=0
for p in "$cpid" "${agent_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
((alive == agents + 1)) || fails+=("only $alive of $((agents + 1)) daemons are still running")
errors=$(cat "$tmp/controller.log" "$tmp"/agent-*.log | grep -c 'level=error' || true)
warns=$(cat "$tmp/controller.log" "$tmp"/agent-*.log | grep -c 'level=warn' || true)
((errors == 0)) || fails+=("$errors level=error lines in the daemon logs")

# RSS: mean of each third of the samples taken during the soak (t <= secs),
# per daemon; agents also summed. Prints one line per series: name first mid
# last (MiB) growth% (last vs mid).
rss_table=$(awk -v secs="$secs" -v n_agents="$agents" '
  $1 <= secs { k++; t[k] = $1; for (i = 2; i <= NF; i++) v[k, i] = $i; nf = NF }
  END {
    if (k < 3) exit
    a = int(k / 3); b = int(2 * k / 3)
    for (i = 2; i <= nf + 1; i++) {
      s1 = s2 = s3 = 0
      for (j = 1; j <= k; j++) {
        x = (i <= nf) ? v[j, i] : 0
        if (i > nf) for (c = 3; c <= nf; c++) x += v[j, c]
        if (j <= a) s1 += x; else if (j <= b) s2 += x; else s3 += x
      }
      m1 = s1 / a / 1024; m2 = s2 / (b - a) / 1024; m3 = s3 / (k - b) / 1024
      name = (i == 2) ? "controller" : (i > nf) ? "agents-sum" : "agent-" (i - 2)
      printf "%s %.1f %.1f %.1f %.1f\n", name, m1, m2, m3, (m2 > 0) ? (m3 - m2) * 100 / m2 : 0
    }
  }' "$tmp/rss.samples")
[[ -n $rss_table ]] || fails+=("fewer than 3 RSS samples")
while read -r name m1 m2 m3 g; do
  [[ -n $name ]] || continue
  awk -v g="$g" -v lim="$growth" 'BEGIN { exit !(g > lim) }' &&
    fails+=("$name RSS grew $g% (middle third $m2 MiB, last third $m3 MiB; bound $growth%)")
done <<<"$rss_table"
samples=$(wc -l <"$tmp/rss.samples")

# ---------------------------------------------------------------- report
echo
echo "Gantry load soak: $(nproc) cores, 1 controller + $agents agents x $executors executors, 127.0.0.1"
echo "source $(git -C "$(dirname "$0")" describe --always --dirty 2>/dev/null || echo unknown); loadavg at the end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %s\n' "soak" "$(fig soak_seconds) s with $runs runs in flight, then $(fig drain_seconds) s for the last ones to end"
printf '%-44s %s\n' "runs posted / ended / verified" "$(fig runs_posted) / $(fig runs_ended) / $(fig runs_verified)"
printf '%-44s %s\n' "  succeeded / failed / unstable / aborted" "$(fig runs_succeeded) / $(fig runs_failed) / $(fig runs_unstable) / $(fig runs_aborted)"
printf '%-44s %s\n' "stage logs checked (REST and events)" "$(fig stage_logs_checked)"
printf '%-44s %s\n' "watchers" "$(fig watchers) (+1 the driver's)"
printf '%-44s %s\n' "events (last id)" "$(fig events_last_id); per watcher $(fig events_per_watcher_min)..$(fig events_per_watcher_max)"
printf '%-44s %s\n' "events delivered to all watchers" "$(fig events_all_watchers) ($(awk -v b="$(fig event_bytes_all_watchers)" 'BEGIN { printf "%.1f", b / 1048576 }') MiB)"
printf '%-44s %s\n' "event id gaps / closed 4008 / other closes" "$(fig watcher_gaps) / $(fig watcher_closed_slow_4008) / $(fig watcher_closed_other)"
printf '%-44s %s\n' "HTTP requests by the driver" "$(fig http_requests)"
printf '%-44s %s\n' "daemon log lines level=error / level=warn" "$errors / $warns"
echo "RSS (MiB), mean over thirds of $samples samples every ${every}s: first (warm-up) / middle / last; growth last vs middle"
while read -r name m1 m2 m3 g; do
  case $name in controller | agents-sum) printf '  %-42s %7s / %7s / %7s  %+6.1f%%\n' "$name" "$m1" "$m2" "$m3" "$g" ;; esac
done <<<"$rss_table"
grep '^agent-' <<<"$rss_table" | sort -k5 -g | tail -n 1 |
  while read -r name m1 m2 m3 g; do printf '  %-42s %7s / %7s / %7s  %+6.1f%%\n' "$name (most growth)" "$m1" "$m2" "$m3" "$g"; done
if ((${#fails[@]} > 0)); then
  echo "FAILED:"
  printf '  %s\n' "${fails[@]}"
  grep '^failure ' "$tmp/driver.out" | sed 's/^failure /  driver: /'
  cat "$tmp/controller.log" "$tmp"/agent-*.log | grep 'level=error' | head -n 5 | sed 's/^/  log: /'
  exit 1
fi
echo "OK: every run ended as expected with byte-exact logs, no event missed, no error logged, RSS flat (bound +$growth%)"
