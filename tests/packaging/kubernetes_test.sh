#!/usr/bin/env bash
# The Kubernetes manifests of packaging/kubernetes/ (ctest -R kubernetes_manifests):
# renders base/ and each overlay, validates every document against the
# Kubernetes API schemas (kubernetes-models: JSON schemas, and TypeScript's
# check against its interfaces, which refuses unknown fields), runs
# gantry-controller/gantry-agent --check-config on the configs the ConfigMaps
# hold, and checks that the pieces agree (tests/packaging/kubernetes/check.mjs).
#
#   bash tests/packaging/kubernetes_test.sh SOURCE_DIR BUILD_DIR CONTROLLER_BIN AGENT_BIN
#
# Installs the validator from tests/packaging/kubernetes/package-lock.json into
# BUILD_DIR/packaging-kubernetes (npm ci, the only network use, and only when
# missing or when the lock file changed). A missing node or npm fails the test.
set -euo pipefail

src=$(cd "${1:?usage: kubernetes_test.sh SOURCE_DIR BUILD_DIR CONTROLLER_BIN AGENT_BIN}" && pwd)
build=$(cd "${2:?}" && pwd)
controller=${3:?} agent=${4:?}
here="$src/tests/packaging/kubernetes"
modules="$build/packaging-kubernetes"

fail() {
  echo "kubernetes manifests: $*" >&2
  exit 1
}
command -v node >/dev/null || fail "node is missing (bash packaging/deps.sh installs nodejs)"
command -v npm >/dev/null || fail "npm is missing (bash packaging/deps.sh installs npm)"
[ -x "$controller" ] || fail "no controller binary at $controller"
[ -x "$agent" ] || fail "no agent binary at $agent"

# shellcheck source=tests/support/npm_ci.sh
source "$src/tests/support/npm_ci.sh"
npm_ci "$here" "$modules" kubernetes-models || fail "npm ci"

# The scripts run from a copy beside node_modules, so that their imports resolve there.
cp "$here/kustomize.mjs" "$here/check.mjs" "$modules/"
timeout 240 node "$modules/check.mjs" "$src" "$controller" "$agent" "$modules"
