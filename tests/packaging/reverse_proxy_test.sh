#!/usr/bin/env bash
# The reverse proxy of docs/install.md: Debian's nginx runs
# packaging/etc/nginx-gantry.conf (its host name, ports and certificate paths
# replaced; everything else as shipped) and terminates TLS in front of a
# controller on 127.0.0.1 without TLS. An agent connects through it over WSS,
# the CLI triggers and follows a run through it (the event stream is a
# WebSocket too), and the log comes back through it. A throwaway CA
# (tests/support/make_test_pki.sh) stands in for Let's Encrypt.
# Usage: reverse_proxy_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "$0")/lib.sh"
src=$(realpath "$1") build=$(realpath "$2")
command -v nginx >/dev/null || {
  echo "FAIL: nginx is not installed (bash packaging/deps.sh installs nginx-light)" >&2
  exit 1
}
work=$(mktemp -d /tmp/gantry-proxy.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for f in "$work"/*.log "$work"/nginx/error.log; do
      [[ -f $f ]] && { echo "--- $f (tail)"; tail -n 20 "$f"; }
    done
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

sh "$src/tests/support/make_test_pki.sh" "$work/pki" >/dev/null 2>&1 || fail "openssl could not make the test certificates"

# A repository and the controller, plain HTTP on loopback, as install.md's proxy section has it.
git init -q -b main "$work/app"
cat >"$work/app/Jenkinsfile" <<'GROOVY'
pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'for i in 1 2 3; do echo "through the proxy $i"; sleep 0.2; done' } }
  }
}
GROOVY
git -C "$work/app" add -A
git -C "$work/app" -c user.name=Admin -c user.email=admin@example.com commit -qm "A pipeline"
git clone -q --bare "$work/app" "$work/app.git"
cat >"$work/controller.yml" <<YML
repositories:
  - {name: app, url: "file://$work/app.git", branches: [main], poll: 1h}
YML
"$build/controller/gantry-controller" --config "$work/controller.yml" --listen 127.0.0.1:0 \
  --data "$work/data" >"$work/controller.log" 2>&1 &
pids+=($!)
wait_for "the controller listening" 20 test -s "$work/data/controller.addr"
upstream=$(cat "$work/data/controller.addr")
upstream=${upstream#http://}

# nginx with the shipped server blocks: ports, names and paths replaced.
http_port=$(free_port) https_port=$(free_port)
mkdir -p "$work/nginx"
sed -e "s#listen 80;#listen 127.0.0.1:$http_port;#" -e "s#listen 443 ssl;#listen 127.0.0.1:$https_port ssl;#" \
  -e '/listen \[::\]/d' -e 's#ci.example.com#localhost#g' \
  -e "s#/etc/letsencrypt/live/localhost/fullchain.pem#$work/pki/server.pem#" \
  -e "s#/etc/letsencrypt/live/localhost/privkey.pem#$work/pki/server.key#" \
  -e "s#/var/www/letsencrypt#$work/nginx/acme#" -e "s#http://127.0.0.1:8080#http://$upstream#" \
  "$src/packaging/etc/nginx-gantry.conf" >"$work/nginx/gantry.conf"
grep -q "proxy_pass http://$upstream;" "$work/nginx/gantry.conf" || fail "the shipped config has no proxy_pass to 127.0.0.1:8080"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  include $work/nginx/gantry.conf;
}
CONF
nginx -t -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" 2>&1 | tail -n 2
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -g 'daemon off;' &
pids+=($!)
server="https://localhost:$https_port"
nginx_up() { curl -fsS --cacert "$work/pki/ca.pem" "$server/healthz"; }
wait_for "nginx answering /healthz over TLS" 20 nginx_up
[[ $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://localhost:$http_port/runs") == "301 https://localhost/runs" ]] ||
  fail "plain HTTP is not redirected to HTTPS"

# An agent through the proxy (WSS: the controller's own port is not given to it),
# then the CLI through it.
"$build/agent/gantry-agent" --controller "$server" --ca "$work/pki/ca.pem" \
  --token-file "$work/data/agent.token" --name proxied --work "$work/agent" >"$work/agent.log" 2>&1 &
pids+=($!)
export GANTRY_SERVER=$server GANTRY_CA=$work/pki/ca.pem GANTRY_TOKEN
GANTRY_TOKEN=$(cat "$work/data/admin.token")
gantry=$build/cli/gantry
agent_connected() { "$gantry" agents | grep -q 'proxied .*connected'; }
wait_for "the agent connected through nginx" 20 agent_connected
run=$("$gantry" trigger --repo app --ref main)
"$gantry" logs -f "$run" Build | tee "$work/build.log" || fail "run $run did not succeed"
grep -q 'through the proxy 3' "$work/build.log" || fail "the log did not come through"
"$gantry" wait "$run" || fail "wait through the proxy"
echo "PASS: an agent, a run, its live log and events through nginx over TLS"
