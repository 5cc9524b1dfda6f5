#!/usr/bin/env bash
# Runs the parser fuzzer for a bounded time. Seeds: our fixtures, examples and
# (when present) the shared Jenkins conformance corpus, each prefixed with the
# byte that selects its form. A crash, leak or timeout fails the run and leaves
# the input in build-fuzz/artifacts/: add it to tests/fixtures/pipelines/fuzz/.
set -euo pipefail
bin=$1
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(dirname "$bin")/work
mkdir -p "$work/corpus" "$work/artifacts"
seed() {  # seed FILE PREFIX_BYTE
  local out="$work/corpus/$(basename "$1").$2"
  { printf "\\x$2"; cat "$1"; } > "$out"
}
for f in "$root"/tests/fixtures/pipelines/{ok,err}/*.groovy "$root"/examples/*Jenkinsfile*; do
  [[ -f $f ]] && seed "$f" 00
done
for f in "$root"/tests/fixtures/pipelines/pairs/*.yml "$root"/examples/*.yml; do
  [[ -f $f ]] && seed "$f" 01
done
shared="$root/../shared/conformance/jenkins"
if [[ -d $shared ]]; then
  for f in "$shared"/valid/*.groovy "$shared"/invalid/*.groovy; do seed "$f" 00; done
fi
for f in "$root"/tests/fixtures/pipelines/fuzz/*; do
  [[ -f $f ]] && cp "$f" "$work/corpus/"
done
echo "fuzz: running $(basename "$bin") for ${seconds}s on $(ls "$work/corpus" | wc -l) seeds" >&2
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
"$bin" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" 2>&1 | tail -n 25
