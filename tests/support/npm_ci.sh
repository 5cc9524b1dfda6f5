# Sourced by tests that run Node.js packages (tests/browser/run.sh,
# tests/packaging/kubernetes_test.sh).
# npm_ci SRC_DIR MODULES_DIR MARKER: `npm ci` of SRC_DIR's package-lock.json into
# MODULES_DIR, only when MODULES_DIR/node_modules/MARKER is missing or the lock
# file changed; under a lock, so that tests sharing MODULES_DIR under ctest -j
# take turns (each used to remove the other's node_modules halfway through).
# The npm registry is the only network it uses. Returns 1 with a message on failure.
npm_ci() {
  local src=$1 modules=$2 marker=$3
  mkdir -p "$modules"
  exec 9>"$modules.lock"
  flock -w 400 9 || { echo "waited 400 s for another npm ci in $modules" >&2; return 1; }
  if [ ! -e "$modules/node_modules/$marker" ] ||
    ! cmp -s "$src/package-lock.json" "$modules/package-lock.json"; then
    rm -rf "$modules/node_modules"
    cp "$src/package.json" "$src/package-lock.json" "$modules/"
    echo "npm ci in $modules" >&2
    (cd "$modules" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) || {
      flock -u 9
      echo "npm ci failed in $modules" >&2
      return 1
    }
  fi
  flock -u 9
}
