#!/usr/bin/env bash
# The Debian packages as an admin installs them (docs/install.md, SPEC §13):
#  1. CPack makes the three packages from this build (stripped; no -dbgsym
#     and gzip rather than xz, to stay fast: `make package` makes the release
#     ones), and lintian finds no error or warning in them;
#  2. they install with dpkg into a fresh Debian 12 root made by mmdebstrap
#     (packaging/rootfs.sh; cached in the build dir for a day), whose
#     maintainer scripts create the users, the data directory and the config
#     modes;
#  3. the controller and an agent start from the installed paths, as the
#     units' users, with the units' ExecStart command lines and the installed
#     configs (edited as install.md says), and a pipeline runs through the
#     installed CLI;
#  4. an online backup (sqlite3 .backup, as install.md says) taken while a run
#     streams restores to a second controller that shows the runs and logs;
#  5. an upgrade to a rebuilt package with a higher version keeps data and the
#     edited config, and the controller carries on;
#  6. remove keeps data and config, purge deletes them (the users stay).
# systemd cannot run here (no init in the chroot), so the units' own
# behaviour is covered by systemd_units.sh; this test runs what they run.
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "$0")/lib.sh"
src=$(realpath "$1") build=$(realpath "$2")

if [[ $(id -u) -ne 0 ]]; then
  echo "FAIL: the install test needs root (dpkg in a chroot)" >&2
  exit 1
fi
# Everything below runs in a mount namespace of its own: the chroot's /proc
# and /dev go away with this process, whatever way it ends.
if [[ -z ${GANTRY_INSTALL_TEST_NS:-} ]]; then
  exec env GANTRY_INSTALL_TEST_NS=1 unshare --mount --propagation private --fork bash "$0" "$@"
fi

work=$(mktemp -d /tmp/gantry-install.XXXXXX)
root=$work/root
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for f in "$root"/var/log/gantry-*.log; do
      [[ -f $f ]] || continue
      echo "--- $f (tail)"
      tail -n 30 "$f"
    done
  fi
  umount -R "$root/proc" "$root/dev" 2>/dev/null || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# Runs a command in the installed root, as root or (-u USER) as a user, with a
# clean environment.
in_root() {
  local user=()
  if [[ $1 == -u ]]; then
    user=(--userspec="$2:$2")
    shift 2
  fi
  chroot "${user[@]}" "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
    LANG=C.UTF-8 "$@"
}
# A unit's ExecStart, as the unit file installed in the root says it.
exec_start() {
  sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/$1.service"
}

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
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning --tag-display-limit 0 "$work"/v1/*.deb ||
    fail "lintian found errors or warnings"
else
  fail "lintian is not installed (packaging/deps.sh installs it)"
fi

step "a fresh Debian 12 root (mmdebstrap)"
# What the packages depend on, plus what this test and install.md use in the
# root (git for the repository, sqlite3 for the backup); cached for a day.
base=$build/packaging-cache/install-root.tar
if [[ ! -f $base ]] || [[ -n $(find "$base" -mmin +1440) ]]; then
  deps=()
  for d in "$work"/v1/*.deb; do deps+=(--deps-of "$d"); done
  GANTRY_APT_CACHE=$build/packaging-cache/apt bash "$src/packaging/rootfs.sh" "$base" "${deps[@]}" git sqlite3 ||
    fail "packaging/rootfs.sh could not make a root (is deb.debian.org reachable through apt?)"
fi
mkdir -p "$root"
tar -xf "$base" -C "$root" --exclude='./dev/*'
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
in_root id gantry >/dev/null 2>&1 && fail "the fresh root already has a user gantry"

step "dpkg -i (version $version)"
cp "$work"/v1/*.deb "$root/tmp/"
in_root dpkg -i /tmp/gantry-controller_"$version"_amd64.deb /tmp/gantry-agent_"$version"_amd64.deb \
  /tmp/gantry_"$version"_amd64.deb
rm -f "$root"/tmp/*.deb
in_root id gantry
in_root id gantry-agent
[[ $(in_root stat -c '%U:%G %a' /var/lib/gantry) == "gantry:gantry 750" ]] ||
  fail "/var/lib/gantry is $(in_root stat -c '%U:%G %a' /var/lib/gantry)"
[[ $(in_root stat -c '%U:%G %a' /etc/gantry/controller.yml) == "root:gantry 640" ]] ||
  fail "/etc/gantry/controller.yml is $(in_root stat -c '%U:%G %a' /etc/gantry/controller.yml)"
in_root gantry-controller --check-config /etc/gantry/controller.yml
[[ -f $root/usr/share/doc/gantry-controller/examples/nginx-gantry.conf ]] || fail "no nginx example installed"
if in_root gantry-agent --check-config /etc/gantry/agent.yml; then
  fail "the agent's config passes with no token file"
fi

step "a repository and the admin's edits to the installed configs"
in_root git init -q -b main /srv/app
cat >"$root/srv/app/Jenkinsfile" <<'GROOVY'
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
in_root git -C /srv/app add -A
in_root git -C /srv/app -c user.name=Admin -c user.email=admin@example.com commit -qm "A pipeline"
in_root git clone -q --bare /srv/app /srv/app.git
chmod -R a+rX "$root/srv"
# Owned by root, read by the controller's and the agent's users: git (and
# libgit2) refuse that unless the admin lists it as safe (install.md).
in_root git config --system --add safe.directory /srv/app.git
# The admin's edits: a free port (the config's 8080 may be taken here) and the
# repository. Comments and the rest of the file stay.
cfg=$root/etc/gantry/controller.yml
sed -i 's/^listen: 127.0.0.1:8080$/listen: 127.0.0.1:0/' "$cfg"
grep -q '^listen: 127.0.0.1:0$' "$cfg" || fail "the packaged controller.yml has no 'listen: 127.0.0.1:8080' line"
cat >>"$cfg" <<'YML'
# added by the admin
repositories:
  - name: app
    url: file:///srv/app.git
    branches: [main]
    poll: 1h
YML
in_root gantry-controller --check-config /etc/gantry/controller.yml

step "the controller and an agent, as their units run them"
start_controller() {  # start_controller LOG [ARGS...]: as user gantry, in /var/lib/gantry
  local log=$1
  shift
  # shellcheck disable=SC2046
  chroot --userspec=gantry:gantry "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/gantry \
    /bin/sh -c 'cd /var/lib/gantry && exec "$@"' sh "$@" >"$root/var/log/$log" 2>&1 &
  pids+=($!)
}
rm -f "$root/var/lib/gantry/controller.addr"
# shellcheck disable=SC2046
start_controller gantry-controller.log $(exec_start gantry-controller)
wait_for "the controller listening" 20 test -s "$root/var/lib/gantry/controller.addr"
server=$(cat "$root/var/lib/gantry/controller.addr")
admin=$(cat "$root/var/lib/gantry/admin.token")
[[ $(in_root stat -c '%U %a' /var/lib/gantry/admin.token) == "gantry 600" ]] ||
  fail "admin.token is $(in_root stat -c '%U %a' /var/lib/gantry/admin.token)"
curl -fsS "$server/healthz"
echo

# The agent's token in a 0600 file of its user; the controller's address.
install -m 0600 /dev/null "$root/etc/gantry/agent.token"
cat "$root/var/lib/gantry/agent.token" >"$root/etc/gantry/agent.token"
in_root chown gantry-agent:gantry-agent /etc/gantry/agent.token
sed -i "s#^controller: .*#controller: $server#" "$root/etc/gantry/agent.yml"
in_root gantry-agent --check-config /etc/gantry/agent.yml
# shellcheck disable=SC2046
chroot --userspec=gantry-agent:gantry-agent "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  HOME=/var/lib/gantry-agent $(exec_start gantry-agent) >"$root/var/log/gantry-agent.log" 2>&1 &
pids+=($!)
agent_pid=$!
cli() { in_root env GANTRY_SERVER="$server" GANTRY_TOKEN="$admin" gantry "$@"; }
agent_connected() { cli agents | grep -q ' connected'; }
wait_for "the agent connected" 20 agent_connected
cli agents

step "a pipeline through the installed CLI"
run1=$(cli trigger --repo app --ref main -p LINES=3)
echo "run $run1"
cli wait "$run1" || fail "run $run1 did not succeed"
cli logs "$run1" Build | grep -q 'built as gantry-agent' || fail "run 1's log has no 'built as gantry-agent'"
cli artifacts "$run1" built.txt -o - | grep -q 'built as gantry-agent' || fail "run 1's artifact"

step "an online backup while a run streams, restored to a second controller"
run2=$(cli trigger --repo app --ref main -p LINES=120)
run2_streaming() { cli logs "$run2" Stream | grep -q 'line 5'; }
wait_for "run 2 streaming" 30 run2_streaming
# As install.md says: the store with sqlite3's .backup (consistent while the
# controller writes), then the other files of the data directory.
in_root install -d -o gantry -g gantry -m 0750 /var/backups/gantry
in_root runuser -u gantry -- sqlite3 /var/lib/gantry/gantry.db ".backup /var/backups/gantry/gantry.db"
in_root runuser -u gantry -- tar -C /var/lib/gantry -cf /var/backups/gantry/files.tar \
  --exclude=./gantry.db --exclude='./gantry.db-*' --exclude=./controller.addr --exclude=./mirrors .
cli wait "$run2" || fail "run $run2 did not succeed"
# Restore to a new data directory, and a controller on it with the same config.
restore=/var/lib/gantry-restore
in_root install -d -o gantry -g gantry -m 0750 "$restore"
in_root runuser -u gantry -- tar -C "$restore" -xf /var/backups/gantry/files.tar
in_root runuser -u gantry -- cp /var/backups/gantry/gantry.db "$restore/"
sed -e "s#^data_dir: .*#data_dir: $restore#" "$cfg" >"$root/etc/gantry/restore.yml"
chgrp --reference="$cfg" "$root/etc/gantry/restore.yml"
chmod 0640 "$root/etc/gantry/restore.yml"
start_controller gantry-restore.log /usr/bin/gantry-controller --config /etc/gantry/restore.yml
restore_pid=$!
wait_for "the restored controller listening" 20 test -s "$root$restore/controller.addr"
restored=$(cat "$root$restore/controller.addr")
rcli() { in_root env GANTRY_SERVER="$restored" GANTRY_TOKEN="$admin" gantry "$@"; }
rcli runs
rcli show "$run1" | grep -qi 'succeeded' || fail "the restored controller does not show run 1 succeeded"
rcli logs "$run1" Build | grep -q 'built as gantry-agent' || fail "the restored controller lost run 1's log"
rcli logs "$run2" Stream | grep -q 'line 5' || fail "the restored controller lost run 2's streamed lines"
rcli artifacts "$run1" built.txt -o - | grep -q 'built as' || fail "the restored controller lost run 1's artifact"
kill "$restore_pid"

step "upgrade to $newer: data and the edited config are kept"
kill "$agent_pid"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
cp "$work"/v2/*.deb "$root/tmp/"
in_root dpkg -i /tmp/gantry-controller_"$newer"_amd64.deb /tmp/gantry-agent_"$newer"_amd64.deb \
  /tmp/gantry_"$newer"_amd64.deb </dev/null
rm -f "$root"/tmp/*.deb
[[ $(in_root dpkg-query -W -f '${Version}' gantry-controller) == "$newer" ]] || fail "not upgraded"
grep -q '^# added by the admin$' "$cfg" || fail "the upgrade replaced the edited controller.yml"
grep -q "^controller: $server$" "$root/etc/gantry/agent.yml" || fail "the upgrade replaced agent.yml"
[[ -f $root/etc/gantry/agent.token ]] || fail "the upgrade removed agent.token"
rm -f "$root/var/lib/gantry/controller.addr"
# shellcheck disable=SC2046
start_controller gantry-controller.log $(exec_start gantry-controller)
wait_for "the upgraded controller listening" 20 test -s "$root/var/lib/gantry/controller.addr"
server=$(cat "$root/var/lib/gantry/controller.addr")
sed -i "s#^controller: .*#controller: $server#" "$root/etc/gantry/agent.yml"
# shellcheck disable=SC2046
chroot --userspec=gantry-agent:gantry-agent "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  HOME=/var/lib/gantry-agent $(exec_start gantry-agent) >>"$root/var/log/gantry-agent.log" 2>&1 &
pids+=($!)
cli show "$run1" | grep -qi 'succeeded' || fail "the upgraded controller does not show run 1"
run3=$(cli trigger --repo app --ref main -p LINES=2)
cli wait "$run3" || fail "run $run3 after the upgrade did not succeed"
cli runs
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

step "remove keeps data and config; purge deletes them"
in_root dpkg -r gantry-controller gantry-agent gantry
[[ -f $root/var/lib/gantry/gantry.db ]] || fail "remove deleted the data"
[[ -f $cfg ]] || fail "remove deleted the config"
in_root dpkg --purge gantry-controller gantry-agent gantry
[[ ! -e $root/var/lib/gantry ]] || fail "purge left /var/lib/gantry"
[[ ! -e $root/var/lib/gantry-agent ]] || fail "purge left /var/lib/gantry-agent"
[[ ! -e $cfg ]] || fail "purge left controller.yml"
[[ ! -e $root/etc/gantry/agent.token ]] || fail "purge left agent.token"
in_root id gantry >/dev/null || fail "purge removed the user gantry (Debian keeps system users)"
[[ ! -e $root/usr/bin/gantry-controller ]] || fail "purge left the binary"

echo
echo "PASS: packages $version -> $newer installed, ran a pipeline, backed up and restored, upgraded, purged"
