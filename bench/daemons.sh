#!/usr/bin/env bash
# bench/daemons.sh BUILD_DIR: the daemons end to end, on 127.0.0.1.
#
# Starts one gantry-controller and one gantry-agent (1 executor) in a temp
# dir and measures, each next to a baseline timed in the same run:
#   1. orchestration overhead per stage: a 50-stage pipeline of `sh 'true'`,
#      with and without the default checkout, against 50 `/bin/sh -e -c true`;
#   2. log ingest: one stage printing BENCH_LOG_BYTES (1 GiB): MB/s, peak RSS
#      of both daemons, and whether the stored log is byte-exact; against the
#      same command into /dev/null and into a file on the same disk;
#   3. idle RSS of both daemons.
# Then prints a table: each figure, its reference (baseline, target, Buildbot
# from ../shared/bench/peers/buildbot/results) and the ratio. Nothing is
# asserted: it exits non-zero only when the benchmark itself cannot run.
#
# Env: BENCH_REPS (3; 1 under BENCH_QUICK=1), BENCH_STAGES (50),
# BENCH_LOG_BYTES (1073741824; 268435456 quick), BENCH_IDLE_SECONDS (3),
# BENCH_TMPDIR (/tmp; parent of the temp dir), BENCH_KEEP=1 (keep the temp
# dir with the daemon logs; big logs removed). With BENCH_TABLE set, also
# appends its headline figures to that file (see lib.sh, run.sh).
set -euo pipefail
export LC_ALL=C

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $build = /* ]] || build="$PWD/$build"
controller_bin="$build/controller/gantry-controller"
agent_bin="$build/agent/gantry-agent"
gantry="$build/cli/gantry"
for b in "$controller_bin" "$agent_bin" "$gantry"; do
  [[ -x $b ]] || { echo "daemons.sh: $b not built (ninja gantry gantry-controller gantry-agent)" >&2; exit 2; }
done

# shellcheck source=lib.sh
source "$root/bench/lib.sh"
reps=$(bench_knob BENCH_REPS 3 1)
nstages=$(bench_knob BENCH_STAGES 50 50)
log_bytes=$(bench_knob BENCH_LOG_BYTES 1073741824 268435456)
idle_s=$(bench_knob BENCH_IDLE_SECONDS 3 3)
log_cap=1073741824   # protocol::kLogLimit: the agent caps a stage's log here
log_cmd="yes 'gantry log ingest benchmark line 0123456789abcdefghijklmnopqrstuvwxyz' | head -c $log_bytes"

tmp=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/gantry-bench.XXXXXX")
pids=()
# A snapshot of the binaries: a rebuild during the run cannot swap them.
mkdir "$tmp/bin"
cp "$controller_bin" "$agent_bin" "$gantry" "$tmp/bin/"
controller_bin="$tmp/bin/gantry-controller" agent_bin="$tmp/bin/gantry-agent" gantry="$tmp/bin/gantry"
version=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
cleanup() {
  local p i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ ${BENCH_KEEP:-} == 1 ]]; then
    rm -rf "$tmp/data/logs" "$tmp/baseline.out"
    echo "daemons.sh: kept $tmp (controller.log, agent.log, data/, work/)" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '# %s\n' "$*" >&2; }
die() {
  printf 'daemons.sh: %s\n' "$*" >&2
  for f in controller agent; do
    [[ -f $tmp/$f.log ]] && { echo "--- tail $f.log" >&2; tail -n 20 "$tmp/$f.log" >&2; }
  done
  exit 1
}
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: polls every 50 ms
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$(($(now_us) + secs * 1000000))
  until "$@" >/dev/null 2>&1; do
    (($(now_us) < deadline)) || die "timed out after ${secs}s waiting for $what"
    sleep 0.05
  done
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
kb_mib() { calc "$1 / 1024" 1; }
cpu_ticks() {  # utime + stime + cutime + cstime of a process (children once reaped)
  local s
  s=$(<"/proc/$1/stat")
  s=${s##*) }
  awk '{ print $12 + $13 + $14 + $15 }' <<<"$s"
}
clk_tck=$(getconf CLK_TCK)
machine_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# Waits (at most BENCH_QUIET_WAIT seconds, 10) until the box used less than a
# quarter of a core over 0.5 s: other builds on a shared machine skew every
# figure here. Proceeds anyway when it never gets quiet, and says so.
quiet_wait=$(bench_knob BENCH_QUIET_WAIT 10 2)
waited_total=0
wait_quiet() {
  local start b0 b1 waited
  start=$(now_us)
  while :; do
    b0=$(machine_busy_ticks)
    sleep 0.5
    b1=$(machine_busy_ticks)
    ((b1 - b0 < clk_tck / 8)) && break
    (($(now_us) - start < quiet_wait * 1000000)) || { say "not quiet after ${quiet_wait}s, going on"; break; }
  done
  waited=$(( ($(now_us) - start) / 1000000 ))
  waited_total=$((waited_total + waited))
}
# Top-level number of `gantry show --json` (the stages array cut out).
run_field() {
  local j=$1 top
  top="${j%%\"stages\":\[*}${j#*\"stages\":\[*\]}"
  sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$top"
}
run_status() {
  local j=$1 top
  top="${j%%\"stages\":\[*}${j#*\"stages\":\[*\]}"
  sed -n 's/.*"status":"\([a-z_]*\)".*/\1/p' <<<"$top"
}
stage_part() { local s=${1#*\"stages\":\[}; echo "${s%%\]*}"; }

# ---------------------------------------------------------------- Buildbot
bench_buildbot   # bb_step, bb_log, bb_ctl, bb_agent, bb_src (lib.sh)

# ---------------------------------------------------------------- daemons
say "temp dir $tmp; loadavg $(loadavg)"
load_start=$(loadavg)
data="$tmp/data"
"$controller_bin" --listen 127.0.0.1:0 --data "$data" >"$tmp/controller.log" 2>&1 &
ctl_pid=$!
pids+=("$ctl_pid")
wait_for 10 "controller.addr" test -s "$data/controller.addr"
wait_for 5 "tokens" test -s "$data/agent.token" -a -s "$data/admin.token"
GANTRY_SERVER=$(<"$data/controller.addr")
GANTRY_TOKEN=$(<"$data/admin.token")
export GANTRY_SERVER GANTRY_TOKEN
"$agent_bin" --controller "$GANTRY_SERVER" --token-file "$data/agent.token" --name bench-1 \
  --executors 1 --work "$tmp/work" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
agent_connected() { "$gantry" agents --json | grep -q '"connected":true'; }
wait_for 10 "the agent to connect" agent_connected

# 3. Idle RSS (measured first: nothing has run yet).
sleep "$idle_s"
idle_ctl=$(status_kb "$ctl_pid" VmRSS) idle_agent=$(status_kb "$agent_pid" VmRSS)
idle_split() {  # private heap/stack vs mapped binary and libraries (file or tmpfs)
  local pss
  pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0)
  echo "anon $(kb_mib "$(status_kb "$1" RssAnon)"), mapped files $(kb_mib "$(($(status_kb "$1" RssFile) + $(status_kb "$1" RssShmem)))"), PSS $(kb_mib "${pss:-0}")"
}
idle_ctl_split=$(idle_split "$ctl_pid") idle_agent_split=$(idle_split "$agent_pid")
say "idle RSS after ${idle_s}s: controller $(kb_mib "$idle_ctl") MiB, agent $(kb_mib "$idle_agent") MiB"

# ---------------------------------------------------------------- repo
repo="$tmp/repo"
mkdir -p "$repo"
stages_file() {  # stages_file CHECKOUT(0/1)
  echo "pipeline {"
  echo "  agent any"
  (($1)) || echo "  options { skipDefaultCheckout() }"
  echo "  stages {"
  for ((i = 1; i <= nstages; i++)); do printf "    stage('s%02d') { steps { sh 'true' } }\n" "$i"; done
  echo "  }"
  echo "}"
}
stages_file 0 >"$repo/Jenkinsfile.stages"
stages_file 1 >"$repo/Jenkinsfile.stages-checkout"
cat >"$repo/Jenkinsfile.biglog" <<EOF
pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('biglog') { steps { sh "$log_cmd" } }
  }
}
EOF
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -qm bench

# Triggers FILE, waits (bounded), sets run_id, run_json, wall_ms.
run_pipeline() {
  local file=$1 limit=$2 t0 t1 rc=0
  t0=$(now_us)
  run_id=$("$gantry" trigger --repo "$repo" --file "$file") || die "trigger $file failed"
  timeout "$limit" "$gantry" wait "$run_id" >/dev/null || rc=$?
  t1=$(now_us)
  ((rc == 0)) || die "run $run_id ($file) did not succeed (gantry wait: $rc)"
  wall_ms=$(calc "($t1 - $t0) / 1000" 1)
  run_json=$("$gantry" show "$run_id" --json)
  [[ $(run_status "$run_json") == succeeded ]] || die "run $run_id: $(run_status "$run_json")"
}

# ---------------------------------------------------------------- 1. stages
sh_loop() { for ((i = 0; i < nstages; i++)); do /bin/sh -e -c true; done; }
one_sh=$(printf 'true; %.0s' $(seq 1 "$nstages"))
say "baselines: $nstages x /bin/sh -e -c true; sh -c '${one_sh:0:18}...'"
base_loop=() base_one=()
for ((r = 0; r < reps; r++)); do
  wait_quiet
  t0=$(now_us); sh_loop; t1=$(now_us)
  base_loop+=("$(calc "($t1 - $t0) / 1000" 3)")
  t0=$(now_us); /bin/sh -c "$one_sh"; t1=$(now_us)
  base_one+=("$(calc "($t1 - $t0) / 1000" 3)")
done
b_loop=$(median "${base_loop[@]}") b_one=$(median "${base_one[@]}")
say "baseline: loop ${base_loop[*]} ms; one sh ${base_one[*]} ms"

say "warm-up: one unmeasured run of each"
run_pipeline Jenkinsfile.stages 300
run_pipeline Jenkinsfile.stages-checkout 300

declare -A runs walls stage_avg gap_avg cpu_ctl cpu_agent
foreign_s=""
for ((r = 1; r <= reps; r++)); do
  for kind in nock ck; do
    file=Jenkinsfile.stages
    [[ $kind == ck ]] && file=Jenkinsfile.stages-checkout
    wait_quiet
    c0=$(cpu_ticks "$ctl_pid") a0=$(cpu_ticks "$agent_pid") m0=$(machine_busy_ticks)
    run_pipeline "$file" 300
    c1=$(cpu_ticks "$ctl_pid") a1=$(cpu_ticks "$agent_pid") m1=$(machine_busy_ticks)
    fs_rep=$(calc "($m1 - $m0 - ($c1 - $c0) - ($a1 - $a0)) / $clk_tck" 1)
    foreign_s+="$fs_rep "
    started=$(run_field "$run_json" started_at) finished=$(run_field "$run_json" finished_at)
    dur=$((finished - started))
    sp=$(stage_part "$run_json")
    # Mean stage duration and mean gap between one stage's end and the next's start.
    read -r savg gavg < <(paste <(grep -o '"started_at":[0-9]*' <<<"$sp" | cut -d: -f2) \
      <(grep -o '"finished_at":[0-9]*' <<<"$sp" | cut -d: -f2) |
      awk '{ d += $2 - $1; if (NR > 1) g += $1 - pf; pf = $2; n++ }
           END { printf "%.1f %.1f\n", d / n, (n > 1) ? g / (n - 1) : 0 }')
    runs[$kind]+="$dur " walls[$kind]+="$wall_ms " stage_avg[$kind]+="$savg " gap_avg[$kind]+="$gavg "
    cpu_ctl[$kind]+="$(calc "($c1 - $c0) * 1000 / $clk_tck" 0) " cpu_agent[$kind]+="$(calc "($a1 - $a0) * 1000 / $clk_tck" 0) "
    say "rep $r $file: run $run_id ${dur} ms (wall $wall_ms ms; stage $savg ms, gap $gavg ms; CPU controller $(calc "($c1 - $c0) * 1000 / $clk_tck" 0) ms, agent+children $(calc "($a1 - $a0) * 1000 / $clk_tck" 0) ms, other processes ${fs_rep}s; RSS controller $(kb_mib "$(status_kb "$ctl_pid" VmRSS)"), agent $(kb_mib "$(status_kb "$agent_pid" VmRSS)") MiB)"
  done
done
say "CPU seconds used by other processes during each measured run: $foreign_s"

# shellcheck disable=SC2086  # the arrays hold space-separated numbers
{
  med_run_nock=$(median ${runs[nock]}) med_run_ck=$(median ${runs[ck]})
  med_wall_nock=$(median ${walls[nock]}) med_wall_ck=$(median ${walls[ck]})
  med_stage_nock=$(median ${stage_avg[nock]}) med_stage_ck=$(median ${stage_avg[ck]})
  med_gap_nock=$(median ${gap_avg[nock]}) med_gap_ck=$(median ${gap_avg[ck]})
  med_cctl_nock=$(median ${cpu_ctl[nock]}) med_cctl_ck=$(median ${cpu_ctl[ck]})
  med_cagent_nock=$(median ${cpu_agent[nock]}) med_cagent_ck=$(median ${cpu_agent[ck]})
}
ovh_nock=$(calc "($med_run_nock - $b_loop) / $nstages" 2)
ovh_ck=$(calc "($med_run_ck - $b_loop) / $nstages" 2)
ovh_wall_nock=$(calc "($med_wall_nock - $b_loop) / $nstages" 2)
ovh_wall_ck=$(calc "($med_wall_ck - $b_loop) / $nstages" 2)
ovh_one_nock=$(calc "($med_run_nock - $b_one) / $nstages" 2)

# ---------------------------------------------------------------- 2. log ingest
free_kb=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
if ((free_kb * 1024 < 3 * log_bytes + (1 << 30))); then
  die "not enough free space in $tmp for a $log_bytes-byte log test (BENCH_LOG_BYTES)"
fi
say "log baselines: \`$log_cmd\` > /dev/null, > a file in $tmp"
wait_quiet
t0=$(now_us); /bin/sh -c "$log_cmd" >/dev/null; t1=$(now_us)
null_s=$(calc "($t1 - $t0) / 1000000" 4)
wait_quiet
t0=$(now_us); /bin/sh -c "$log_cmd" >"$tmp/baseline.out"; t1=$(now_us)
file_s=$(calc "($t1 - $t0) / 1000000" 4)
t0=$(now_us); /bin/sh -c "$log_cmd" >"$tmp/baseline.out"; sync -d "$tmp/baseline.out"; t1=$(now_us)
filesync_s=$(calc "($t1 - $t0) / 1000000" 4)
rm -f "$tmp/baseline.out"
mbs() { calc "$log_bytes / 1000000 / $1" 1; }
b_null=$(mbs "$null_s") b_file=$(mbs "$file_s") b_filesync=$(mbs "$filesync_s")
say "baseline: /dev/null ${null_s}s ($b_null MB/s), file ${file_s}s ($b_file MB/s), file+fdatasync ${filesync_s}s ($b_filesync MB/s)"

wait_quiet
rss_before_ctl=$(status_kb "$ctl_pid" VmRSS) rss_before_agent=$(status_kb "$agent_pid" VmRSS)
echo 5 >"/proc/$ctl_pid/clear_refs"    # resets VmHWM to the current RSS
echo 5 >"/proc/$agent_pid/clear_refs"
# Sample RSS every 200 ms while the log streams (the peak is VmHWM anyway).
(
  while kill -0 "$ctl_pid" 2>/dev/null; do
    echo "$(now_us) $(status_kb "$ctl_pid" VmRSS) $(status_kb "$agent_pid" VmRSS)"
    sleep 0.2
  done
) >"$tmp/rss.samples" 2>/dev/null &
sampler=$!
pids+=("$sampler")
c0=$(cpu_ticks "$ctl_pid") a0=$(cpu_ticks "$agent_pid") busy0=$(machine_busy_ticks)
run_pipeline Jenkinsfile.biglog 900
c1=$(cpu_ticks "$ctl_pid") a1=$(cpu_ticks "$agent_pid") busy1=$(machine_busy_ticks)
log_foreign_s=$(calc "($busy1 - $busy0 - ($c1 - $c0) - ($a1 - $a0)) / $clk_tck" 1)
kill "$sampler" 2>/dev/null || true
log_run=$run_id log_wall_ms=$wall_ms
peak_ctl=$(status_kb "$ctl_pid" VmHWM) peak_agent=$(status_kb "$agent_pid" VmHWM)
after_ctl=$(status_kb "$ctl_pid" VmRSS) after_agent=$(status_kb "$agent_pid" VmRSS)
sp=$(stage_part "$run_json")
s_start=$(sed -n 's/.*"started_at":\([0-9]*\).*/\1/p' <<<"$sp")
s_end=$(sed -n 's/.*"finished_at":\([0-9]*\).*/\1/p' <<<"$sp")
s_bytes=$(sed -n 's/.*"log_bytes":\([0-9]*\).*/\1/p' <<<"$sp")
log_stage_ms=$((s_end - s_start))
log_mbs=$(mbs "$(calc "$log_stage_ms / 1000" 3)")
log_mbs_wall=$(mbs "$(calc "$log_wall_ms / 1000" 3)")
say "log run $log_run: stage ${log_stage_ms} ms ($log_mbs MB/s), wall $log_wall_ms ms ($log_mbs_wall MB/s), log_bytes $s_bytes; cpu controller $(calc "($c1 - $c0) / $clk_tck" 2)s, agent+children $(calc "($a1 - $a0) / $clk_tck" 2)s"
cpu_log_ctl=$(calc "($c1 - $c0) / $clk_tck" 2) cpu_log_agent=$(calc "($a1 - $a0) / $clk_tck" 2)

# Byte-exactness: the stored file must be "[gantry] + CMD\n" followed by the
# command's output, cut at the 1 GiB cap with the agent's truncation marker
# when the two together pass it.
logfile="$data/logs/$log_run/biglog/1.log"
[[ -f $logfile ]] || die "no stored log at $logfile"
stored_size=$(stat -c %s "$logfile")
head_line=$(head -n 1 "$logfile")
prefix="[gantry] + $log_cmd"
exact=no detail=""
if [[ $head_line != "$prefix" ]]; then
  detail="first line is '${head_line:0:80}', expected '${prefix:0:80}'"
else
  expected_total=$((${#prefix} + 1 + log_bytes))
  marker=""
  if ((expected_total > log_cap)); then
    marker=$'\n'"[gantry] log truncated: output past $log_cap bytes dropped"$'\n'
  fi
  payload_kept=$((expected_total > log_cap ? log_cap - ${#prefix} - 1 : log_bytes))
  set +o pipefail   # head closes the pipe early on purpose
  want=$( { printf '%s\n' "$prefix"; /bin/sh -c "$log_cmd"; } | head -c "$log_cap" |
    { cat; printf '%s' "$marker"; } | sha256sum | cut -d' ' -f1)
  payload_want=$(/bin/sh -c "$log_cmd" | head -c "$payload_kept" | sha256sum | cut -d' ' -f1)
  set -o pipefail
  got=$(sha256sum "$logfile" | cut -d' ' -f1)
  payload_got=$(tail -c +$((${#prefix} + 2)) "$logfile" | head -c "$payload_kept" | sha256sum | cut -d' ' -f1)
  expected_size=$(( (expected_total > log_cap ? log_cap : expected_total) + ${#marker} ))
  if [[ $got == "$want" && $stored_size == "$expected_size" ]]; then
    exact=yes
    detail="sha256 ${got:0:16}..., $stored_size bytes"
    if [[ -n $marker ]]; then
      detail+="; the 1 GiB cap covers the header line too, so the last $((expected_total - log_cap)) payload bytes were dropped, with the marker"
    fi
  else
    detail="stored $stored_size bytes sha256 ${got:0:16}..., expected $expected_size bytes ${want:0:16}...; payload part $([[ $payload_got == "$payload_want" ]] && echo equal || echo differs)"
  fi
  [[ $s_bytes == "$stored_size" ]] || detail+="; log_bytes in the run record: $s_bytes"
fi
# The same through the REST API when curl is here.
api="skipped (no curl)"
if command -v curl >/dev/null; then
  api_sha=$(curl -fsS -H "Authorization: Bearer $GANTRY_TOKEN" \
    "$GANTRY_SERVER/api/v1/runs/$log_run/log?stage=biglog" | sha256sum | cut -d' ' -f1) || api_sha=error
  [[ $api_sha == "$(sha256sum "$logfile" | cut -d' ' -f1)" ]] && api="same bytes" || api="DIFFERS ($api_sha)"
fi
say "log byte-exact: $exact ($detail); GET /api/v1/runs/$log_run/log: $api"
rss_max=$(awk '{ if ($2 > c) c = $2; if ($3 > a) a = $3 } END { printf "%d %d", c, a }' "$tmp/rss.samples")
rm -f "$logfile"

sleep 1
end_ctl=$(status_kb "$ctl_pid" VmRSS) end_agent=$(status_kb "$agent_pid" VmRSS)
load_end=$(loadavg)

# ---------------------------------------------------------------- daemon logs
warns=$(cat "$tmp/controller.log" "$tmp/agent.log" | grep -c -E 'level=(warn|error)' || true)

# ---------------------------------------------------------------- report
row() {  # row FIGURE VALUE REFNAME REFVALUE lower|higher|info
  local ratio verdict=""
  ratio=$(calc "$2 / $4" 2)
  case $5 in
    lower) verdict=$(awk "BEGIN { print ($2 <= $4) ? \"meets\" : \"misses\" }") ;;
    higher) verdict=$(awk "BEGIN { print ($2 >= $4) ? \"meets\" : \"misses\" }") ;;
    better-lower) verdict=$(awk "BEGIN { print ($2 < $4) ? \"better\" : \"worse\" }") ;;
    better-higher) verdict=$(awk "BEGIN { print ($2 > $4) ? \"better\" : \"worse\" }") ;;
  esac
  printf '%-46s %10s  %-26s %9s  %s\n' "$1" "$2" "$3 $4" "${ratio}x" "$verdict"
}
echo
echo "Gantry daemons benchmark: $(nproc) cores, 1 controller + 1 agent (1 executor), 127.0.0.1, temp dir on $(df -PT "$tmp" | awk 'NR == 2 { print $2 }')"
echo "loadavg start $load_start, end $load_end; waited ${waited_total}s in all for a quiet box (BENCH_QUIET_WAIT=$quiet_wait)"
# shellcheck disable=SC2086
echo "CPU seconds used by other processes (and the gantry CLI): $(median $foreign_s)s median during a ~$(calc "$med_run_nock / 1000" 1)s stage run, ${log_foreign_s}s during the $(calc "$log_wall_ms / 1000" 1)s log run"
echo "source $version (binaries from $build)"
echo "Buildbot figures from $bb_src; ratio = measured / reference"
echo
printf '%-46s %10s  %-26s %9s  %s\n' figure measured reference ratio ""
echo "-- 1. orchestration overhead, $nstages stages of sh 'true', median of $reps"
echo "   baseline: $nstages x /bin/sh -e -c true = $b_loop ms; one sh -c 'true; ...' = $b_one ms"
row "run, skipDefaultCheckout [ms]" "$med_run_nock" "baseline" "$b_loop" info
row "overhead/stage, skipDefaultCheckout [ms]" "$ovh_nock" "target <=" 2 lower
row "" "$ovh_nock" "Buildbot" "$bb_step" better-lower
row "  same, vs the one-sh baseline [ms]" "$ovh_one_nock" "target <=" 2 lower
row "  same, from CLI wall time [ms]" "$ovh_wall_nock" "target <=" 2 lower
row "run, with checkout [ms]" "$med_run_ck" "baseline" "$b_loop" info
row "overhead/stage, with checkout [ms]" "$ovh_ck" "target <=" 2 lower
row "" "$ovh_ck" "Buildbot" "$bb_step" better-lower
row "  same, from CLI wall time [ms]" "$ovh_wall_ck" "target <=" 2 lower
echo "   where it goes (no checkout / checkout): stage start->finish $med_stage_nock / $med_stage_ck ms, gap to next stage $med_gap_nock / $med_gap_ck ms;"
echo "   CPU per run: controller $med_cctl_nock / $med_cctl_ck ms, agent+children $med_cagent_nock / $med_cagent_ck ms"
echo "-- 2. log ingest, one stage printing $log_bytes bytes"
echo "   baseline: > /dev/null $b_null MB/s; > file $b_file MB/s; > file + fdatasync $b_filesync MB/s (MB = 10^6 bytes)"
row "throughput, stage start->finish [MB/s]" "$log_mbs" "target >=" 300 higher
row "" "$log_mbs" "Buildbot" "$bb_log" better-higher
row "" "$log_mbs" "file baseline" "$b_file" info
row "" "$log_mbs" "/dev/null baseline" "$b_null" info
row "throughput, CLI wall time [MB/s]" "$log_mbs_wall" "target >=" 300 higher
printf '%-46s %10s  %s\n' "byte-exact stored log" "$exact" "$detail"
printf '%-46s %10s\n' "GET /api/v1/runs/ID/log" "$api"
row "controller peak RSS during ingest [MiB]" "$(kb_mib "$peak_ctl")" "before" "$(kb_mib "$rss_before_ctl")" info
row "agent peak RSS during ingest [MiB]" "$(kb_mib "$peak_agent")" "before" "$(kb_mib "$rss_before_agent")" info
echo "   RSS right after (controller / agent): $(kb_mib "$after_ctl") / $(kb_mib "$after_agent") MiB; max sampled $(kb_mib "${rss_max% *}") / $(kb_mib "${rss_max#* }") MiB;"
echo "   CPU for the ingest: controller ${cpu_log_ctl}s, agent+children ${cpu_log_agent}s (the step's yes|head included)"
echo "-- 3. idle RSS, ${idle_s}s after start, agent connected (MiB = 2^20 bytes)"
row "controller idle RSS [MiB]" "$(kb_mib "$idle_ctl")" "target <=" 20 lower
row "" "$(kb_mib "$idle_ctl")" "Buildbot" "$bb_ctl" better-lower
row "agent idle RSS [MiB]" "$(kb_mib "$idle_agent")" "target <=" 10 lower
row "" "$(kb_mib "$idle_agent")" "Buildbot" "$bb_agent" better-lower
echo "   idle RSS split, controller: $idle_ctl_split; agent: $idle_agent_split MiB"
echo "   RSS at the end (controller / agent): $(kb_mib "$end_ctl") / $(kb_mib "$end_agent") MiB"
echo "-- daemon logs: $warns warn/error lines"
if ((warns > 0)); then
  cat "$tmp/controller.log" "$tmp/agent.log" | grep -E 'level=(warn|error)' | head -n 5 | sed 's/^/   /'
fi

# ---------------------------------------------------------------- summary rows (run.sh)
per_cmd_loop=$(calc "$b_loop / $nstages" 3) per_cmd_one=$(calc "$b_one / $nstages" 3)
log_size="$((log_bytes >> 20)) MiB"
bench_row "stage overhead, $nstages x sh 'true', vs one shell" "$ovh_one_nock" ms "<= 2" \
  "$per_cmd_one" "a 'true' inside one sh -c 'true; true; ...' (SPEC's baseline)"
bench_row "stage overhead, vs $nstages x sh -c true" "$ovh_nock" ms "<= 2" \
  "$per_cmd_loop" "one /bin/sh -e -c true of a shell loop (Buildbot's definition)" "$bb_step"
bench_row "stage overhead with checkout, vs $nstages x sh -c" "$ovh_ck" ms "<= 2" \
  "$per_cmd_loop" "one /bin/sh -e -c true of a shell loop"
bench_row "log ingest, $log_size, stage start->finish" "$log_mbs" MB/s ">= 300" \
  "$b_file" "the same command into a file on the same disk" "$bb_log"
bench_row "log byte-exact (file and GET .../log)" \
  "$([[ $exact == yes && $api != DIFFERS* ]] && echo yes || echo no)" "" "= yes" "" "sha256 of the expected stream"
bench_row "controller peak RSS during the ingest" "$(kb_mib "$peak_ctl")" MiB "" \
  "$(kb_mib "$rss_before_ctl")" "its RSS just before the log run"
bench_row "agent peak RSS during the ingest" "$(kb_mib "$peak_agent")" MiB "" \
  "$(kb_mib "$rss_before_agent")" "its RSS just before the log run"
bench_row "controller idle RSS" "$(kb_mib "$idle_ctl")" MiB "<= 20" "" "-" "$bb_ctl"
bench_row "agent idle RSS" "$(kb_mib "$idle_agent")" MiB "<= 10" "" "-" "$bb_agent"
