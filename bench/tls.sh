#!/usr/bin/env bash
# bench/tls.sh BUILD_DIR: what TLS costs, plain and TLS side by side in one run (issue 17).
#
# Starts two controllers on 127.0.0.1, one plain and one serving HTTPS/WSS with a throwaway CA
# (openssl, at run time) and asking agents for client certificates (mutual TLS), each with one
# agent (1 executor), and alternates the same runs on both:
#   1. stage overhead: a BENCH_STAGES-stage pipeline of `sh 'true'` without checkout, the median
#      run (first stage start to last stage end) over BENCH_REPS runs, per stage;
#   2. log ingest: one stage printing BENCH_TLS_LOG_BYTES (1 GiB; 256 MiB quick), MB/s from the
#      stage's start to its finish, and whether both stored logs have the full size.
# The figure is the ratio TLS / plain (target: within 1.3x). Nothing is asserted: it exits
# non-zero only when the benchmark itself cannot run.
set -euo pipefail
export LC_ALL=C

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $build = /* ]] || build="$PWD/$build"
# shellcheck source=lib.sh
source "$root/bench/lib.sh"
reps=$(bench_knob BENCH_REPS 3 1)
nstages=$(bench_knob BENCH_STAGES 50 50)
log_bytes=$(bench_knob BENCH_TLS_LOG_BYTES 1073741824 268435456)
for b in controller/gantry-controller agent/gantry-agent cli/gantry; do
  [[ -x $build/$b ]] || { echo "tls.sh: $build/$b not built" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "tls.sh: openssl is needed for the certificates" >&2; exit 2; }

bench_setup tls
cp "$build/controller/gantry-controller" "$build/agent/gantry-agent" "$build/cli/gantry" "$tmp/"
say() { printf '# %s\n' "$*" >&2; }
die() {
  printf 'tls.sh: %s\n' "$*" >&2
  for f in "$tmp"/*/controller.log "$tmp"/*/agent.log; do
    [[ -f $f ]] && { echo "--- tail $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------- certificates
pki="$tmp/pki"
sh "$root/tests/support/make_test_pki.sh" "$pki" || die "openssl could not make the certificates"

# ---------------------------------------------------------------- daemons
# start_side NAME [TLS]: a controller and an agent in $tmp/NAME; sets server_NAME, token_NAME.
declare -A server token cpid apid
# cpu_ms PID: user + system CPU time the process has used, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }
start_side() {
  local name=$1 tls=${2:-} dir="$tmp/$1" agent_tls=()
  mkdir -p "$dir"
  {
    echo "listen: 127.0.0.1:0"
    echo "data_dir: $dir/data"
    [[ -n $tls ]] && echo "tls: {cert: $pki/server.pem, key: $pki/server.key, client_ca: $pki/ca.pem}"
  } >"$dir/controller.yml"
  "$tmp/gantry-controller" --config "$dir/controller.yml" >"$dir/controller.log" 2>&1 &
  pids+=("$!")
  cpid[$name]=$!
  for _ in $(seq 1 250); do [[ -s $dir/data/controller.addr ]] && break; sleep 0.02; done
  [[ -s $dir/data/controller.addr ]] || die "the $name controller did not start"
  server[$name]=$(<"$dir/data/controller.addr")
  token[$name]=$(<"$dir/data/admin.token")
  [[ -n $tls ]] && agent_tls=(--ca "$pki/ca.pem" --client-cert "$pki/client.pem" --client-key "$pki/client.key")
  "$tmp/gantry-agent" --controller "${server[$name]}" --token-file "$dir/data/agent.token" \
    --name "bench-$name" --executors 1 --work "$dir/work" "${agent_tls[@]}" >"$dir/agent.log" 2>&1 &
  pids+=("$!")
  apid[$name]=$!
  for _ in $(seq 1 200); do
    g "$name" agents --json 2>/dev/null | grep -q '"connected":true' && return 0
    sleep 0.05
  done
  die "the $name agent did not connect"
}
g() {  # g SIDE ARGS...: the CLI against that side's controller
  local name=$1
  shift
  GANTRY_SERVER=${server[$name]} GANTRY_TOKEN=${token[$name]} GANTRY_CA=$pki/ca.pem "$tmp/gantry" "$@"
}

repo="$tmp/repo"
mkdir -p "$repo"
{
  echo "pipeline {"
  echo "  agent any"
  echo "  options { skipDefaultCheckout() }"
  echo "  stages {"
  for ((i = 1; i <= nstages; i++)); do printf "    stage('s%02d') { steps { sh 'true' } }\n" "$i"; done
  echo "  }"
  echo "}"
} >"$repo/Jenkinsfile.stages"
cat >"$repo/Jenkinsfile.biglog" <<EOF
pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('biglog') { steps { sh "yes 'gantry tls benchmark line 0123456789abcdefghijklmnopqrstuvwxyz' | head -c $log_bytes" } }
  }
}
EOF
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -qm bench

start_side plain
start_side tls on
say "plain ${server[plain]}, tls ${server[tls]} (mutual TLS)"

# run SIDE FILE LIMIT: sets run_json.
run() {
  local id
  id=$(g "$1" trigger --repo "$repo" --file "$2") || die "trigger $2 on $1 failed"
  timeout "$3" "$tmp/gantry" --server "${server[$1]}" --token "${token[$1]}" --ca "$pki/ca.pem" \
    wait "$id" >/dev/null || die "run $id ($2) on $1 did not succeed"
  run_json=$(g "$1" show "$id" --json)
}
# Milliseconds from the first stage's start to the last one's finish.
span_ms() {
  local s=${run_json#*\"stages\":\[}
  paste <(grep -o '"started_at":[0-9]*' <<<"$s" | cut -d: -f2) \
    <(grep -o '"finished_at":[0-9]*' <<<"$s" | cut -d: -f2) |
    awk 'NR == 1 || $1 < a { a = $1 } $2 > b { b = $2 } END { print b - a }'
}
log_bytes_of() { grep -o '"log_bytes":[0-9]*' <<<"$run_json" | head -n 1 | cut -d: -f2; }

say "warm-up: one unmeasured run on each side"
run plain Jenkinsfile.stages 300
run tls Jenkinsfile.stages 300

declare -A stages ingest sizes
for ((r = 1; r <= reps; r++)); do
  for side in plain tls; do
    run "$side" Jenkinsfile.stages 300
    stages[$side]+="$(span_ms) "
  done
done
# Log ingest: BENCH_REPS runs per side, alternating; the median MB/s (one run is noisy on a
# shared 2-core machine), and the CPU the controller and the agent used, summed over the runs.
declare -A ccpu acpu rates
for ((r = 1; r <= reps; r++)); do
  for side in plain tls; do
    c0=$(cpu_ms "${cpid[$side]}") a0=$(cpu_ms "${apid[$side]}")
    run "$side" Jenkinsfile.biglog 900
    ccpu[$side]=$((${ccpu[$side]:-0} + $(cpu_ms "${cpid[$side]}") - c0))
    acpu[$side]=$((${acpu[$side]:-0} + $(cpu_ms "${apid[$side]}") - a0))
    rates[$side]+="$(calc "$log_bytes / 1000 / $(span_ms)" 1) "
    sizes[$side]=$(log_bytes_of)
  done
done
# shellcheck disable=SC2086  # space-separated numbers
for side in plain tls; do ingest[$side]=$(median ${rates[$side]}); done

# shellcheck disable=SC2086  # space-separated numbers
{
  per_plain=$(calc "$(median ${stages[plain]}) / $nstages" 2)
  per_tls=$(calc "$(median ${stages[tls]}) / $nstages" 2)
}
stage_ratio=$(calc "$per_tls / $per_plain" 2)
ingest_ratio=$(calc "${ingest[plain]} / ${ingest[tls]}" 2)
log_size=$(calc "$log_bytes / 1048576" 0)MiB

echo
echo "TLS (HTTPS/WSS, mutual TLS) against plain HTTP, same machine, same run:"
printf '  %-44s %10s %10s %8s\n' "figure" "plain" "tls" "tls/plain"
printf '  %-44s %10s %10s %8s\n' "stage time, $nstages x sh 'true' (ms per stage)" "$per_plain" "$per_tls" "$stage_ratio"
printf '  %-44s %10s %10s %8s\n' "log ingest, $log_size (MB/s; ratio plain/tls)" "${ingest[plain]}" "${ingest[tls]}" "$ingest_ratio"
echo "  stored log bytes: plain ${sizes[plain]}, tls ${sizes[tls]} (each run: ${stages[plain]}| ${stages[tls]}ms)"
echo "  log ingest runs (MB/s): ${rates[plain]}| ${rates[tls]}"
echo "  CPU per GiB of log (ms): controller $(calc "${ccpu[plain]} * 1073741824 / $log_bytes / $reps" 0) | $(calc "${ccpu[tls]} * 1073741824 / $log_bytes / $reps" 0), agent $(calc "${acpu[plain]} * 1073741824 / $log_bytes / $reps" 0) | $(calc "${acpu[tls]} * 1073741824 / $log_bytes / $reps" 0)"

bench_row "stage time over TLS, $nstages x sh 'true'" "$per_tls" ms "" "$per_plain" "plain HTTP"
bench_row "TLS cost on stage time (tls/plain)" "$stage_ratio" x "<= 1.3" "" ""
bench_row "log ingest over TLS, $log_size" "${ingest[tls]}" MB/s "" "${ingest[plain]}" "plain HTTP"
bench_row "TLS cost on log ingest (plain/tls)" "$ingest_ratio" x "<= 1.3" "" ""
