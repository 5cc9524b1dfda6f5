#!/usr/bin/env bash
# The Debian packages as an admin installs them, under systemd (docs/install.md,
# SPEC §13):
#  1. CPack makes the three packages from this build (stripped; no -dbgsym and
#     gzip rather than xz, to stay fast: `make package` makes the release
#     ones), and lintian finds no error or warning in them;
#  2. a fresh Debian 12 root made by mmdebstrap (packaging/rootfs.sh, with
#     systemd; cached in the build dir for a day) boots systemd in a podman
#     container with no network but its own loopback;
#  3. dpkg -i there: the maintainer scripts create the users, the data
#     directory and the config modes, and start the controller's unit; the
#     agent's unit waits for its token, then starts; a repository added to the
#     config arrives with `systemctl reload` (which refuses a broken config and
#     keeps the controller serving); a pipeline runs through the installed CLI
#     with both daemons under their hardened units;
#  4. an online backup (install.md's commands) taken while a run streams
#     restores to a second controller that shows the runs, logs and artifacts;
#  5. an upgrade to a rebuilt package with a higher version restarts the units
#     and keeps data and the edited configs;
#  6. remove keeps data and config, purge deletes them (the users stay).
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "$0")/lib.sh"
src=$(realpath "$1") build=$(realpath "$2")
[[ $(id -u) -eq 0 ]] || fail "the install test needs root (mmdebstrap, podman)"

podman=(podman --runtime runc --cgroup-manager=cgroupfs)
work=$(mktemp -d /tmp/gantry-install.XXXXXX)
ctr=gantry-install-test-$$
image=localhost/gantry-install-test:$$
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    "${podman[@]}" exec "$ctr" journalctl --no-pager -n 60 -u gantry-controller -u gantry-agent 2>/dev/null || true
  fi
  "${podman[@]}" rm -f -t 2 "$ctr" >/dev/null 2>&1 || true
  "${podman[@]}" rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# In the installed machine: as root, or (x -u USER) as a user; stdin passes.
x() { "${podman[@]}" exec -i "$ctr" "$@"; }
cli() { x env GANTRY_TOKEN="$(x cat /var/lib/gantry/admin.token)" gantry "$@"; }
active() { [[ $(x systemctl is-active "$1") == active ]]; }

step "packages from this build"
# The version the build computed from git, and a higher one for the upgrade.
version=$(build_version "$build")
[[ -n $version ]] || fail "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake"
newer="$version+up1"
pack "$build" "$work/v1" "$version"
pack "$build" "$work/v2" "$newer"
ls -l "$work"/v1/*.deb
dpkg --compare-versions "$newer" gt "$version" || fail "$newer is not above $version"
for p in gantry-controller gantry-agent gantry; do
  [[ -f $work/v1/${p}_${version}_amd64.deb ]] || fail "no package $p"
done

step "lintian"
command -v lintian >/dev/null || fail "lintian is not installed (packaging/deps.sh installs it)"
lintian --fail-on error,warning --tag-display-limit 0 "$work"/v1/*.deb ||
  fail "lintian found errors or warnings"

step "a fresh Debian 12 root with systemd (mmdebstrap), booted in a container"
# What the packages depend on, systemd, and what this test and install.md use
# (git for the repository, sqlite3 for the backup); cached for a day.
# Named after what goes in: a package that gains a dependency gets a new root.
deps=()
for d in "$work"/v1/*.deb; do deps+=(--deps-of "$d"); done
key=$(for d in "$work"/v1/*.deb; do dpkg-deb -f "$d" Depends; done | sha256sum | cut -c1-12)
base=$build/packaging-cache/install-root-$key.tar
if [[ ! -f $base ]] || [[ -n $(find "$base" -mmin +1440) ]]; then
  rm -f "$build"/packaging-cache/install-root-*.tar
  GANTRY_APT_CACHE=$build/packaging-cache/apt bash "$src/packaging/rootfs.sh" "$base" "${deps[@]}" \
    systemd systemd-sysv git sqlite3 ||
    fail "packaging/rootfs.sh could not make a root (is deb.debian.org reachable through apt?)"
fi
"${podman[@]}" import --change 'CMD ["/lib/systemd/systemd"]' "$base" "$image" >/dev/null
# --network none: a loopback of its own, so the packaged 127.0.0.1:8080 collides
# with nothing. nofile: this machine's hard limit is 20000.
"${podman[@]}" run -d --name "$ctr" --hostname gantry-test --systemd=always --network none \
  --ulimit nofile=20000:20000 --ulimit nproc=8192:8192 "$image" >/dev/null
booted() { [[ $(x systemctl is-system-running) =~ ^(running|degraded)$ ]]; }
wait_for "systemd booted" 60 booted
x id gantry >/dev/null 2>&1 && fail "the fresh root already has a user gantry"

step "dpkg -i (version $version): users, modes, the controller started"
"${podman[@]}" cp "$work/v1" "$ctr:/tmp/v1"
x sh -c "dpkg -i /tmp/v1/gantry-controller_${version}_amd64.deb /tmp/v1/gantry-agent_${version}_amd64.deb \
  /tmp/v1/gantry_${version}_amd64.deb && rm -rf /tmp/v1"
x id gantry
x id gantry-agent
[[ $(x stat -c '%U:%G %a' /var/lib/gantry) == "gantry:gantry 750" ]] ||
  fail "/var/lib/gantry is $(x stat -c '%U:%G %a' /var/lib/gantry)"
[[ $(x stat -c '%U:%G %a' /etc/gantry/controller.yml) == "root:gantry 640" ]] ||
  fail "/etc/gantry/controller.yml is $(x stat -c '%U:%G %a' /etc/gantry/controller.yml)"
x test -f /usr/share/doc/gantry-controller/examples/nginx-gantry.conf || fail "no nginx example installed"
wait_for "the controller's unit active" 30 active gantry-controller
controller_up() { x test -s /var/lib/gantry/controller.addr && x test -s /var/lib/gantry/admin.token; }
wait_for "the controller listening" 30 controller_up
[[ $(x cat /var/lib/gantry/controller.addr) == http://127.0.0.1:8080 ]] ||
  fail "the packaged config does not listen on 127.0.0.1:8080"
[[ $(x stat -c '%U %a' /var/lib/gantry/admin.token) == "gantry 600" ]] ||
  fail "admin.token is $(x stat -c '%U %a' /var/lib/gantry/admin.token)"
[[ $(x systemctl show -p User --value gantry-controller) == gantry ]] || fail "the unit's user"
[[ $(x stat -c %U "/proc/$(x systemctl show -p MainPID --value gantry-controller)") == gantry ]] ||
  fail "the controller does not run as gantry"
# Enabled, but waiting for its token (ConditionPathExists).
[[ $(x systemctl is-enabled gantry-agent) == enabled ]] || fail "the agent's unit is not enabled"
active gantry-agent && fail "the agent started without a token"
x systemd-analyze security gantry-controller --no-pager | tail -n 1

step "a repository in the config, applied with systemctl reload"
x git init -q -b main /srv/app
x sh -c 'cat > /srv/app/Jenkinsfile' <<'GROOVY'
pipeline {
  agent any
  parameters { string(name: 'LINES', defaultValue: '3', description: 'lines to stream') }
  stages {
    stage('Build') {
      steps {
        sh 'echo "built as $(id -un)" | tee built.txt'
        archiveArtifacts artifacts: 'built.txt'
      }
    }
    stage('Stream') {
      steps { sh "for i in \$(seq 1 ${params.LINES}); do echo line \$i; sleep 0.1; done" }
    }
  }
}
GROOVY
x git -C /srv/app add -A
x git -C /srv/app -c user.name=Admin -c user.email=admin@example.com commit -qm "A pipeline"
x git clone -q --bare /srv/app /srv/app.git
# Owned by root, read by the controller's and the agent's users: git (and
# libgit2) refuse that unless the admin lists it as safe (install.md).
x git config --system --add safe.directory /srv/app.git
# A broken edit first: the reload refuses it and the controller keeps serving.
x cp /etc/gantry/controller.yml /root/controller.yml.good
x sh -c 'echo "repositoriez: []" >> /etc/gantry/controller.yml'
if x systemctl reload gantry-controller 2>/dev/null; then fail "systemctl reload took a broken config"; fi
active gantry-controller || fail "a broken config's reload stopped the controller"
x cp /root/controller.yml.good /etc/gantry/controller.yml
x sh -c 'cat >> /etc/gantry/controller.yml' <<'YML'
# added by the admin
repositories:
  - name: app
    url: file:///srv/app.git
    branches: [main]
    poll: 1h
YML
x gantry-controller --check-config /etc/gantry/controller.yml
x systemctl reload gantry-controller
repo_known() { cli repos | grep -q '^app'; }
wait_for "the repository after the reload" 20 repo_known

step "the agent: its token in a 0600 file, then its unit"
x sh -c 'install -m 0600 -o gantry-agent -g gantry-agent /var/lib/gantry/agent.token /etc/gantry/agent.token'
x gantry-agent --check-config /etc/gantry/agent.yml
x systemctl start gantry-agent
wait_for "the agent's unit active" 20 active gantry-agent
agent_connected() { cli agents | grep -q ' connected'; }
wait_for "the agent connected" 30 agent_connected
cli agents
agent_healthy() { x runuser -u gantry-agent -- gantry-agent --health /etc/gantry/agent.yml; }
wait_for "gantry-agent --health" 30 agent_healthy

step "a pipeline through the installed CLI, both daemons under systemd"
run1=$(cli trigger --repo app --ref main -p LINES=3)
cli wait "$run1" || fail "run $run1 did not succeed"
cli logs "$run1" Build | grep -q 'built as gantry-agent' || fail "run 1's log has no 'built as gantry-agent'"
cli artifacts "$run1" built.txt -o - | grep -q 'built as gantry-agent' || fail "run 1's artifact"

step "an online backup while a run streams, restored to a second controller"
run2=$(cli trigger --repo app --ref main -p LINES=120)
run2_streaming() { cli logs "$run2" Stream | grep -q 'line 5'; }
wait_for "run 2 streaming" 30 run2_streaming
# install.md's commands, word for word.
x install -d -o gantry -g gantry -m 0750 /var/backups/gantry
x runuser -u gantry -- sqlite3 /var/lib/gantry/gantry.db ".backup /var/backups/gantry/gantry.db"
x runuser -u gantry -- tar -C /var/lib/gantry -cf /var/backups/gantry/files.tar \
  --exclude=./gantry.db --exclude='./gantry.db-*' --exclude=./controller.addr --exclude=./mirrors .
cli wait "$run2" || fail "run $run2 did not succeed"
# Restored to a new data directory, served by a second controller on another port.
x install -d -o gantry -g gantry -m 0750 /var/lib/gantry-restore
x runuser -u gantry -- tar -C /var/lib/gantry-restore -xf /var/backups/gantry/files.tar
x runuser -u gantry -- cp /var/backups/gantry/gantry.db /var/lib/gantry-restore/
x sh -c 'sed -e "s#^data_dir: .*#data_dir: /var/lib/gantry-restore#" -e "s#^listen: .*#listen: 127.0.0.1:8081#" \
  /etc/gantry/controller.yml > /etc/gantry/restore.yml && chgrp gantry /etc/gantry/restore.yml && chmod 0640 /etc/gantry/restore.yml'
x systemd-run --unit gantry-restore --uid gantry --gid gantry -p WorkingDirectory=/var/lib/gantry-restore \
  /usr/bin/gantry-controller --config /etc/gantry/restore.yml
restored_up() { x test -s /var/lib/gantry-restore/controller.addr; }
wait_for "the restored controller listening" 20 restored_up
rcli() { cli --server http://127.0.0.1:8081 "$@"; }
rcli runs
rcli show "$run1" | grep -qi 'succeeded' || fail "the restored controller does not show run 1 succeeded"
rcli logs "$run1" Build | grep -q 'built as gantry-agent' || fail "the restored controller lost run 1's log"
rcli logs "$run2" Stream | grep -q 'line 5' || fail "the restored controller lost run 2's streamed lines"
rcli artifacts "$run1" built.txt -o - | grep -q 'built as' || fail "the restored controller lost run 1's artifact"
x systemctl stop gantry-restore

step "upgrade to $newer: the units restart, data and the edited configs are kept"
old_pid=$(x systemctl show -p MainPID --value gantry-controller)
"${podman[@]}" cp "$work/v2" "$ctr:/tmp/v2"
x sh -c "dpkg -i /tmp/v2/gantry-controller_${newer}_amd64.deb /tmp/v2/gantry-agent_${newer}_amd64.deb \
  /tmp/v2/gantry_${newer}_amd64.deb </dev/null && rm -rf /tmp/v2"
[[ $(x dpkg-query -W -f '${Version}' gantry-controller) == "$newer" ]] || fail "not upgraded"
x grep -q '^# added by the admin$' /etc/gantry/controller.yml || fail "the upgrade replaced the edited controller.yml"
x test -f /etc/gantry/agent.token || fail "the upgrade removed agent.token"
wait_for "the controller's unit active after the upgrade" 30 active gantry-controller
[[ $(x systemctl show -p MainPID --value gantry-controller) != "$old_pid" ]] || fail "the upgrade did not restart the controller"
wait_for "the agent's unit active after the upgrade" 30 active gantry-agent
cli show "$run1" | grep -qi 'succeeded' || fail "the upgraded controller does not show run 1"
wait_for "the agent connected after the upgrade" 30 agent_connected
run3=$(cli trigger --repo app --ref main -p LINES=2)
cli wait "$run3" || fail "run $run3 after the upgrade did not succeed"
cli runs

step "remove keeps data and config; purge deletes them"
x dpkg -r gantry-controller gantry-agent gantry
active gantry-controller && fail "remove left the controller running"
x test -f /var/lib/gantry/gantry.db || fail "remove deleted the data"
x test -f /etc/gantry/controller.yml || fail "remove deleted the config"
x dpkg --purge gantry-controller gantry-agent
x test -e /var/lib/gantry && fail "purge left /var/lib/gantry"
x test -e /var/lib/gantry-agent && fail "purge left /var/lib/gantry-agent"
x test -e /etc/gantry/controller.yml && fail "purge left controller.yml"
x test -e /etc/gantry/agent.token && fail "purge left agent.token"
x id gantry >/dev/null || fail "purge removed the user gantry (Debian keeps system users)"
x test -e /usr/bin/gantry-controller && fail "purge left the binary"

echo
echo "PASS: packages $version -> $newer installed and run under systemd, backed up and restored, upgraded, purged"
