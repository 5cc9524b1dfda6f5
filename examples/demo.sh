#!/usr/bin/env bash
# `make demo`: what Gantry does today, on the example pipeline. The
# controller, agents and live run arrive with the next issues; until then the
# demo shows the pipeline language end to end: lint both forms, show the plan.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
gantry="$root/$build/cli/gantry"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "gantry lint examples/Jenkinsfile examples/pipeline.gantry.yml"
"$gantry" lint "$root/examples/Jenkinsfile" "$root/examples/pipeline.gantry.yml"

step "gantry plan examples/Jenkinsfile"
"$gantry" plan "$root/examples/Jenkinsfile"

step "the same plan from the YAML form"
if diff <("$gantry" plan --json "$root/examples/Jenkinsfile") \
        <("$gantry" plan --json "$root/examples/pipeline.gantry.yml") >/dev/null; then
  echo "identical: both forms compile to one model"
else
  echo "the two forms differ" >&2
  exit 1
fi

step "a broken pipeline gets every error, with line, column and caret"
broken=$(mktemp)
trap 'rm -f "$broken"' EXIT
sed -e "s/stage('Test')/stage('Build')/" -e "s/weights 10, 50, 100/weights 50, 10/" \
    -e "0,/steps {/s//stpes {/" "$root/examples/Jenkinsfile" > "$broken"
"$gantry" lint "$broken" | sed "s|$broken|Jenkinsfile|" || true

cat <<'TXT'

Next: the controller and agents (issue 4) will run this pipeline on agents,
with `gantry-controller`, `gantry-agent` and live progress; this build has
the pipeline language (`gantry lint`, `gantry plan`).
TXT
