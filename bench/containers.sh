#!/usr/bin/env bash
# bench/containers.sh BUILD_DIR: the cost of running a stage in a container
# (issue 20, docs/containers.md). One controller and one agent with its
# container engine (podman here), an image made locally from busybox-static.
#
#   1. host: a pipeline of BENCH_CONTAINER_STAGES (10) stages of `sh 'true'`
#      on the agent itself; per stage, the stage's own time (started_at ->
#      finished_at, controller clock);
#   2. container: the same stages, each under `agent { docker { image } }`
#      (a container started, the step run in it by `exec`, the container
#      removed);
#   3. the floor: `podman run --rm IMAGE true`, the same number of times.
# Reports the per-stage medians, the ratio container / host, and how much of
# the container stage's extra time the floor accounts for. Nothing is asserted.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/lib.sh"
stages=$(bench_knob BENCH_CONTAINER_STAGES 10 5)
image=localhost/gantry-bench-busybox:1
command -v podman >/dev/null || { echo "containers.sh: podman is not installed (packaging/deps.sh)" >&2; exit 2; }
busybox=$(command -v busybox || echo /bin/busybox)
[[ -x $busybox ]] || { echo "containers.sh: busybox-static is not installed" >&2; exit 2; }
bench_setup containers
cp "$build/controller/gantry-controller" "$build/agent/gantry-agent" "$tmp/"

# The image: busybox-static and its applets.
mkdir -p "$tmp/root/bin" "$tmp/root/etc" "$tmp/root/tmp"
cp "$busybox" "$tmp/root/bin/busybox"
for a in $("$tmp/root/bin/busybox" --list); do
  [[ $a == busybox ]] || ln -sf busybox "$tmp/root/bin/$a"
done
echo "ID=gantrybench" >"$tmp/root/etc/os-release"
podman image exists "$image" || tar -C "$tmp/root" -cf - . | podman import - "$image" >/dev/null

bench_controller --listen 127.0.0.1:0 --data "$tmp/data"
token=$(cat "$tmp/data/admin.token")
"$tmp/gantry-agent" --controller "$server" --token-file "$tmp/data/agent.token" --name bench \
  --labels bench --work "$tmp/work" --container-engine auto >"$tmp/agent.log" 2>&1 &
pids+=("$!")
api() { curl -fsS -H "Authorization: Bearer $token" "$@"; }
for _ in $(seq 1 600); do
  api "$server/api/v1/agents" | grep -q '"docker"' && break
  sleep 0.1
done
api "$server/api/v1/agents" | grep -q '"docker"' || {
  echo "containers.sh: the agent found no container engine:" >&2
  grep container_engine "$tmp/agent.log" >&2
  exit 1
}
engine=$(sed -n 's/.*container_engine engine="\([^"]*\)".*/\1/p' "$tmp/agent.log" | head -1)
# The flags detection found (runtime, limits), so the floor runs as the agent's containers do.
read -r -a flags <<<"$(sed -n 's/.*, flags \(.*\))$/\1/p' <<<"$engine")"
global=() run_flags=()
while ((${#flags[@]})); do
  if [[ ${flags[0]} == --ulimit ]]; then run_flags+=("${flags[@]:0:2}"); else global+=("${flags[@]:0:2}"); fi
  flags=("${flags[@]:2}")
done

# pipeline AGENT_LINE: $stages stages of sh 'true', each with AGENT_LINE.
pipeline() {
  local out="pipeline { agent none\n stages {\n" i
  for i in $(seq 1 "$stages"); do
    out+="  stage('S$i') {\n    $1\n    steps { sh 'true' }\n  }\n"
  done
  printf '%s }\n}\n' "$out"
}
# stage_ms PIPELINE_TEXT: runs it, prints each stage's started_at -> finished_at (ms).
stage_ms() {
  local body id j
  body=$(printf '%b' "$1" | /usr/bin/python3 -c 'import json,sys; print(json.dumps({"source": sys.stdin.read(), "format": "jenkinsfile", "job": "bench"}))')
  id=$(api -H 'Content-Type: application/json' --data "$body" "$server/api/v1/runs" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  local status=""
  for _ in $(seq 1 1200); do
    j=$(api "$server/api/v1/runs/$id")
    status=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$j")
    [[ $status == succeeded || $status == failed ]] && break
    sleep 0.1
  done
  [[ $status == succeeded ]] || { echo "containers.sh: run $id: $status" >&2; tail -20 "$tmp/agent.log" >&2; exit 1; }
  /usr/bin/python3 -c 'import json,sys
for s in json.loads(sys.argv[1])["stages"]:
  if s.get("started_at") and s.get("finished_at"): print(s["finished_at"] - s["started_at"])
  else: print(s, file=sys.stderr)' "$j"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

stage_ms "$(pipeline "agent { label 'bench' }")" >/dev/null  # warm: checkout mirror, caches
host=$(stage_ms "$(pipeline "agent { label 'bench' }")" | median)
box=$(stage_ms "$(pipeline "agent { docker { image '$image' } }")" | median)
floor=$(for _ in $(seq 1 "$stages"); do
  s=$(date +%s%N)
  podman "${global[@]}" run --rm "${run_flags[@]}" "$image" true >/dev/null
  echo $(( ($(date +%s%N) - s) / 1000000 ))
done | median)
ratio=$(awk -v a="$box" -v b="$host" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }')
extra=$(awk -v a="$box" -v b="$host" 'BEGIN { print a - b }')
share=$(awk -v f="$floor" -v e="$extra" 'BEGIN { printf "%.0f", (e > 0) ? 100 * f / e : 0 }')

printf '%-62s %10s\n' figure measured
printf '%-62s %7s ms\n' "stage of sh 'true' on the agent (median of $stages)" "$host"
printf '%-62s %7s ms\n' "the same stage in a docker agent container" "$box"
printf '%-62s %7s ms\n' "floor: podman run --rm IMAGE true" "$floor"
printf '%-62s %8sx\n' "ratio container / host" "$ratio"
printf '%-62s %7s ms (the floor is %s%% of it)\n' "container stage's extra time" "$extra" "$share"
echo "(engine: $engine)"

bench_row "stage of sh 'true' in a docker agent" "$box" ms "" "$host" "the same stage on the agent itself"
bench_row "container start floor (podman run --rm true)" "$floor" ms "" "$extra" \
  "the container stage's extra time over the host stage"
