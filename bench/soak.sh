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
# script samples the daemons' RSS every SOAK_RSS_EVERY (5) seconds and their
# CPU, and at the end checks the daemon logs for level=error lines, that
# every daemon is still up, and that RSS is flat after the warm-up (see
# below: the later half of the samples after it may not exceed the earlier
# half by more than SOAK_RSS_GROWTH (5) percent, for the controller, the
# agents' sum and each agent). Exits 1 on any failure, saying which.
#
# Env: SOAK_SECONDS (600), SOAK_RUNS (100), SOAK_AGENTS (20), SOAK_WATCHERS
# (200), SOAK_EXECUTORS (5), SOAK_STAGE_SECONDS (4: a stage's mean sleep),
# SOAK_DRAIN (180: seconds the last runs get to end), SOAK_RSS_EVERY (5),
# SOAK_RSS_GROWTH (5), SOAK_RING_MIB (16: the controller's event ring),
# SOAK_KEEP=1 (keep the temp dir and its logs),
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
growth=${SOAK_RSS_GROWTH:-5}
export SOAK_RING_MIB=${SOAK_RING_MIB:-16}
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
  "$tmp/gantry-agent" --controller "$server" --token-file "$tmp/data/agent.token" \
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

# RSS every $every s: unix time, controller, each agent (KiB).
rss_of() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
(
  while :; do
    line="$EPOCHREALTIME $(rss_of "$cpid")"
    for p in "${agent_pids[@]}"; do line+=" $(rss_of "$p")"; done
    echo "$line"
    sleep "$every"
  done
) >"$tmp/rss.samples" &
pids+=($!)
# CPU ticks (user + system, with reaped children: the agents' stage shells).
cpu_ticks() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; awk '{ print $12 + $13 + $14 + $15 }' <<<"$s"; }
cpu_all() {
  local c a=0 p
  c=$(cpu_ticks "$cpid")
  for p in "${agent_pids[@]}"; do a=$((a + $(cpu_ticks "$p"))); done
  echo "$c $a"
}
read -r cpu_c0 cpu_a0 <<<"$(cpu_all)"
wall0=$EPOCHREALTIME

"$tmp/bench_soak" "$server" "$token" "$runs" "$watchers" "$secs" "$drain" \
  >"$tmp/driver.out" 2> >(tee "$tmp/driver.err" >&2) &
driver=$!
pids+=("$driver")
driver_rc=0
wait "$driver" || driver_rc=$?
read -r cpu_c1 cpu_a1 <<<"$(cpu_all)"
wall1=$EPOCHREALTIME
cpu_pct() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v w="$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { print b - a }')" 'BEGIN { printf "%.0f", t / hz / w * 100 }'; }
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

# RSS flat after the warm-up. The warm-up ends at the later of a third of
# the soak and one sample after the controller's event ring filled (it keeps
# the newest 16 MiB of frames: its RSS grows until then, by design); the
# samples of the soak after it are cut in two halves by count, and the later
# half's mean may exceed the earlier half's by SOAK_RSS_GROWTH percent at
# most, for the controller, the agents' sum and each agent. One line a
# series: name, mean of the warm-up, of the earlier half, of the later half
# (MiB), growth %, the largest sample (MiB); nothing when fewer than 6
# samples are left after the warm-up (not judged).
start=$(fig soak_start_unix) ring_full=$(fig ring_full_unix)
warm_end=$(awk -v s="${start:-0}" -v d="$secs" -v r="${ring_full:-0}" -v e="$every" \
  'BEGIN { w = s + d / 3; if (r == 0) w = s + d; else if (r + e > w) w = r + e; printf "%.1f", w }')
rss_table=$(awk -v s="${start:-0}" -v d="$secs" -v w="$warm_end" '
  $1 >= s && $1 <= s + d {
    nf = NF; late = ($1 >= w)
    if (late) k++; else u++
    for (i = 2; i <= NF + 1; i++) {
      x = 0
      if (i <= NF) x = $i; else for (c = 3; c <= NF; c++) x += $c
      if (late) v[k, i] = x; else warm[i] += x
    }
  }
  END {
    if (k < 6) exit
    h = int(k / 2)
    for (i = 2; i <= nf + 1; i++) {
      a = b = m = 0
      for (j = 1; j <= k; j++) { if (j <= h) a += v[j, i]; else b += v[j, i]; if (v[j, i] > m) m = v[j, i] }
      a = a / h / 1024; b = b / (k - h) / 1024
      name = (i == 2) ? "controller" : (i > nf) ? "agents-sum" : "agent-" (i - 2)
      printf "%s %.1f %.1f %.1f %.1f %.1f\n", name, (u > 0) ? warm[i] / u / 1024 : 0, a, b, (a > 0) ? (b - a) * 100 / a : 0, m / 1024
    }
  }' "$tmp/rss.samples")
after_warm=$(awk -v s="${start:-0}" -v d="$secs" -v w="$warm_end" 'BEGIN { printf "%.0f", s + d - w }')
rss_judged=yes
if [[ -z $rss_table ]]; then
  rss_judged=no
  # A short soak (SOAK_SECONDS under the default) may end before the warm-up.
  ((secs < 600)) || fails+=("RSS not judged: fewer than 6 samples after the warm-up")
fi
while read -r name m0 ma mb g mx; do
  [[ -n $name ]] || continue
  awk -v g="$g" -v lim="$growth" 'BEGIN { exit !(g > lim) }' &&
    fails+=("$name RSS grew $g% after the warm-up (earlier half $ma MiB, later half $mb MiB; bound $growth%)")
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
printf '%-44s %s\n' "CPU, % of one core over the soak" "controller $(cpu_pct $((cpu_c1 - cpu_c0))), $agents agents with their stages $(cpu_pct $((cpu_a1 - cpu_a0)))"
ring_at=$(awk -v s="${start:-0}" -v r="${ring_full:-0}" 'BEGIN { print (r > 0) ? sprintf("%.0f s", r - s) : "never" }')
echo "RSS (MiB) from $samples samples every ${every}s; warm-up: the first $(awk -v s="${start:-0}" -v w="$warm_end" 'BEGIN { printf "%.0f", w - s }') s (the controller's $SOAK_RING_MIB MiB event ring filled at $ring_at)"
echo "  controller RSS each minute: $(awk -v s="${start:-0}" -v d="$secs" '$1 >= s && $1 <= s + d + 5 && $1 >= s + 60 * m { printf "%.1f ", $2 / 1024; m++ }' "$tmp/rss.samples")MiB"
if [[ $rss_judged == yes ]]; then
  echo "  then the ${after_warm} s left cut in two halves: warm-up mean / earlier half / later half, growth (bound $growth%), max"
  show_rss() { printf '  %-28s %7s / %7s / %7s  %+6.1f%%  max %s\n' "$@"; }
  while read -r name m0 ma mb g mx; do
    case $name in controller | agents-sum) show_rss "$name" "$m0" "$ma" "$mb" "$g" "$mx" ;; esac
  done <<<"$rss_table"
  grep '^agent-' <<<"$rss_table" | sort -k5 -g | tail -n 1 |
    while read -r name m0 ma mb g mx; do show_rss "$name (most growth)" "$m0" "$ma" "$mb" "$g" "$mx"; done
else
  echo "  not judged: the soak ended before the warm-up did (run SOAK_SECONDS=600)"
fi
if ((${#fails[@]} > 0)); then
  echo "FAILED:"
  printf '  %s\n' "${fails[@]}"
  grep '^failure ' "$tmp/driver.out" | sed 's/^failure /  driver: /'
  cat "$tmp/controller.log" "$tmp"/agent-*.log | grep 'level=error' | head -n 5 | sed 's/^/  log: /'
  exit 1
fi
rss_word="RSS flat after the warm-up (bound +$growth%)"
[[ $rss_judged == yes ]] || rss_word="RSS not judged (short soak)"
echo "OK: every run ended as expected with byte-exact logs, no event missed, no error logged, $rss_word"
