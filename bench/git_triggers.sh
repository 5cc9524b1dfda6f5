#!/usr/bin/env bash
# bench/git_triggers.sh BUILD_DIR: git triggers end to end, on 127.0.0.1.
#
#   1. push-to-first-step latency through the webhook: BENCH_PUSHES (50)
#      times, a commit is pushed to a bare repository, a GitHub-signed push
#      webhook is posted, and the time until the run's first step starts
#      (it writes the clock) is taken; median and p99. Baseline, same run:
#      the same one-stage pipeline posted inline to /api/v1/runs (no git),
#      so the difference is what fetching and reading the commit costs.
#   2. controller CPU per idle watched repository: BENCH_REPOS (200) bare
#      repositories polled every 1 s, no pushes, controller CPU over
#      BENCH_IDLE_SECONDS (20) after a warm-up; per repository and per poll.
#      Baseline, same run: `git ls-remote` of one of them, the CPU a poll
#      costs with the git CLI.
# Prints a table; asserts nothing (exits non-zero only when it cannot run).
# BENCH_QUICK=1: 20 pushes, 50 repositories, 5 s. With BENCH_TABLE set, also
# appends its headline figures to that file (lib.sh, run.sh).
set -euo pipefail
export LC_ALL=C

build=${1:-build}
[[ $build = /* ]] || build="$PWD/$build"
controller_bin="$build/controller/gantry-controller"
agent_bin="$build/agent/gantry-agent"
for b in "$controller_bin" "$agent_bin"; do
  [[ -x $b ]] || { echo "git_triggers.sh: $b not built" >&2; exit 2; }
done
for t in git curl openssl; do
  command -v "$t" >/dev/null || { echo "git_triggers.sh: needs $t" >&2; exit 2; }
done
source "$(dirname "$0")/lib.sh"
pushes=$(bench_knob BENCH_PUSHES 50 20)
nrepos=$(bench_knob BENCH_REPOS 200 50)
idle_s=$(bench_knob BENCH_IDLE_SECONDS 20 5)
secret=bench-secret

tmp=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/gantry-git-bench.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ ${BENCH_KEEP:-} == 1 ]] && echo "git_triggers.sh: kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '# %s\n' "$*" >&2; }
die() {
  printf 'git_triggers.sh: %s\n' "$*" >&2
  [[ -f $tmp/controller.log ]] && tail -n 20 "$tmp/controller.log" >&2
  exit 1
}
now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
# percentile P of the numbers on stdin (nearest rank)
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; print v[i] }'; }
cpu_ticks() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; awk '{ print $12 + $13 }' <<<"$s"; }
clk_tck=$(getconf CLK_TCK)

export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com

# start_controller CONFIG_BODY: starts it on a free port; sets $url, $token
start_controller() {
  local dir=$tmp/data.$1
  mkdir -p "$dir"
  printf 'listen: 127.0.0.1:0\ndata_dir: %s\n%s' "$dir" "$2" >"$tmp/controller.$1.yml"
  "$controller_bin" --config "$tmp/controller.$1.yml" >>"$tmp/controller.log" 2>&1 &
  controller_pid=$!
  pids+=("$controller_pid")
  for _ in $(seq 1 200); do [[ -s $dir/controller.addr ]] && break; sleep 0.05; done
  [[ -s $dir/controller.addr ]] || die "controller did not start"
  url=$(<"$dir/controller.addr")
  token=$(<"$dir/admin.token")
  agent_token=$(<"$dir/agent.token")
}

# ------------------------------------------------ 1. push to first step
say "push-to-first-step: $pushes webhook pushes"
work=$tmp/work bare=$tmp/app.git marks=$tmp/marks
mkdir -p "$work"
cat >"$work/Jenkinsfile" <<EOF
pipeline {
  agent any
  stages { stage('Mark') { steps { sh 'date +%s%N >> $marks' } } }
}
EOF
git -C "$work" init -q -b main
git -C "$work" add -A
git -C "$work" commit -qm init
git clone -q --bare "$work" "$bare"
git -C "$work" remote add origin "$bare"
start_controller push "repositories:
  - {name: app, url: 'file://$bare', branches: [main], poll: 0s, webhook_secret: $secret}
"
GANTRY_AGENT_TOKEN=$agent_token "$agent_bin" --controller "$url" --name a1 --work "$tmp/agent" \
  >>"$tmp/agent.log" 2>&1 &
pids+=($!)
: >"$marks"
runs_done() { curl -fsS -H "Authorization: Bearer $token" "$url/api/v1/runs?limit=1" | grep -q "\"status\":\"$1\""; }
sleep 1
lat=()
for i in $(seq 1 "$pushes"); do
  echo "$i" >"$work/n.txt"
  git -C "$work" add n.txt
  git -C "$work" commit -qm "push $i"
  git -C "$work" push -q origin main
  sha=$(git -C "$work" rev-parse HEAD)
  body="{\"ref\":\"refs/heads/main\",\"after\":\"$sha\",\"repository\":{\"name\":\"app\",\"clone_url\":\"file://$bare\"}}"
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | awk '{ print $NF }')
  before=$(wc -l <"$marks")
  t0=$(now_ns)
  curl -fsS -o /dev/null -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$sig" \
    -H 'Content-Type: application/json' --data "$body" "$url/api/v1/hooks/git" || die "webhook refused"
  for _ in $(seq 1 600); do (($(wc -l <"$marks") > before)) && break; sleep 0.005; done
  (($(wc -l <"$marks") > before)) || die "push $i: no step ran"
  t1=$(tail -n 1 "$marks")
  lat+=("$(calc "($t1 - $t0) / 1000000" 1)")
  for _ in $(seq 1 400); do runs_done succeeded && break; sleep 0.01; done
done
hook_p50=$(printf '%s\n' "${lat[@]}" | pct 50)
hook_p99=$(printf '%s\n' "${lat[@]}" | pct 99)

# Baseline: the same pipeline posted inline (no git at all).
src=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$work/Jenkinsfile" | awk '{ printf "%s\\n", $0 }')
base=()
for i in $(seq 1 "$pushes"); do
  before=$(wc -l <"$marks")
  t0=$(now_ns)
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data "{\"source\":\"$src\",\"job\":\"inline\"}" "$url/api/v1/runs" || die "inline run refused"
  for _ in $(seq 1 600); do (($(wc -l <"$marks") > before)) && break; sleep 0.005; done
  t1=$(tail -n 1 "$marks")
  base+=("$(calc "($t1 - $t0) / 1000000" 1)")
  for _ in $(seq 1 400); do runs_done succeeded && break; sleep 0.01; done
done
inline_p50=$(printf '%s\n' "${base[@]}" | pct 50)
inline_p99=$(printf '%s\n' "${base[@]}" | pct 99)
kill -TERM "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()

# ------------------------------------------------ 2. idle watched repositories
say "idle polling: $nrepos repositories every 1s for ${idle_s}s"
cfg="repositories:"$'\n'
for i in $(seq 1 "$nrepos"); do
  git clone -q --bare "$work" "$tmp/r$i.git"
  cfg+="  - {name: r$i, url: 'file://$tmp/r$i.git', branches: [main], poll: 1s}"$'\n'
done
start_controller idle "$cfg"
sleep 5  # baselines taken, steady polling
c0=$(cpu_ticks "$controller_pid")
sleep "$idle_s"
c1=$(cpu_ticks "$controller_pid")
ctl_cpu_s=$(calc "($c1 - $c0) / $clk_tck" 3)
per_repo_pct=$(calc "$ctl_cpu_s / $idle_s / $nrepos * 100" 4)
per_poll_ms=$(calc "$ctl_cpu_s * 1000 / ($idle_s * $nrepos)" 3)
rss_kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$controller_pid/status")
# Baseline: one poll done by the git CLI (user + system CPU of ls-remote).
t=$( { TIMEFORMAT='%U %S'; time (for _ in $(seq 1 20); do git ls-remote "file://$tmp/r1.git" >/dev/null; done); } 2>&1 )
ls_ms=$(awk -v u="${t% *}" -v s="${t#* }" 'BEGIN { printf "%.3f", (u + s) * 1000 / 20 }')

printf '\n%-58s %12s %12s %8s\n' "figure" "gantry" "reference" "ratio"
printf '%-58s %12s %12s %8s\n' "push->first step p50 (ms), vs inline run" "$hook_p50" "$inline_p50" "$(calc "$hook_p50 / $inline_p50")"
printf '%-58s %12s %12s %8s\n' "push->first step p99 (ms), vs target 100" "$hook_p99" "100" "$(calc "$hook_p99 / 100")"
printf '%-58s %12s %12s %8s\n' "inline run->first step p99 (ms)" "$inline_p99" "-" "-"
printf '%-58s %12s %12s %8s\n' "idle poll CPU per repo per poll (ms), vs git ls-remote" "$per_poll_ms" "$ls_ms" "$(calc "$per_poll_ms / $ls_ms")"
printf '%-58s %12s %12s %8s\n' "controller CPU per idle repo at 1s poll (%)" "$per_repo_pct" "-" "-"
printf '%-58s %12s %12s %8s\n' "controller RSS with $nrepos repos (MiB)" "$(calc "$rss_kb / 1024" 1)" "-" "-"

bench_row "webhook push -> first step, p50 ($pushes pushes)" "$hook_p50" ms "" \
  "$inline_p50" "the same pipeline posted inline, p50 (no git)"
bench_row "webhook push -> first step, p99" "$hook_p99" ms "<= 100" \
  "$inline_p99" "the same pipeline posted inline, p99"
bench_row "idle poll, controller CPU per repository per poll" "$per_poll_ms" ms "" \
  "$ls_ms" "the CPU of one git ls-remote"
