#!/usr/bin/env bash
# The container images of the controller and the agent (docs/install.md,
# "Containers"), built from the Debian packages: a Debian 12 root made by
# mmdebstrap with the packages installed (packaging/rootfs.sh; no base image,
# no registry), imported into podman, then a HEALTHCHECK added (Docker's image
# format: OCI images have no HEALTHCHECK). Runs as root.
#
#   localhost/gantry-controller:TAG (and :latest), TAG being the package version
#   with '+' and '~' (which image tags cannot hold) as '_' and '-'
#     gantry-controller and the gantry CLI, user gantry (10001:10001),
#     data in the volume /var/lib/gantry, port 8080,
#     HEALTHCHECK: GET /livez (liveness: 200 from a leader and from a
#     follower, docs/ha.md; /healthz is readiness, 503 on a follower) on the
#     address the controller wrote to /var/lib/gantry/controller.addr
#   localhost/gantry-agent:TAG (and :latest)
#     gantry-agent with git, ssh and the CA certificates, user gantry-agent
#     (10002:10002), work in the volume /var/lib/gantry-agent,
#     HEALTHCHECK: gantry-agent --health (a heartbeat acknowledged in the last
#     minute). No container engine inside: container stages need an agent on a
#     host (or the Kubernetes engine, docs/containers.md); an engine in a
#     container needs privileges a CI agent should not have.
#
# Both read their config from /etc/gantry (the packaged examples are there;
# mount your own). The packaged controller.yml listens on 127.0.0.1:8080,
# which only the container itself can reach: a real one says
# `listen: 0.0.0.0:8080` with `tls:` (docs/security.md).
#
# Usage: packaging/images.sh DEB_DIR [--version V] [--only controller|agent]
#   DEB_DIR holds gantry-controller_V_amd64.deb, gantry_V_amd64.deb and
#   gantry-agent_V_amd64.deb (`make package` leaves them in build-package/);
#   V defaults to the highest version there.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 ]] || {
  echo "usage: $0 DEB_DIR [--version V] [--only controller|agent]" >&2
  exit 2
}
debs=$(realpath "$1")
shift
version="" only=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --version) version=$2 && shift 2 ;;
    --only) only=$2 && shift 2 ;;
    *) echo "images: unknown argument $1" >&2 && exit 2 ;;
  esac
done
if [[ -z $version ]]; then
  version=$(for f in "$debs"/gantry-controller_*_amd64.deb; do
    [[ -f $f ]] && dpkg-deb -f "$f" Version
  done | sort -V | tail -n 1)
fi
[[ -n $version ]] || {
  echo "images: no gantry-controller_*_amd64.deb in $debs" >&2
  exit 1
}
tag=$(tr '+~' '_-' <<<"$version")
deb() {
  local f="$debs/${1}_${version}_amd64.deb"
  [[ -f $f ]] || {
    echo "images: $f is missing" >&2
    exit 1
  }
  echo "$f"
}
# Podman as this machine runs it (docs/containers.md): runc, cgroupfs.
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A fixed uid and gid for the package's system user (the postinst gave it the
# next free system id), so that volumes and Kubernetes' runAsUser agree with
# every build; the files it owned follow it.
renumber() {  # renumber USER ID: an mmdebstrap hook
  cat <<HOOK
set -e
old_uid=\$(chroot "\$1" id -u $1) old_gid=\$(chroot "\$1" id -g $1)
chroot "\$1" groupmod -g $2 $1
chroot "\$1" usermod -u $2 -g $2 $1
find "\$1" -xdev -uid "\$old_uid" -exec chown -h $2 {} +
find "\$1" -xdev -gid "\$old_gid" -exec chgrp -h $2 {} +
HOOK
}

# image NAME ROOT.tar CHANGES... then the HEALTHCHECK (JSON CMD) as the last argument.
image() {
  local name=$1 tar=$2 health=${*: -1}
  local changes=("${@:3:$#-3}")
  local args=()
  for c in "${changes[@]}"; do args+=(--change "$c"); done
  "${podman[@]}" import "${args[@]}" --message "gantry $name $version" "$tar" \
    "localhost/$name-root:$tag" >/dev/null
  cat >"$work/Containerfile" <<EOF
FROM localhost/$name-root:$tag
LABEL org.opencontainers.image.title="$name" org.opencontainers.image.version="$version" \
      org.opencontainers.image.source="https://gantry.example.org/"
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD $health
EOF
  "${podman[@]}" build --quiet --format docker --pull=never -f "$work/Containerfile" \
    -t "localhost/$name:$tag" -t "localhost/$name:latest" "$work" >/dev/null
  "${podman[@]}" rmi "localhost/$name-root:$tag" >/dev/null
  echo "images: localhost/$name:$tag"
}

if [[ -z $only || $only == controller ]]; then
  bash "$here/rootfs.sh" "$work/controller.tar" --slim "$(deb gantry-controller)" "$(deb gantry)" \
    ca-certificates curl --hook "$(renumber gantry 10001)"
  image gantry-controller "$work/controller.tar" \
    'USER 10001:10001' 'WORKDIR /var/lib/gantry' 'VOLUME /var/lib/gantry' 'EXPOSE 8080' \
    'STOPSIGNAL SIGTERM' 'ENTRYPOINT ["/usr/bin/gantry-controller"]' \
    'CMD ["--config", "/etc/gantry/controller.yml"]' \
    '["/bin/sh", "-c", "curl -fsSk --max-time 4 \"$(cat /var/lib/gantry/controller.addr)/livez\" >/dev/null"]'
  rm -f "$work/controller.tar"
fi
if [[ -z $only || $only == agent ]]; then
  bash "$here/rootfs.sh" "$work/agent.tar" --slim "$(deb gantry-agent)" git openssh-client ca-certificates \
    --hook "$(renumber gantry-agent 10002)"
  image gantry-agent "$work/agent.tar" \
    'USER 10002:10002' 'WORKDIR /var/lib/gantry-agent' 'VOLUME /var/lib/gantry-agent' \
    'STOPSIGNAL SIGTERM' 'ENV HOME=/var/lib/gantry-agent' 'ENTRYPOINT ["/usr/bin/gantry-agent"]' \
    'CMD ["--config", "/etc/gantry/agent.yml"]' \
    '["/usr/bin/gantry-agent", "--health", "/etc/gantry/agent.yml"]'
fi
