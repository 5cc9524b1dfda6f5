#!/usr/bin/env bash
# The systemd units of packaging/systemd/ (docs/install.md): `systemd-analyze
# verify` accepts them, and the controller's hardening keeps its exposure
# score at 1.2 or lower (`systemd-analyze security --offline`; 1.1 when this
# was written). The units name /usr/bin/gantry-*, which a build tree does not
# have: they are checked with those paths pointed at the built binaries.
# Usage: systemd_units.sh SOURCE_DIR CONTROLLER_BIN AGENT_BIN
set -euo pipefail
src=$1 controller=$2 agent=$3

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed (Debian: apt-get install systemd)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/gantry-controller#$controller#g" "$src/packaging/systemd/gantry-controller.service" \
  > "$tmp/gantry-controller.service"
sed "s#/usr/bin/gantry-agent#$agent#g" "$src/packaging/systemd/gantry-agent.service" \
  > "$tmp/gantry-agent.service"

# verify prints its findings and still exits 0 for some of them: any output is a failure.
out=$(systemd-analyze verify "$tmp/gantry-controller.service" "$tmp/gantry-agent.service" 2>&1) || {
  echo "$out"
  echo "FAIL: systemd-analyze verify"
  exit 1
}
if [[ -n $out ]]; then
  echo "$out"
  echo "FAIL: systemd-analyze verify reported the above"
  exit 1
fi
echo "systemd-analyze verify: ok"

# --offline needs systemd 250 or later.
if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
  if ! systemd-analyze security --offline=true --threshold=12 "$tmp/gantry-controller.service" \
    >"$tmp/security.txt" 2>&1; then
    grep -E '✗|Overall' "$tmp/security.txt" || cat "$tmp/security.txt"
    echo "FAIL: gantry-controller.service exposure above 1.2"
    exit 1
  fi
  grep 'Overall' "$tmp/security.txt"
else
  echo "systemd-analyze has no --offline: security score not checked"
fi
