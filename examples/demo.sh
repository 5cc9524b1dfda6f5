#!/usr/bin/env bash
# `make demo`: a controller and two agents on 127.0.0.1, a git repository
# made from examples/demo/, and two runs of its pipeline shown live: the
# first commit has a failing test (post { failure }), the second fixes it
# (post { fixed }) and deploys. Everything it starts is stopped on exit or
# Ctrl-C. State lives in BUILD/demo/ and is recreated each time.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build"
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

bold "starting gantry-controller (logs: $demo/controller.log)"
# Port 0: a free port, so the demo never collides with a running controller.
"$bin/controller/gantry-controller" --listen 127.0.0.1:0 --data "$demo/data" \
  >"$demo/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 250); do [ -s "$demo/data/controller.addr" ] && break; sleep 0.02; done
server=$(cat "$demo/data/controller.addr")
export GANTRY_SERVER="$server" GANTRY_TOKEN="$(cat "$demo/data/admin.token")"
echo "controller at $server"

bold "starting two agents"
for n in 1 2; do
  "$bin/agent/gantry-agent" --controller "$server" --token "$(cat "$demo/data/agent.token")" \
    --name "agent-$n" --labels linux --executors 1 --work "$demo/agent-$n" \
    >"$demo/agent-$n.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 250); do
  [ "$("$gantry" agents | grep -c ' connected')" -ge 2 ] && break
  sleep 0.04
done
"$gantry" agents

bold "a git repository from examples/demo, with a bug in its first commit"
repo="$demo/repo"
cp -r "$root/examples/demo" "$repo"
sed -i 's/Hello, Gantry!");/Hello, World!");/' "$repo/src/hello.c"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com commit -qm "Greet the world"
echo "$repo"

bold "run 1: gantry trigger --repo $repo --ref main"
run=$("$gantry" trigger --repo "$repo" --ref main)
"$gantry" wait "$run" || true
bold "the failing stage's log: gantry logs $run 'Test / Unit'"
"$gantry" logs "$run" "Test / Unit"
"$gantry" logs "$run" "Declarative: Post Actions" | grep -v '^\[gantry\]' || true

bold "fix the greeting, commit, run 2"
cp "$root/examples/demo/src/hello.c" "$repo/src/hello.c"
git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com commit -qam "Greet Gantry, as the pipeline expects"
run=$("$gantry" trigger --repo "$repo" --ref main)
"$gantry" wait "$run"
"$gantry" logs "$run" "Declarative: Post Actions" | grep -v '^\[gantry\]' || true

bold "gantry show $run"
"$gantry" show "$run"

cat <<TXT

Try, with GANTRY_SERVER=$server and GANTRY_TOKEN=\$(cat $demo/data/admin.token):
  $gantry runs
  $gantry logs $run -f
  $gantry retry $run
  (cd $repo && $gantry run)                 # the same pipeline, locally, no daemons
TXT
if [ -t 0 ] && [ -z "${GANTRY_DEMO_NONINTERACTIVE:-}" ]; then
  echo
  echo "The controller and agents keep running; press Ctrl-C to stop them."
  while true; do sleep 3600; done
fi
