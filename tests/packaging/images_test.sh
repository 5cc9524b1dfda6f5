#!/usr/bin/env bash
# The container images (packaging/images.sh, docs/install.md "Containers"):
# built from this build's packages, they run a pipeline together, as their
# non-root users, and both HEALTHCHECKs pass (and the agent's fails once its
# controller is gone). The containers share the host's loopback (podman's
# host network: every server here stays on 127.0.0.1); the data and work
# directories are volumes, the configs and the agent's token mounted files;
# a git daemon serves the repository.
# Usage: images_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "$0")/lib.sh"
src=$(realpath "$1") build=$(realpath "$2")
[[ $(id -u) -eq 0 ]] || {
  echo "FAIL: the images test needs root (mmdebstrap, podman)" >&2
  exit 1
}
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
work=$(mktemp -d /tmp/gantry-images.XXXXXX)
names=() tag="" git_pid=""
cleanup() {
  local rc=$?
  for n in "${names[@]}"; do
    if [[ $rc -ne 0 ]]; then
      echo "--- podman logs $n (tail)"
      "${podman[@]}" logs --tail 30 "$n" 2>&1 || true
    fi
    "${podman[@]}" rm -f -t 2 "$n" >/dev/null 2>&1 || true
  done
  if [[ -n $tag ]]; then
    "${podman[@]}" rmi -f "localhost/gantry-controller:$tag" "localhost/gantry-agent:$tag" \
      >/dev/null 2>&1 || true
  fi
  [[ -n $git_pid ]] && kill "$git_pid" 2>/dev/null
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

step "packages from this build, then the images"
version=$(build_version "$build")-image
pack "$build" "$work/debs" "$version"
tag=$(tr '+~' '_-' <<<"$version")  # as images.sh tags them
GANTRY_APT_CACHE=$build/packaging-cache/apt bash "$src/packaging/images.sh" "$work/debs"
"${podman[@]}" image inspect --format '{{.Config.User}} {{.Config.Healthcheck.Test}}' \
  "localhost/gantry-controller:$tag" "localhost/gantry-agent:$tag"
[[ $("${podman[@]}" image inspect --format '{{.Config.User}}' "localhost/gantry-controller:$tag") == 10001:10001 ]] ||
  fail "the controller image does not run as 10001"

step "a repository to build"
git init -q -b main "$work/app"
cat >"$work/app/Jenkinsfile" <<'GROOVY'
pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'echo "built as $(id -un) with $(git --version)"'
        sh 'test -f Jenkinsfile'
      }
    }
  }
}
GROOVY
git -C "$work/app" add -A
git -C "$work/app" -c user.name=Admin -c user.email=admin@example.com commit -qm "A pipeline"
git clone -q --bare "$work/app" "$work/app.git"
# Served by a real git daemon on loopback, as a forge would serve it: a
# bind-mounted repository belongs to a user the containers do not know, which
# git refuses (safe.directory).
git_port=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$git_port" --base-path="$work" --export-all "$work" \
  >"$work/git-daemon.log" 2>&1 &
git_pid=$!
git_up() { git ls-remote "git://127.0.0.1:$git_port/app.git"; }
wait_for "git daemon" 20 git_up

step "the controller container"
mkdir -p "$work/data" "$work/agent-work" "$work/etc"
chown 10001:10001 "$work/data"
chown 10002:10002 "$work/agent-work"
cat >"$work/etc/controller.yml" <<'YML'
listen: 127.0.0.1:0
data_dir: /var/lib/gantry
repositories:
  - {name: app, url: "git://127.0.0.1:GIT_PORT/app.git", branches: [main], poll: 1h}
YML
sed -i "s/GIT_PORT/$git_port/" "$work/etc/controller.yml"
chmod 0644 "$work/etc/controller.yml"
names+=(gantry-test-controller)
"${podman[@]}" run -d --name gantry-test-controller --network host \
  --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 --health-interval=disable \
  -v "$work/etc/controller.yml:/etc/gantry/controller.yml:ro" -v "$work/data:/var/lib/gantry" \
  "localhost/gantry-controller:$tag" >/dev/null
wait_for "the controller container listening" 30 test -s "$work/data/controller.addr"
server=$(cat "$work/data/controller.addr")
[[ $("${podman[@]}" exec gantry-test-controller id -un) == gantry ]] || fail "the controller is not user gantry"
"${podman[@]}" healthcheck run gantry-test-controller || fail "the controller's HEALTHCHECK"
echo "controller at $server: healthy"

step "the agent container"
install -m 0600 -o 10002 -g 10002 "$work/data/agent.token" "$work/etc/agent.token"
cat >"$work/etc/agent.yml" <<YML
controller: $server
token_file: /etc/gantry/agent.token
name: container-agent
work: /var/lib/gantry-agent/work
YML
names+=(gantry-test-agent)
"${podman[@]}" run -d --name gantry-test-agent --network host \
  --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --health-interval=disable \
  -v "$work/etc/agent.yml:/etc/gantry/agent.yml:ro" -v "$work/etc/agent.token:/etc/gantry/agent.token:ro" \
  -v "$work/agent-work:/var/lib/gantry-agent" \
  "localhost/gantry-agent:$tag" >/dev/null
export GANTRY_SERVER=$server GANTRY_TOKEN
GANTRY_TOKEN=$(cat "$work/data/admin.token")
gantry=$build/cli/gantry
agent_connected() { "$gantry" agents | grep -q 'container-agent.* connected'; }
wait_for "the agent container connected" 30 agent_connected
"$gantry" agents
agent_healthy() { "${podman[@]}" healthcheck run gantry-test-agent; }
wait_for "the agent's HEALTHCHECK" 30 agent_healthy
echo "agent: healthy"

step "a pipeline across the two containers"
run=$("$gantry" trigger --repo app --ref main)
"$gantry" wait "$run" || fail "run $run did not succeed"
"$gantry" logs "$run" Build | tee "$work/build.log"
grep -q 'built as gantry-agent with git version' "$work/build.log" || fail "the step did not run as gantry-agent with git"

step "the agent's HEALTHCHECK fails once its controller is gone"
"${podman[@]}" stop -t 5 gantry-test-controller >/dev/null
# The alive file is under a minute old: age it rather than wait a minute.
touch -d '2 minutes ago' "$work/agent-work/work/agent.alive"
if "${podman[@]}" healthcheck run gantry-test-agent; then
  fail "the agent reports healthy with no controller"
fi

echo
echo "PASS: images $version built, ran a pipeline as non-root users, healthchecks pass and fail as they should"
