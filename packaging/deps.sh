#!/usr/bin/env bash
# Installs the Debian packages Gantry needs to build and test. Idempotent:
# it runs apt-get only when something is missing, and `apt-get update` first.
# Runs as root (CI and developer machines are root); uses sudo only if present
# and needed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libgit2-dev nlohmann-json3-dev catch2
  libsqlite3-dev sqlite3 libssl-dev libcctz-dev tzdata openssl curl
  clang libclang-rt-14-dev clang-format clang-tidy
  chromium   # the browser test (tests/browser/) drives Debian's chromium
  groovy default-jre-headless   # the Groovy oracle (tests/groovy/): Groovy 2.4, as Jenkins embeds
  # Container agents (docs/containers.md): the engine the tests use, and the static busybox
  # their image is made from (no registry is reachable), and a registry of their own on
  # 127.0.0.1 for the login tests (the CNCF distribution server, htpasswd's bcrypt).
  podman runc uidmap slirp4netns busybox-static docker-registry apache2-utils
  python3-aiosmtpd   # the SMTP server of the notification tests (tests/support/smtp_server.py)
  # Private repositories (docs/forges.md): a real sshd on a loopback port serves git over SSH.
  openssh-server
  systemd   # systemd-analyze verifies the packaged units (tests/packaging/systemd_units.sh)
  # The packages installed into a fresh Debian root, and the container images made from them
  # (tests/packaging/install_test.sh, images_test.sh, packaging/images.sh).
  lintian mmdebstrap
  nginx-light   # the reverse proxy of docs/install.md, run by tests/packaging/reverse_proxy_test.sh
  # The PostgreSQL store (docs/ha.md): libpq to build, and the server whose initdb and pg_ctl
  # start the tests' throwaway cluster (tests/support/postgresql_cluster.hpp).
  libpq-dev postgresql
)
# The browser test runs playwright-core under Node.js with npm; a machine that
# has them already (from another source) keeps its own.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: need root to install ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
