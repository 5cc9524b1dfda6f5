# shellcheck shell=bash
# Sourced by the bench scripts. Three parts:
#   - knobs: BENCH_* settings with a smaller value under BENCH_QUICK=1;
#   - the summary table: each script appends its headline figures as rows to
#     the file named by BENCH_TABLE (run.sh sets it), and bench_table prints
#     them as one aligned table;
#   - daemons: a temp dir that goes away at exit together with every process
#     the script started (append their pids to `pids`), and a controller on a
#     free port of 127.0.0.1;
# plus bench_buildbot, Buildbot's figures from ../shared/bench/peers/buildbot.

# bench_knob NAME DEFAULT QUICK: the environment's NAME if set, else QUICK
# under BENCH_QUICK=1, else DEFAULT.
bench_knob() {
  local v=${!1:-}
  if [[ -n $v ]]; then
    echo "$v"
  elif [[ ${BENCH_QUICK:-} == 1 ]]; then
    echo "$3"
  else
    echo "$2"
  fi
}

# bench_row FIGURE MEASURED UNIT TARGET BASELINE BASELINE_IS [BUILDBOT]:
# one row of the summary table, appended to $BENCH_TABLE (nothing when it is
# unset: a script run alone prints only its own report). TARGET is '<= N',
# '>= N', '< N', '> N', '= WORD' or '' (none); BASELINE and BUILDBOT are numbers in UNIT
# or ''; BASELINE_IS says what the baseline is. Tab-separated, no tab inside.
bench_row() {
  [[ -n ${BENCH_TABLE:-} ]] || return 0
  local f cells=()
  for f in "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}"; do cells+=("${f//$'\t'/ }"); done
  (IFS=$'\t'; echo "${cells[*]}") >>"$BENCH_TABLE"
}

# bench_table FILE [md]: the rows of FILE as one aligned table (or a Markdown
# one), with the ratio measured / baseline and whether the target is met.
bench_table() {
  awk -F'\t' -v md="${2:-}" '
    function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
    function with_unit(v, u) { return (v == "") ? "-" : (num(v) && u != "") ? v " " u : v }
    {
      n++
      fig[n] = $1; meas[n] = with_unit($2, $3); base[n] = with_unit($5, $3); what[n] = $6
      bb[n] = with_unit($7, $3)
      tgt[n] = ($4 == "") ? "-" : ($4 ~ /^= /) ? substr($4, 3) : $4 " " $3
      ratio[n] = (num($2) && num($5) && $5 + 0 != 0) ? sprintf("%.2fx", $2 / $5) : "-"
      split($4, t, " ")
      if ($4 == "") ok[n] = "-"
      else if (!num($2) && t[1] != "=") ok[n] = "n/a"
      else if (t[1] == "<=") ok[n] = ($2 + 0 <= t[2] + 0) ? "yes" : "NO"
      else if (t[1] == ">=") ok[n] = ($2 + 0 >= t[2] + 0) ? "yes" : "NO"
      else if (t[1] == "<") ok[n] = ($2 + 0 < t[2] + 0) ? "yes" : "NO"
      else if (t[1] == ">") ok[n] = ($2 + 0 > t[2] + 0) ? "yes" : "NO"
      else ok[n] = ($2 == t[2]) ? "yes" : "NO"
    }
    END {
      h[1] = "figure"; h[2] = "measured"; h[3] = "target"; h[4] = "baseline (same run)"
      h[5] = "ratio"; h[6] = "Buildbot"; h[7] = "meets target?"; h[8] = "baseline is"
      for (i = 1; i <= 8; i++) w[i] = length(h[i])
      for (r = 1; r <= n; r++) {
        c[r, 1] = fig[r]; c[r, 2] = meas[r]; c[r, 3] = tgt[r]; c[r, 4] = base[r]
        c[r, 5] = ratio[r]; c[r, 6] = bb[r]; c[r, 7] = ok[r]; c[r, 8] = what[r]
        for (i = 1; i <= 8; i++) if (length(c[r, i]) > w[i]) w[i] = length(c[r, i])
      }
      if (md != "") {
        line = "|"; sep = "|"
        for (i = 1; i <= 8; i++) { line = line " " h[i] " |"; sep = sep "---|" }
        print line; print sep
        for (r = 1; r <= n; r++) {
          line = "|"
          for (i = 1; i <= 8; i++) line = line " " c[r, i] " |"
          print line
        }
        exit
      }
      for (i = 1; i <= 8; i++) {
        al[i] = (i == 2 || i == 4 || i == 5 || i == 6) ? "" : "-"
        if (i < 8) printf("%" al[i] w[i] "s  ", h[i])
        else print h[i]
      }
      for (i = 1; i <= 8; i++) {
        d = sprintf("%" w[i] "s", ""); gsub(/ /, "-", d)
        printf("%s%s", d, (i < 8) ? "  " : "\n")
      }
      for (r = 1; r <= n; r++)
        for (i = 1; i <= 8; i++)
          if (i < 8) printf("%" al[i] w[i] "s  ", c[r, i])
          else print c[r, i]
    }' "$1"
}

# bench_buildbot: Buildbot's figures from the peer benchmark's results
# (../shared/bench/peers/buildbot/results: the newest *.json written by its
# bench.py --json, else the newest printed report *.txt), read at run time.
# Sets bb_step (ms of overhead per step), bb_log (bigLog MB/s), bb_ctl and
# bb_agent (idle RSS of the master and of a worker, MiB), bb_dispatch (one-step
# builds/s of its fanout: 20 builds over 4 workers; '' when not found) and
# bb_src (which file). The issue's numbers when no result is there.
# shellcheck disable=SC2034  # the bb_* variables are for the caller
bench_buildbot() {
  local root peers file v m='' w='' fan='' builds=20
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  peers="$root/../shared/bench/peers/buildbot/results"
  bb_step=95 bb_log=11 bb_ctl=85 bb_agent=42 bb_dispatch='' bb_src="the issue (no peer results found)"
  file=$(find "$peers" -maxdepth 1 -name '*.json' 2>/dev/null | sort | tail -n 1 || true)
  [[ -n $file ]] || file=$(find "$peers" -maxdepth 1 -name '*.txt' 2>/dev/null | sort | tail -n 1 || true)
  [[ -n $file ]] || return 0
  if [[ $file == *.json ]]; then
    v=$(sed -n 's/.*"per_step_overhead_s": *\([0-9.eE+-]*\).*/\1/p' "$file" | head -n 1)
    [[ -n $v ]] && bb_step=$(awk -v v="$v" 'BEGIN { printf "%.1f", v * 1000 }')
    v=$(sed -n 's/.*"biglog_MBps": *\([0-9.eE+-]*\).*/\1/p' "$file" | head -n 1)
    [[ -n $v ]] && bb_log=$(awk -v v="$v" 'BEGIN { printf "%.1f", v }')
    read -r m w < <(awk '/"idle_mem_kB_before"/ { s = 1 } /"idle_mem_kB_after"/ { s = 0 }
      s && /"master"/ { k = "m" } s && /"worker1"/ { k = "w" }
      s && /"VmRSS"/ { gsub(/[^0-9]/, "", $2); v[k] = $2 }
      END { print v["m"] + 0, v["w"] + 0 }' "$file")
    # "summary": { ..., "fanout": { "median": S, ... } }
    fan=$(awk '/"summary"/ { s = 1 } s && /"fanout": *\{/ { f = 1 }
      f && /"median"/ { gsub(/[^0-9.eE+-]/, "", $2); print $2; exit }' "$file")
    v=$(sed -n 's/.*"builds": *\([0-9]*\).*/\1/p' "$file" | head -n 1)
    [[ -n $v ]] && builds=$v
  else
    v=$(sed -n 's/^per-step overhead.*: *\([0-9.]*\) ms.*/\1/p' "$file" | head -n 1)
    [[ -n $v ]] && bb_step=$v
    v=$(sed -n 's/^bigLog throughput: *\([0-9.]*\) MB\/s.*/\1/p' "$file" | head -n 1)
    [[ -n $v ]] && bb_log=$v
    read -r m w < <(awk '$1 == "master" && NF == 5 { m = $2 } $1 == "worker1" && NF == 5 { w = $2 }
      END { print m * 1024 + 0, w * 1024 + 0 }' "$file")
    fan=$(awk '$1 == "fanout" && NF == 8 { print $2; exit }' "$file")
    v=$(sed -n 's/.*(\([0-9]*\) builds = .*/\1/p' "$file" | head -n 1)
    [[ -n $v ]] && builds=$v
  fi
  [[ ${m:-0} != 0 ]] && bb_ctl=$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }')
  [[ ${w:-0} != 0 ]] && bb_agent=$(awk -v k="$w" 'BEGIN { printf "%.1f", k / 1024 }')
  [[ -n $fan ]] && bb_dispatch=$(awk -v n="$builds" -v s="$fan" 'BEGIN { printf "%.1f", (s > 0) ? n / s : 0 }')
  bb_src=${file#"$root/../"}
}

# bench_setup NAME: $tmp, $pids, and the exit trap.
bench_setup() {
  tmp=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/gantry-$1-XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}

# bench_controller ARGS...: starts $tmp/gantry-controller with ARGS (its data
# in $tmp/data), waits for its address; sets $cpid and $server.
bench_controller() {
  "$tmp/gantry-controller" "$@" >"$tmp/controller.log" 2>&1 &
  cpid=$!
  pids+=("$cpid")
  for _ in $(seq 1 250); do [ -s "$tmp/data/controller.addr" ] && break; sleep 0.02; done
  server=$(cat "$tmp/data/controller.addr")
}
