#!/usr/bin/env bash
# bench/ha.sh BUILD_DIR: the store on PostgreSQL against SQLite, and failover (issue 23,
# docs/ha.md). A throwaway PostgreSQL cluster (initdb/pg_ctl from Debian's postgresql, as the
# postgres user, on a loopback port, default settings: fsync and synchronous_commit on) is
# started here and removed at the end.
#
#   1. dispatch throughput: BENCH_HA_RUNS (1000) one-stage runs over 8 simulated agents
#      (gantry-sim-agents --work), as bench/dispatch.sh part 1, once on SQLite (the baseline) and
#      once on PostgreSQL, in this run.
#   2. log ingest: a real agent's stage printing BENCH_HA_LOG_MB (100) MiB, its stage time
#      (started_at -> finished_at, the controller's clock) on each store. The log bytes go to
#      files in either case (a shared directory with several controllers); the store holds the
#      stage's progress.
#   3. failover: two controllers on one database (lease BENCH_HA_LEASE, 3s, the shortest
#      allowed), one real agent given both URLs. BENCH_HA_TRIALS (20) times: kill -9 of the
#      leader, then a run posted to the other one until it is accepted; the figure is kill ->
#      that run's stage assigned (started_at), p50 and p99. The killed controller is started
#      again and follows; the next trial kills the other one. Baseline: the lease itself (a
#      follower cannot lead before the lease it saw has run out).
# Nothing is asserted. BENCH_QUICK=1: 200 runs, 20 MiB, 5 trials. BENCH_HA_URL_QUERY: appended to
# the database URLs, e.g. '?options=-c%20synchronous_commit%3Doff' (commits not flushed one by one).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/lib.sh"
runs=$(bench_knob BENCH_HA_RUNS 1000 200)
log_mb=$(bench_knob BENCH_HA_LOG_MB 100 20)
trials=$(bench_knob BENCH_HA_TRIALS 20 5)
lease=$(bench_knob BENCH_HA_LEASE 3s 3s)
bench_setup ha
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cp "$build/controller/gantry-controller" "$build/agent/gantry-agent" \
  "$build/tools/gantry-sim-agents" "$tmp/"

# ------------------------------------------------ a throwaway PostgreSQL
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$(mktemp -d /tmp/gantry-bench-pg-XXXXXX)
[[ $(id -u) == 0 ]] && chown postgres: "$pgdir"
as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/server.log" \
  -o "-p $pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgdir" start >/dev/null
pg_stop() {
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap 'bench_cleanup; pg_stop' EXIT
fresh_db() {  # prints a URL to a new, empty database (called in $(...): no counter)
  local name="bench_$(date +%s%N)"
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE $name" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$pgport/$name${BENCH_HA_URL_QUERY:-}"
}

# start_controller DIR [CONFIG_TEXT]: a controller on its own data dir; sets $server, $cpid.
start_controller() {
  local dir=$1
  mkdir -p "$dir"
  printf 'listen: 127.0.0.1:0\ndata_dir: %s/data\n%s\n' "$dir" "${2:-}" >"$dir/controller.yml"
  rm -f "$dir/data/controller.addr"
  "$tmp/gantry-controller" --config "$dir/controller.yml" >"$dir/controller.log" 2>&1 &
  cpid=$!
  pids+=("$cpid")
  for _ in $(seq 1 500); do [ -s "$dir/data/controller.addr" ] && break; sleep 0.02; done
  server=$(cat "$dir/data/controller.addr")
}
api() { curl -fsS -H "Authorization: Bearer $token" "$@"; }

pipeline="pipeline { agent { label 'simwork' }
  stages { stage('Build') { steps { echo 'built' } } } }"
# dispatch DIR [CONFIG]: prints runs/s for $runs runs over 8 sim agents.
dispatch() {
  start_controller "$1" "${2:-}"
  token=$(cat "$1/data/admin.token")
  printf '%s\n' "$pipeline" | "$tmp/gantry-sim-agents" trigger "$server" "$token" "$runs" bench >/dev/null
  local start done_runs=0 secs
  start=$(date +%s%N)
  "$tmp/gantry-sim-agents" "ws://${server#http://}" "$(cat "$1/data/agent.token")" 8 600 --work \
    >"$1/sim.out" 2>&1 &
  local sim=$!
  pids+=("$sim")
  for _ in $(seq 1 15000); do
    done_runs=$(api "$server/metrics" | awk '/^gantry_runs\{status="succeeded"\}/ { print $2 }')
    [ "${done_runs:-0}" -ge "$runs" ] && break
    sleep 0.02
  done
  secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  kill "$sim" "$cpid" 2>/dev/null || true
  wait "$sim" "$cpid" 2>/dev/null || true
  awk -v n="$done_runs" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'
}

# ingest DIR [CONFIG]: prints the seconds a stage printing $log_mb MiB takes.
ingest() {
  start_controller "$1" "${2:-}"
  token=$(cat "$1/data/admin.token")
  "$tmp/gantry-agent" --controller "$server" --token-file "$1/data/agent.token" \
    --work "$1/agent" --name bench --container-engine none >"$1/agent.log" 2>&1 &
  local agent=$!
  pids+=("$agent")
  local src="pipeline { agent any
  stages { stage('Log') { steps { sh 'yes 0123456789012345678901234567890123456789 | head -c $((log_mb << 20))' } } } }"
  local body id j st s f
  body=$(printf '%s' "$src" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{ printf "%s\\n", $0 }')
  id=$(api -H 'Content-Type: application/json' \
    --data "{\"source\":\"$body\",\"format\":\"jenkinsfile\",\"job\":\"ingest\"}" \
    "$server/api/v1/runs" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
  for _ in $(seq 1 6000); do
    j=$(api "$server/api/v1/runs/$id")
    [[ $j == *'"status":"succeeded"'* || $j == *'"status":"failed"'* ]] && break
    sleep 0.05
  done
  st=${j#*\"stages\":\[}
  s=$(sed -n 's/.*"started_at":\([0-9]*\).*/\1/p' <<<"$st")
  f=$(sed -n 's/.*"finished_at":\([0-9]*\).*/\1/p' <<<"$st")
  kill "$agent" "$cpid" 2>/dev/null || true
  wait "$agent" "$cpid" 2>/dev/null || true
  awk -v s="$s" -v f="$f" 'BEGIN { printf "%.2f", (f - s) / 1000 }'
}

# ------------------------------------------------ 1 and 2, SQLite then PostgreSQL
sqlite_rate=$(dispatch "$tmp/d-sqlite")
pg_rate=$(dispatch "$tmp/d-pg" "database: $(fresh_db)")
sqlite_ingest=$(ingest "$tmp/i-sqlite")
pg_ingest=$(ingest "$tmp/i-pg" "database: $(fresh_db)")

# ------------------------------------------------ 3. failover
url=$(fresh_db)
shared="$tmp/ha"
mkdir -p "$shared"
ports=()
for i in 0 1; do
  ports+=("$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')")
  printf 'listen: 127.0.0.1:%s\ndata_dir: %s/data\nagent_lost_after: 30s\ndatabase: {url: "%s", lease: %s}\n' \
    "${ports[$i]}" "$shared" "$url" "$lease" >"$shared/c$i.yml"
done
declare -A cpids
start_ha() {  # start_ha I: controller I (it leads if nobody does, else follows)
  "$tmp/gantry-controller" --config "$shared/c$1.yml" >>"$shared/c$1.log" 2>&1 &
  cpids[$1]=$!
  pids+=("${cpids[$1]}")
}
role() { curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[$1]}/healthz" || true; }
start_ha 0
for _ in $(seq 1 500); do [[ $(role 0) == 200 ]] && break; sleep 0.02; done
start_ha 1
for _ in $(seq 1 500); do [[ $(role 1) == 503 ]] && break; sleep 0.02; done
token=$(cat "$shared/data/admin.token")
"$tmp/gantry-agent" --controller "http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}" \
  --token-file "$shared/data/agent.token" --work "$shared/agent" --name ha \
  --container-engine none >"$shared/agent.log" 2>&1 &
pids+=("$!")
quick="pipeline { agent any
  stages { stage('S') { steps { sh 'true' } } } }"
qbody=$(printf '%s' "$quick" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{ printf "%s\\n", $0 }')
qbody="{\"source\":\"$qbody\",\"format\":\"jenkinsfile\",\"job\":\"failover\"}"
# One run through the leader first, so the agent is connected to it.
leader=0
post() {  # post I: POST a run to controller I; prints its id, or nothing when refused
  curl -s --max-time 2 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data "$qbody" "http://127.0.0.1:${ports[$1]}/api/v1/runs" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p' ||
    true  # refused while nobody leads
}
started_at() {  # started_at I ID: the stage's started_at once it has one (ms), after 30 s: nothing
  local j st s
  for _ in $(seq 1 1500); do
    j=$(curl -s --max-time 2 -H "Authorization: Bearer $token" "http://127.0.0.1:${ports[$1]}/api/v1/runs/$2" ||
      true)
    st=${j#*\"stages\":\[}
    s=$(sed -n 's/.*"started_at":\([1-9][0-9]*\).*/\1/p' <<<"$st")
    [[ -n $s ]] && { echo "$s"; return; }
    sleep 0.02
  done
}
first=$(post 0)
started_at 0 "$first" >/dev/null
: >"$tmp/failover.ms"
for _ in $(seq 1 "$trials"); do
  other=$((1 - leader))
  sleep 1  # the agent settled on the leader, the follower has read the lease
  killed=$(date +%s%3N)
  kill -9 "${cpids[$leader]}"
  wait "${cpids[$leader]}" 2>/dev/null || true
  id=""
  for _ in $(seq 1 1500); do
    id=$(post "$other")
    [[ -n $id ]] && break
    sleep 0.02
  done
  s=$(started_at "$other" "$id")
  [[ -n $s ]] && echo $((s - killed)) >>"$tmp/failover.ms"
  start_ha "$leader"  # back, as a follower
  for _ in $(seq 1 500); do [[ $(role "$leader") == 503 ]] && break; sleep 0.02; done
  leader=$other
done
pct() {  # pct FILE P: nearest rank
  sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; print v[i] }'
}
f50=$(pct "$tmp/failover.ms" 50)
f99=$(pct "$tmp/failover.ms" 99)
lease_ms=$(awk -v l="$lease" 'BEGIN { sub(/s$/, "", l); print l * 1000 }')

printf '%-66s %12s %14s\n' figure measured baseline
printf '%-66s %6s runs/s %8s runs/s\n' "dispatch on PostgreSQL, $runs one-stage runs over 8 agents" "$pg_rate" "$sqlite_rate"
printf '%-66s %9s s %11s s\n' "log ingest on PostgreSQL, a stage printing $log_mb MiB" "$pg_ingest" "$sqlite_ingest"
printf '%-66s %9s ms %10s ms\n' "failover, leader kill -9 -> next job assigned, p50 ($(wc -l <"$tmp/failover.ms") trials)" "$f50" "$lease_ms"
printf '%-66s %9s ms %10s ms\n' "failover, p99" "$f99" "$lease_ms"
echo "(baselines: the same on SQLite in this run; for failover, the lease ($lease), which a"
echo " follower must see run out before it leads)"
bench_row "dispatch on PostgreSQL, $runs runs over 8 agents" "$pg_rate" runs/s "" "$sqlite_rate" \
  "the same on SQLite"
bench_row "log ingest on PostgreSQL, $log_mb MiB stage" "$pg_ingest" s "" "$sqlite_ingest" \
  "the same on SQLite"
bench_row "failover: leader kill -9 -> next job assigned, p50" "$f50" ms "" "$lease_ms" \
  "the lease ($lease)"
bench_row "failover, p99" "$f99" ms "" "$lease_ms" "the lease ($lease)"
