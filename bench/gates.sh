#!/usr/bin/env bash
# Approval to deploy: how long a GMUD-gated deploy stage takes to start on an
# agent once its last approval arrives (`gantry approve` → the stage's
# started_at), against the same deploy to an ungated environment from
# `gantry trigger` → started_at, in the same run. Both sides include one CLI
# process and one controller decision; the gated one also stores the
# decision, re-evaluates the policy, appends to the audit chain and records
# the release. BENCH_GATE_RUNS (30; 10 under BENCH_QUICK=1) runs each. Prints p50 and p99 and the
# ratio. Starts its own controller and agent on 127.0.0.1 and removes them.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
source "$(dirname "$0")/lib.sh"
runs=$(bench_knob BENCH_GATE_RUNS 30 10)
bench_setup gates
cp "$build/controller/gantry-controller" "$build/agent/gantry-agent" "$build/cli/gantry" "$tmp/"
cat >"$tmp/c.yml" <<YML
listen: 127.0.0.1:0
data_dir: $tmp/data
users:
  - {name: ada, role: admin, token: admin-token}
  - {name: rita, role: release-manager, groups: [rm], token: rita-token}
environments:
  staging: {}
  production: {gmud: {approvers: [rm]}}
YML
bench_controller --config "$tmp/c.yml"
export GANTRY_SERVER=$server GANTRY_TOKEN=admin-token
"$tmp/gantry-agent" --controller "$GANTRY_SERVER" --token-file "$tmp/data/agent.token" \
  --name a1 --work "$tmp/a1" >"$tmp/agent.log" 2>&1 &
pids+=($!)
for env in staging production; do
  mkdir -p "$tmp/$env" && cd "$tmp/$env"
  git init -q -b main
  printf "pipeline { agent any\n  options { skipDefaultCheckout() }\n  stages { stage('Deploy') { deploy('%s'); steps { echo 'go' } } } }\n" "$env" >Jenkinsfile
  git add -A && git -c user.name=B -c user.email=b@example.com commit -qm bench
done
started_at() {
  "$tmp/gantry" show "$1" --json | python3 -c \
    'import json,sys; print([s for s in json.load(sys.stdin)["stages"] if s["id"]=="Deploy"][0]["started_at"])'
}
ms() { date +%s%3N; }
: >"$tmp/ungated" && : >"$tmp/gated"
for i in $(seq 1 "$runs"); do
  t0=$(ms)
  id=$("$tmp/gantry" trigger --repo "$tmp/staging")
  "$tmp/gantry" wait "$id" >/dev/null
  echo $(($(started_at "$id") - t0)) >>"$tmp/ungated"

  id=$("$tmp/gantry" trigger --repo "$tmp/production")
  for _ in $(seq 1 500); do
    "$tmp/gantry" approvals --json | grep -q '"status": "pending"' && break
    sleep 0.01
  done
  gmud=$("$tmp/gantry" approvals --json | sed -n 's/.*"id": "\(GMUD-[0-9]*\)".*/\1/p' | head -1)
  t0=$(ms)
  GANTRY_TOKEN=rita-token "$tmp/gantry" approve "$gmud" >/dev/null
  "$tmp/gantry" wait "$id" >/dev/null
  echo $(($(started_at "$id") - t0)) >>"$tmp/gated"
done
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; print a[i]}'; }
g50=$(pct "$tmp/gated" 50) g99=$(pct "$tmp/gated" 99)
u50=$(pct "$tmp/ungated" 50) u99=$(pct "$tmp/ungated" 99)
printf '%-52s %10s %14s %8s\n' figure measured reference ratio
printf '%-52s %8s ms %11s ms %8s\n' "approve -> deploy starts, p50 ($runs runs)" "$g50" "$u50" \
  "$(awk -v a="$g50" -v b="$u50" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
printf '%-52s %8s ms %11s ms %8s\n' "approve -> deploy starts, p99" "$g99" "$u99" \
  "$(awk -v a="$g99" -v b="$u99" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
echo "(reference: trigger -> the same deploy starts in an ungated environment)"
bench_row "GMUD approve -> deploy starts, p50 ($runs runs)" "$g50" ms "" "$u50" \
  "trigger -> the same deploy starts, ungated, p50"
bench_row "GMUD approve -> deploy starts, p99" "$g99" ms "" "$u99" "the same, p99"
