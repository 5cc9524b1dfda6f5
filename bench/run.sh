#!/usr/bin/env bash
# bench/run.sh BUILD_DIR (`make bench`): runs every benchmark, each printing
# its own report, then ONE summary table of the headline figures: figure,
# measured, target (SPEC §12 and the issues), the baseline measured in the
# same run, the ratio measured / baseline, Buildbot's figure where its peer
# benchmark has one, and whether the target is met. See bench/README.md.
#
# Env: BENCH_QUICK=1 (smaller sizes, a few minutes: see README), BENCH_ONLY
# ("daemons dispatch": a subset of parse daemons tls git_triggers gates fanout
# agents dispatch containers ha), BENCH_TABLE (the rows file; a temp file by default),
# BENCH_MARKDOWN=FILE (also write the table there as Markdown), and every
# script's own BENCH_* knobs. A script that fails is said in the table; the
# others still run, and run.sh exits 1 after the table.
set -uo pipefail
export LC_ALL=C
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
all="parse groovy daemons tls git_triggers gates fanout agents dispatch containers ha"
only=${BENCH_ONLY:-$all}
for name in $only; do
  [[ " $all " == *" $name "* ]] || { echo "run.sh: no benchmark '$name' (BENCH_ONLY: $all)" >&2; exit 2; }
done
own_table=0   # 1: the rows file is ours to remove at exit
if [[ -z ${BENCH_TABLE:-} ]]; then
  BENCH_TABLE=$(mktemp "${TMPDIR:-/tmp}/gantry-bench-table.XXXXXX")
  # shellcheck disable=SC2034  # read by the EXIT trap
  own_table=1
fi
export BENCH_TABLE
trap '((own_table)) && rm -f "$BENCH_TABLE"' EXIT

declare -A what=(
  [parse]="bench_parse (Jenkinsfile parser)"
  [groovy]="bench_groovy (Groovy interpreter against groovy 2.4)"
  [daemons]="daemons.sh (stage overhead, log ingest, idle RSS)"
  [tls]="tls.sh (stage time and log ingest over TLS, against plain HTTP)"
  [git_triggers]="git_triggers.sh (webhook push to first step; idle polling)"
  [gates]="gates.sh (GMUD approval -> deploy starts)"
  [ha]="ha.sh (PostgreSQL against SQLite; failover between two controllers)"
  [fanout]="fanout.sh (live events to WebSocket watchers)"
  [agents]="agents.sh (simulated idle agents)"
  [dispatch]="dispatch.sh (dispatch throughput and latency, simulated agents)"
  [containers]="containers.sh (a stage in a container against the same on the host)"
)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date '+%Y-%m-%d %H:%M %z')
conditions=()
failed=0
for name in $all; do
  [[ " $only " == *" $name "* ]] || continue
  echo "== ${what[$name]}"
  l0=$(cut -d' ' -f1 /proc/loadavg) t0=$SECONDS
  if [[ $name == parse ]]; then
    "$build/bench/bench_parse"
  elif [[ $name == groovy ]]; then
    "$build/bench/bench_groovy"
  else
    bash "$here/$name.sh" "$build"
  fi
  rc=$?
  conditions+=("$name $((SECONDS - t0)) s, load $l0 -> $(cut -d' ' -f1 /proc/loadavg)")
  if ((rc != 0)); then
    echo "run.sh: $name exited with $rc" >&2
    failed=1
    bench_row "$name: did not complete (exit $rc)" failed "" "" "" "see its output above"
  fi
  echo
done

bench_buildbot
version=$(git -C "$here/.." describe --always --dirty 2>/dev/null || echo unknown)
echo "== Summary: $started, source $version, $(nproc) cores, loadavg $load_start at the start," \
  "$(cut -d' ' -f1-3 /proc/loadavg) at the end${BENCH_QUICK:+, BENCH_QUICK=$BENCH_QUICK}"
echo "   ${conditions[*]/%/;}"
echo "   Buildbot: $bb_src (its dispatch figure: 20 one-step builds over 4 workers);" \
  "ratio = measured / baseline; MB = 10^6 bytes, MiB = 2^20"
echo
bench_table "$BENCH_TABLE"
if [[ -n ${BENCH_MARKDOWN:-} ]]; then
  bench_table "$BENCH_TABLE" md >"$BENCH_MARKDOWN"
  echo "(also written as Markdown to $BENCH_MARKDOWN)"
fi
exit "$failed"
