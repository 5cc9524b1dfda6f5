#!/usr/bin/env bash
# `make demo`: a controller and two agents on 127.0.0.1, a bare git
# repository the controller watches, and two pushes of the project in
# examples/demo/ that start runs by themselves, shown live: the first commit
# has a failing test (post { failure }), the second fixes it (post { fixed })
# and deploys to staging, then stops at production's GMUD change request
# until two release managers approve it (the demo prints their commands and,
# when nobody is at the terminal, runs them itself); production then goes
# out as a canary at 10%, 50% and 100%, each weight checked by compareMetrics.
# Last, a second pipeline (examples/demo/canary-fails.Jenkinsfile) sends a
# canary to staging whose analysis fails at 50%: it rolls itself back, and
# staging's previous release is current again. Everything it starts is
# stopped on exit or Ctrl-C. State lives in BUILD/demo/ and is recreated
# each time.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) bin="$build" ;; *) bin="$root/$build" ;; esac
demo="$bin/demo"
gantry="$bin/cli/gantry"

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$demo"
mkdir -p "$demo"

bold "gantry lint examples/demo/Jenkinsfile"
"$gantry" lint "$root/examples/demo/Jenkinsfile"

bold "a team's git repository (bare, as on a git server) and a work clone"
repo="$demo/repo"     # where the demo "developer" works
bare="$demo/app.git"  # what the controller watches
git init -q -b main "$repo"
echo "# Demo" >"$repo/README.md"
git -C "$repo" add -A
git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com commit -qm "Start the project"
git clone -q --bare "$repo" "$bare"
git -C "$repo" remote add origin "$bare"
echo "$bare"

bold "starting gantry-controller, watching it (logs: $demo/controller.log)"
# The people: an admin (the demo's own token), two release managers who may
# approve production changes, and the developer who pushes the commits (and
# so may not approve them). Tokens are fresh for each demo.
token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
admin_token=$(token) rosa_token=$(token) ravi_token=$(token) dev_token=$(token)
cat >"$demo/controller.yml" <<YML
users:
  - {name: admin, role: admin, token: $admin_token}
  - {name: rosa, role: release-manager, groups: [release-managers], emails: [rosa@example.com], token: $rosa_token}
  - {name: ravi, role: release-manager, groups: [release-managers], emails: [ravi@example.com], token: $ravi_token}
  - {name: dev, role: developer, emails: [dev@example.com], token: $dev_token}
repositories:
  - name: demo
    url: file://$bare
    branches: [main]
    poll: 1s
environments:
  staging: {}
  production:
    gmud:
      approvers: [release-managers]
      min_approvals: 2
      expires_after: 24h
YML
sed -E 's/token: [0-9a-f]{32}/token: .../' "$demo/controller.yml"
# Port 0: a free port, so the demo never collides with a running controller.
"$bin/controller/gantry-controller" --config "$demo/controller.yml" --listen 127.0.0.1:0 \
  --data "$demo/data" >"$demo/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 250); do [ -s "$demo/data/controller.addr" ] && break; sleep 0.02; done
server=$(cat "$demo/data/controller.addr")
export GANTRY_SERVER="$server" GANTRY_TOKEN="$admin_token"
echo "controller at $server"

bold "starting two agents"
for n in 1 2; do
  "$bin/agent/gantry-agent" --controller "$server" --token-file "$demo/data/agent.token" \
    --name "agent-$n" --labels linux --executors 1 --work "$demo/agent-$n" \
    >"$demo/agent-$n.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 250); do
  [ "$("$gantry" agents | grep -c ' connected')" -ge 2 ] && break
  sleep 0.04
done
"$gantry" agents

# The id of run number $1 of the job demo/main, once the push has started it.
wait_run_number() {
  local id
  for _ in $(seq 1 300); do
    id=$("$gantry" runs | awk -v n="$1" '$2 == "demo/main#" n { print $1 }')
    [ -n "$id" ] && { echo "$id"; return; }
    sleep 0.1
  done
  echo "demo: no run $1 of demo/main started; see $demo/controller.log" >&2
  exit 1
}

bold "commit the project from examples/demo, with a bug, and git push"
cp -r "$root/examples/demo/." "$repo/"
sed -i 's/Hello, Gantry!");/Hello, World!");/' "$repo/src/hello.c"
git -C "$repo" add -A
git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com commit -qm "Greet the world"
git -C "$repo" push -q origin main
bold "run 1 starts by itself (the controller polls every second; a webhook would start it at once)"
run=$(wait_run_number 1)
"$gantry" wait "$run" || true
bold "the failing stage's log: gantry logs $run 'Test / Unit'"
"$gantry" logs "$run" "Test / Unit"
"$gantry" logs "$run" "Declarative: Post Actions" | grep -v '^\[gantry\]' || true

bold "fix the greeting, commit, git push: run 2"
cp "$root/examples/demo/src/hello.c" "$repo/src/hello.c"
git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com commit -qam "Greet Gantry, as the pipeline expects"
git -C "$repo" push -q origin main
run=$(wait_run_number 2)
for _ in $(seq 1 600); do
  "$gantry" approvals --json | grep -Eq '"status": *"pending"' && break
  sleep 0.1
done
bold "tests pass, staging is deployed; production waits for its change request: gantry approvals"
"$gantry" show "$run" | grep -E 'Staging|Production'
"$gantry" approvals
gmud=$("$gantry" approvals --json | grep -Eo '"id": *"GMUD-[0-9]+"' | grep -Eo 'GMUD-[0-9]+' | head -1)
approve1="GANTRY_TOKEN=$rosa_token $gantry approve $gmud --comment 'tests green, low impact'"
approve2="GANTRY_TOKEN=$ravi_token $gantry approve $gmud"
cat <<TXT

$gmud needs two release managers. Approve it as rosa, then as ravi
(GANTRY_SERVER=$server):
  $approve1
  $approve2
TXT
if [ -t 0 ] && [ -z "${GANTRY_DEMO_NONINTERACTIVE:-}" ]; then
  echo
  read -r -p "Run them in another terminal, or press Enter to run them here: " _ || true
fi
if "$gantry" approvals --json | grep -Eq '"status": *"pending"'; then
  bold "approving $gmud as rosa, then as ravi"
  (eval "$approve1")
  (eval "$approve2")
fi
bold "production goes out as a canary: 10%, 50%, 100%, a pause and compareMetrics at each"
"$gantry" wait "$run"
"$gantry" logs "$run" "Declarative: Post Actions" | grep -v '^\[gantry\]' || true
"$gantry" show "$run" | grep -E 'Production'

bold "a canary whose analysis fails at 50%: gantry trigger --repo demo --file canary-fails.Jenkinsfile"
failing=$("$gantry" trigger --repo demo --ref main --file canary-fails.Jenkinsfile)
"$gantry" wait "$failing" || true
"$gantry" show "$failing" | grep -E 'Staging'
bold "gantry releases: the failed canary is rolled_back, staging's R-1 is current again"
"$gantry" releases

bold "gantry repos"
"$gantry" repos

bold "gantry show $run"
"$gantry" show "$run"

cat <<TXT

Open $server/ in a browser and sign in with the admin's token $admin_token
(or rosa's, $rosa_token, to approve and roll back from the page).

Try, with GANTRY_SERVER=$server and GANTRY_TOKEN=$admin_token (admin):
  $gantry runs
  $gantry approvals --all
  $gantry releases                           # R-1 staging, R-2 production (GMUD-1), R-3 rolled back
  GANTRY_TOKEN=$rosa_token $gantry rollback R-2 --comment 'try it'
  $gantry logs $failing Staging              # each phase: 10%, its analysis, 50%, ..., the rollback
  $gantry logs $failing Staging --attempt 4  # the analysis that failed at 50%
  $gantry audit; $gantry audit verify
  $gantry logs $run -f
  $gantry retry $run
  $gantry trigger --repo demo --ref main      # run the branch now, without a push
  cd $repo; edit; git commit -am ...; git push   # then: gantry runs
  (cd $repo && $gantry run)                 # the same pipeline, locally, no daemons
TXT
if [ -t 0 ] && [ -z "${GANTRY_DEMO_NONINTERACTIVE:-}" ]; then
  echo
  echo "The controller and agents keep running; press Ctrl-C to stop them."
  while true; do sleep 3600; done
fi
