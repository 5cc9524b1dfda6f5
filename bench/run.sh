#!/usr/bin/env bash
# Runs every benchmark in the build dir and prints their figures.
set -euo pipefail
build=${1:-build}
"$build/bench/bench_parse"
