# Sourced by the bench scripts that run daemons: a temp dir that goes away
# at exit together with every process the script started (append their
# pids to `pids`), and a controller on a free port of 127.0.0.1.

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
