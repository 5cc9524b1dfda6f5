#!/usr/bin/env bash
# The browser test (ctest -R browser): drives the controller's web page in
# Debian's chromium with playwright-core (tests/browser/flow.mjs).
#
#   bash tests/browser/run.sh BUILD_DIR
#   GANTRY_BROWSER_TLS=1 bash tests/browser/run.sh BUILD_DIR   # the same over HTTPS and WSS
#
# Installs playwright-core from the lock file into BUILD_DIR/browser (npm ci,
# only when missing or when the lock file changed), starts a controller
# (users: an admin and two release managers; staging, and production behind a
# GMUD), two agents and a bare git repository with a small pipeline, on
# 127.0.0.1 with free ports, then runs the flow. Screenshots go to
# BUILD_DIR/browser-screenshots/ (CI keeps them); state and logs to
# BUILD_DIR/browser-test/. Everything it starts is killed on exit. A missing
# tool fails the test: nothing is skipped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
# Over TLS (ctest -R browser_tls): a throwaway CA and a certificate for 127.0.0.1 made with
# openssl, the agents and curl trusting that CA, Chromium told to accept it; its own dirs, so
# that both variants can run at once.
tls=${GANTRY_BROWSER_TLS:-}
suffix=${tls:+-tls}
work="$build/browser-test$suffix"
shots="$build/browser-screenshots$suffix"
modules="$build/browser"

fail() {
  echo "browser test: $*" >&2
  exit 1
}

start_controller() {  # $1: HOST:PORT to listen on
  rm -f "$work/data/controller.addr"
  "$build/controller/gantry-controller" --config "$work/controller.yml" --listen "$1" \
    --data "$work/data" </dev/null >>"$work/controller.log" 2>&1 &
  echo $! >"$work/controller.pid"
  for _ in $(seq 1 500); do
    [ -s "$work/data/controller.addr" ] && return 0
    kill -0 "$(cat "$work/controller.pid")" 2>/dev/null || break
    sleep 0.02
  done
  tail -n 20 "$work/controller.log" >&2
  fail "the controller did not start (log: $work/controller.log)"
}

# `run.sh BUILD_DIR --restart-controller`, run by flow.mjs: stops the
# controller (TERM, then KILL after 10 s) and starts it again on the same
# address with the same data. The new pid goes to controller.pid, which the
# main script's exit trap kills.
if [ "${2:-}" = "--restart-controller" ]; then
  pid=$(cat "$work/controller.pid")
  listen=$(cat "$work/controller.listen")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  start_controller "$listen"
  exit 0
fi

# What the test needs; each missing one fails it.
command -v node >/dev/null || fail "node is missing (bash packaging/deps.sh installs nodejs)"
command -v npm >/dev/null || fail "npm is missing (bash packaging/deps.sh installs npm)"
command -v git >/dev/null || fail "git is missing (bash packaging/deps.sh)"
command -v curl >/dev/null || fail "curl is missing (bash packaging/deps.sh)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (bash packaging/deps.sh installs chromium)"
for b in controller/gantry-controller agent/gantry-agent cli/gantry; do
  [ -x "$build/$b" ] || fail "$build/$b is missing: build it first"
done

# playwright-core, exactly as locked, from the npm registry.
# browser and browser_tls run at once under ctest -j: they take turns (tests/support/npm_ci.sh).
# shellcheck source=tests/support/npm_ci.sh
source "$here/../support/npm_ci.sh"
npm_ci "$here" "$modules" playwright-core/package.json || fail "npm ci"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -f "$work/controller.pid" ]; then kill "$(cat "$work/controller.pid")" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work" "$shots"
mkdir -p "$work" "$shots"
tls_yaml="" agent_tls=() curl_tls=()
if [ -n "$tls" ]; then
  command -v openssl >/dev/null || fail "openssl is missing (bash packaging/deps.sh)"
  pki="$work/pki"
  sh "$here/../support/make_test_pki.sh" "$pki" || fail "openssl could not make the test certificates"
  tls_yaml="tls: {cert: $pki/server.pem, key: $pki/server.key}"
  agent_tls=(--ca "$pki/ca.pem")
  curl_tls=(--cacert "$pki/ca.pem")
fi

# The team's repository: a bare one the controller watches, pushed from a
# work clone. Its pipeline: Build (a long log, then ANSI colors and text that
# looks like HTML), parallel Tests, a staging deploy, and a production deploy
# behind a GMUD with rollback steps.
src="$work/src"
bare="$work/app.git"
git init -q -b main "$src"
cat >"$src/Jenkinsfile" <<'GROOVY'
pipeline {
  agent { label 'linux' }
  stages {
    stage('Build') {
      steps {
        sh 'seq 1 50000'
        sh 'sleep 3'
        sh 'printf "\\033[32mcompiled ok\\033[0m \\033[1;31mbold red\\033[0m <b>not bold</b>\\n"'
        sh 'mkdir -p dist && echo "app binary" > dist/app.bin'
        archiveArtifacts artifacts: 'dist/app.bin'
      }
    }
    stage('Tests') {
      parallel {
        stage('Unit') {
          steps { sh 'echo unit tests pass; sleep 1' }
        }
        stage('Lint') {
          steps { sh 'echo lint is clean; sleep 1' }
        }
      }
    }
    stage('Staging') {
      deploy('staging')
      steps { sh 'echo "deploying $RELEASE_ID to staging"' }
    }
    stage('Production') {
      deploy('production') {
        rollback { sh 'echo "rolling back $RELEASE_ID"' }
      }
      gmud {
        title 'Release to production'
        impact 'low'
        rollbackPlan 'run the rollback steps'
      }
      steps { sh 'echo "deploying $RELEASE_ID to production"' }
    }
  }
}
GROOVY
"$build/cli/gantry" lint "$src/Jenkinsfile" >/dev/null || fail "the test pipeline does not lint"
git -C "$src" add -A
git -C "$src" -c user.name="Dev" -c user.email=dev@example.com commit -qm "The app and its pipeline"
git clone -q --bare "$src" "$bare"

# The lab repository, a developer's everyday pipeline: parameters (a choice among them), a
# stash, a canary to staging (its phases named on the page), a JUnit report with a failing
# test, and a stage for a label no agent has (it waits, saying why).
lab_src="$work/lab-src"
lab_bare="$work/lab.git"
git init -q -b main "$lab_src"
mkdir -p "$lab_src/reports"
cat >"$lab_src/Jenkinsfile" <<'GROOVY'
pipeline {
  agent { label 'linux' }
  parameters {
    choice(name: 'FLAVOR', choices: ['vanilla', 'chocolate', 'mint'], description: 'Which flavour to build')
    booleanParam(name: 'LOUD', defaultValue: false, description: 'Shout the greeting')
    string(name: 'GREETING', defaultValue: 'hello', description: 'What to say')
  }
  stages {
    stage('Prepare') {
      steps {
        sh 'echo "flavor=$FLAVOR loud=$LOUD greeting=$GREETING" | tee flavor.txt'
        stash name: 'prep', includes: 'flavor.txt'
      }
    }
    stage('Canary') {
      deploy('staging') {
        canary { weights 50, 100 }
        rollback { sh 'echo "rolling back $RELEASE_ID"' }
      }
      steps { sh 'echo "canary at $CANARY_WEIGHT%"' }
    }
    stage('Test') {
      steps {
        unstash 'prep'
        sh 'cat flavor.txt'
        junit 'reports/*.xml'
      }
    }
    stage('Windows') {
      agent { label 'windows' }
      steps { sh 'echo never here' }
    }
  }
}
GROOVY
cat >"$lab_src/reports/unit.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="cart" tests="3" failures="1">
  <testcase classname="shop.CartTest" name="adds" time="0.01"/>
  <testcase classname="shop.CartTest" name="totals" time="0.25">
    <failure message="expected 3 but was 2" type="AssertionError">AssertionError: expected 3 but was 2
	at shop.CartTest.totals(CartTest.java:42)</failure>
  </testcase>
  <testcase classname="shop.CartTest" name="removes" time="0.02"/>
</testsuite>
XML
"$build/cli/gantry" lint "$lab_src/Jenkinsfile" >/dev/null || fail "the lab pipeline does not lint"
git -C "$lab_src" add -A
git -C "$lab_src" -c user.name="Dev" -c user.email=dev@example.com commit -qm "The lab and its tests"
git clone -q --bare "$lab_src" "$lab_bare"

token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
admin_token=$(token) rosa_token=$(token) ravi_token=$(token) dev_token=$(token)
cat >"$work/controller.yml" <<YML
users:
  - {name: admin, role: admin, token: $admin_token}
  - {name: rosa, role: release-manager, groups: [release-managers], emails: [rosa@example.com], token: $rosa_token}
  - {name: ravi, role: release-manager, groups: [release-managers], emails: [ravi@example.com], token: $ravi_token}
  - {name: dev, role: developer, emails: [dev@example.com], token: $dev_token}
repositories:
  - name: app
    url: file://$bare
    branches: [main]
    poll: 1s
  - name: lab
    url: file://$lab_bare
    branches: [main]
    poll: 1s
environments:
  staging: {}
  production:
    gmud:
      approvers: [release-managers]
      min_approvals: 1
$tls_yaml
YML

# Port 0: a free port. A restart (flow.mjs) reuses the one it got.
start_controller 127.0.0.1:0
server=$(cat "$work/data/controller.addr")
echo "${server#*://}" >"$work/controller.listen"
for n in 1 2; do
  "$build/agent/gantry-agent" --controller "$server" --token "$(cat "$work/data/agent.token")" \
    --name "agent-$n" --labels linux --executors 1 --work "$work/agent-$n" --container-engine none \
    "${agent_tls[@]}" \
    </dev/null >"$work/agent-$n.log" 2>&1 &
  pids+=($!)
done
connected=0
for _ in $(seq 1 250); do
  connected=$(curl -s "${curl_tls[@]}" -H "Authorization: Bearer $admin_token" "$server/api/v1/agents" |
    grep -o '"connected":true' | wc -l) || true
  [ "$connected" -ge 2 ] && break
  sleep 0.04
done
[ "$connected" -ge 2 ] || fail "the agents did not connect (logs: $work/agent-*.log)"
echo "browser test: controller at $server, 2 agents" >&2

export GANTRY_URL="$server" GANTRY_ADMIN_TOKEN="$admin_token" GANTRY_ROSA_TOKEN="$rosa_token"
export GANTRY_DEV_TOKEN="$dev_token"
export GANTRY_BROWSER_MODULES="$modules" GANTRY_SCREENSHOTS="$shots"
export GANTRY_RESTART="bash $here/run.sh $build --restart-controller"
# In the background, so that the traps run at once on a signal.
timeout 480 node "$here/flow.mjs" &
flow=$!
pids+=($flow)
status=0
wait "$flow" || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser test: the flow failed ($status); controller log tail ($work/controller.log):" >&2
  tail -n 30 "$work/controller.log" >&2
  exit 1
fi
echo "browser test: passed; screenshots in $shots" >&2
