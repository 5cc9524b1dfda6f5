# Sourced by the packaging tests (tests/packaging/*_test.sh): their shared helpers.

step() { printf '\n== %s\n' "$*"; }

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds, polled every 0.1 s.
wait_for() {
  local what=$1 secs=$2
  shift 2
  for _ in $(seq 1 $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what (waited ${secs}s)"
}

# A free TCP port on 127.0.0.1 (for servers that cannot take port 0).
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The packages' version this build computed from git (its CPackConfig.cmake).
build_version() {
  sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$1/CPackConfig.cmake"
}

# pack BUILD_DIR OUT_DIR VERSION: the three packages of this build with CPack,
# as `make package` makes them but stripped, with no -dbgsym packages and
# gzip rather than xz, to stay fast.
pack() {
  (cd "$1" && cpack -G DEB -B "$2" -D CPACK_PACKAGE_VERSION="$3" \
    -D CPACK_DEBIAN_DEBUGINFO_PACKAGE=OFF -D CPACK_STRIP_FILES=ON \
    -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip >"$2.log" 2>&1) || {
    cat "$2.log"
    fail "cpack"
  }
  rm -rf "$2/_CPack_Packages"
}
