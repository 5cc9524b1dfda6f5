#!/usr/bin/env bash
# A Debian 12 (bookworm) root filesystem as a tarball, made by mmdebstrap from
# the Debian mirror through apt: no image registry, no base image. It is the
# base of the container images (packaging/images.sh) and of the install test
# (tests/packaging/install_test.sh). Runs as root (mmdebstrap's root mode).
#
# Usage: packaging/rootfs.sh OUT.tar [--slim] [--deps-of FILE.deb]... [--hook 'SHELL']... [PKG|FILE.deb]...
#   --slim           no manual pages, translations or documentation (for images;
#                    dpkg keeps excluding them in the root)
#   PKG, FILE.deb    installed, with what they depend on
#   --deps-of FILE   what FILE.deb depends on, but not FILE itself (to install it later)
#   --hook 'SHELL'   an mmdebstrap customize hook: runs after the install, "$1" the root
# GANTRY_DEBIAN_MIRROR overrides the mirror (default http://deb.debian.org/debian);
# GANTRY_APT_CACHE=DIR keeps the downloaded packages there and reuses them
# next time (the tests do, to fetch each package once per machine).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUT.tar [--slim] [--deps-of FILE.deb]... [--hook 'SHELL']... [PKG|FILE.deb]..." >&2
  exit 2
fi
out=$1
shift
command -v mmdebstrap >/dev/null || {
  echo "rootfs: mmdebstrap is not installed (apt-get install mmdebstrap)" >&2
  exit 1
}

include=() hooks=() slim=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --deps-of)
      # Depends as the package declares it, without versions or alternatives
      # (the mirror's are new enough: these packages were built against them).
      deps=$(dpkg-deb -f "$2" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/ //g' | grep .)
      while read -r d; do include+=("$d"); done <<<"$deps"
      shift 2
      ;;
    --slim)
      # No manual pages, translations or documentation but the copyrights: an
      # image carries what runs.
      slim=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright')
      shift
      ;;
    --hook)
      hooks+=(--customize-hook="$2")
      shift 2
      ;;
    *.deb)
      # mmdebstrap takes a .deb by absolute path, in an --include of its own;
      # apt reads it there outside the root and dpkg inside: it is copied in
      # at the same path first, and removed after.
      deb=$(realpath "$1")
      include+=("$deb")
      hooks+=(--setup-hook="mkdir -p \"\$1$(dirname "$deb")\" && cp '$deb' \"\$1$deb\"")
      hooks+=(--customize-hook="rm -f \"\$1$deb\"")
      shift
      ;;
    *)
      include+=("$1")
      shift
      ;;
  esac
done

args=(--mode=root --format=tar --variant=minbase --quiet "${slim[@]}"
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin')
if [[ -n ${GANTRY_APT_CACHE:-} ]]; then
  # mmdebstrap(1)'s own recipe: the cache goes in before apt runs and comes out
  # before apt's cleanup; apt downloads only what it lacks.
  mkdir -p "$GANTRY_APT_CACHE"
  cache=$(realpath "$GANTRY_APT_CACHE")
  args+=(--setup-hook="mkdir -p \"\$1\"/var/cache/apt/archives/ && cp -a '$cache'/. \"\$1\"/var/cache/apt/archives/"
    --customize-hook="find \"\$1\"/var/cache/apt/archives -maxdepth 1 -name '*.deb' ! -name 'gantry*' -exec cp -n {} '$cache'/ \\;")
fi
for p in "${include[@]}"; do
  args+=(--include="$p")
done
mkdir -p "$(dirname "$out")"
mmdebstrap "${args[@]}" "${hooks[@]}" bookworm "$out.tmp" "${GANTRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mv "$out.tmp" "$out"
