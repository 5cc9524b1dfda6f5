#!/usr/bin/env bash
# Real-world Jenkinsfile corpus: how many does `gantry run` take to success?
#
#   bench/realworld/run.sh [--gantry PATH] [--cache DIR] [--out DIR] [--timeout SECONDS]
#                          [--only REGEX] [--controller]
#
# --controller: through gantry-controller and gantry-agent (next to --gantry's
# build: ../controller, ../agent) configured as a Jenkins admin would have
# them (controller_run.py: an agent per label, a secret per credentials id, a
# user per input submitter), instead of `gantry run`.
#
# For each line of corpus.tsv whose file is in the cache (README.md says how the
# cache is filled), the file is linted, then run by `gantry run --input proceed -q`
# in a fresh git repository where every external tool a pipeline may call is a shim
# that prints its argv (to stderr) and exits 0, and every script the file names
# (./gradlew, ci/build.sh, ...) is a stub that does the same. So what fails is
# Gantry's machinery (steps, Groovy, environment), not the missing toolchains.
#
# Writes OUT/results.tsv (repo, path, linux, lint, exit, class, key, reason),
# OUT/summary.md, and OUT/logs/<entry>/ (gantry's output, lint output, run.json,
# stage logs). Nothing in the repository is written.
set -u
here=$(cd "$(dirname "$0")" && pwd)
gantry_src=""
cache=/work/realworld-cache
out=/tmp/gantry-realworld
per_file_timeout=60
only=""
controller=no
while [ $# -gt 0 ]; do
  case "$1" in
  --gantry) gantry_src=$2; shift 2 ;;
  --cache) cache=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --timeout) per_file_timeout=$2; shift 2 ;;
  --only) only=$2; shift 2 ;;
  --controller) controller=yes; shift ;;
  -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
corpus=$here/corpus.tsv
[ -f "$corpus" ] || { echo "run.sh: no $corpus" >&2; exit 2; }
[ -d "$cache" ] || { echo "run.sh: no cache directory $cache (see $here/README.md)" >&2; exit 2; }

# Tools the harness itself uses, resolved before the shims go first on PATH.
PY=$(command -v python3) || { echo "run.sh: needs python3" >&2; exit 2; }
GIT=$(command -v git) || { echo "run.sh: needs git" >&2; exit 2; }

work=$(mktemp -d /tmp/gantry-realworld-work.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The build may replace the binary while we run: use a private copy.
if [ -z "$gantry_src" ]; then gantry_src=$here/../../build/cli/gantry; fi
[ -x "$gantry_src" ] || { echo "run.sh: no gantry binary at $gantry_src" >&2; exit 2; }
mkdir -p "$work/bin"
cp "$gantry_src" "$work/bin/gantry"
G=$work/bin/gantry
if [ $controller = yes ]; then
  build_dir=$(cd "$(dirname "$gantry_src")/.." && pwd)
  for b in controller/gantry-controller agent/gantry-agent; do
    [ -x "$build_dir/$b" ] || { echo "run.sh: no $build_dir/$b for --controller" >&2; exit 2; }
    cp "$build_dir/$b" "$work/bin/"
  done
fi

# ---- shims: every external tool a pipeline may call prints its argv and exits 0 ----
# In a bin/ of its own, so that a tool's home (tools { }, tool) is the directory above it.
shims=$work/tool-home/bin
mkdir -p "$shims"
# (ssh-agent and ssh-add are not shims: the sshagent step is Gantry's own machinery, and the
# harness gives each sshagent credential a real throwaway key.)
shim_names="
mvn mvnw gradle gradlew ant sbt lein bazel bazelisk buck
java javac jar jarsigner keytool kotlinc scala groovy
npm npx yarn pnpm node nodejs bower grunt gulp ng jest mocha lerna nx tsc eslint prettier
python python2 python3 py.test pyinstaller pre-commit nox pip pip2 pip3 pipenv poetry tox pytest nosetests virtualenv conda flake8 pylint black mypy coverage twine uv
go gofmt golangci-lint golint gotestsum goreleaser
cargo rustc rustup
make cmake ctest ninja meson gcc g++ cc c++ clang clang++ ld ccache autoreconf configure conan
dotnet nuget msbuild mono
ruby gem bundle bundler rake rspec rubocop
php composer phpunit
flutter dart swift xcodebuild
docker docker-compose podman buildah kaniko skopeo crane hadolint trivy grype syft cosign dive
kubectl helm kind setup-envtest envtest minikube k3d oc kustomize argocd skaffold istioctl eksctl
terraform terragrunt packer vagrant ansible ansible-playbook ansible-galaxy pulumi
aws gcloud gsutil az sam cdk
curl wget ssh scp sftp rsync sshpass ssh-keyscan nc
zip unzip tar gzip gunzip bzip2 xz 7z
jq yq xmllint xmlstarlet
sonar-scanner sonar-runner snyk dependency-check owasp-zap zap-cli checkov tfsec tflint shellcheck
gpg gpg2 openssl vault summon conjur jfrog jf gh hub glab
sudo apt apt-get dpkg yum dnf apk brew snap rpm rpmbuild pkg-config
xvfb-run Xvfb google-chrome chromium chromedriver firefox geckodriver selenium-standalone cypress playwright newman k6 jmeter locust
mkdocs hugo jekyll sphinx-build asciidoctor doxygen pandoc
mysql psql mongo mongosh redis-cli sqlplus sqlcmd liquibase flyway
systemctl service
"
for t in $shim_names; do
  printf '#!/bin/sh\necho "[shim] %s $*" >&2\nexit 0\n' "$t" >"$shims/$t"
  chmod +x "$shims/$t"
done

# Jenkins' Linux-only test: bat/powershell steps, or windows labels.
is_linux_only() {
  ! grep -qiE "(^|[^A-Za-z0-9_.])(bat|powershell|pwsh)[[:space:]]*[(\"']|label[^\n]*win(dows)?[^a-z]|(^|[^a-z])windows[-_ ]?(agent|node|slave|server|2016|2019|2022|10|11)" "$1"
}

# Stub every script, wrapper and directory the file names, so that what is missing is
# the project's tree, not something Gantry should have done; and put a passing JUnit
# report / a placeholder file where junit, archiveArtifacts and stash look, since the
# shims build nothing. Every stub is made at the top and inside each dir('...').
make_stubs() { # FILE DIR
  local f=$1 d=$2 p base dirs
  dirs=$(
    {
      grep -oE "dir[[:space:]]*\(?[[:space:]]*(path:[[:space:]]*)?['\"][A-Za-z0-9_.][A-Za-z0-9_./+-]*['\"]" "$f" | sed -E "s#.*['\"]([^'\"]+)['\"]#\1#"
      grep -oE "(^|[^A-Za-z0-9_])cd[[:space:]]+[A-Za-z0-9_.][A-Za-z0-9_./+-]*" "$f" | sed -E 's#.*cd[[:space:]]+##'
    } | sed -E 's#^\./##; s#/+$##' | grep -vE '^$|^\.\.|^\.$|//|\$' | sort -u
  )
  for p in $dirs; do mkdir -p "$d/$p" 2>/dev/null && touch "$d/$p/.bench-keep" 2>/dev/null; done
  {
    grep -oE '(^|[^A-Za-z0-9_$/.-])\./\.?[A-Za-z0-9_][A-Za-z0-9_./+-]*' "$f" | sed -E 's#^[^.]*\./#./#'
    grep -oE '[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*\.(sh|bash|py|pl|rb|groovy|ps1)\b' "$f"
    grep -oE '(^|[^A-Za-z0-9_])(gradlew|mvnw)\b' "$f" | sed -E 's#^[^gm]*##'
  } | sed -E 's#^\./##; s#[.,:;)]+$##' | grep -vE '^$|^\.\.|^\.$|//|\$|/$' | sort -u | while read -r p; do
    for base in "$d" $(for x in $dirs; do echo "$d/$x"; done); do
      [ -e "$base/$p" ] && continue
      mkdir -p "$base/$(dirname "$p")" 2>/dev/null || continue
      printf '#!/bin/sh\necho "[stub] %s $*" >&2\ntrue\n' "$p" >"$base/$p" 2>/dev/null || continue
      chmod +x "$base/$p"
    done
  done
  # report and artifact patterns: junit 'X', junit testResults: 'X', archiveArtifacts 'X',
  # archiveArtifacts artifacts: 'X', stash includes: 'X' (comma-separated globs)
  "$PY" - "$f" "$d" $dirs <<'PYEOF'
import re, sys, os
f, d, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(f, errors='replace').read()
pats = []
for m in re.finditer(r"\b(junit|archiveArtifacts|stash|xunit)\b([^\n]*)", text):
    kind, rest = m.group(1), m.group(2)
    keys = {'junit': r'(?:testResults\s*:\s*)?', 'archiveArtifacts': r'(?:artifacts\s*:\s*)?',
            'stash': r'includes\s*:\s*', 'xunit': r'pattern\s*:\s*'}[kind]
    for g in re.finditer(r"(?:^|[\s(,])" + keys + r"(['\"])([^'\"$]+)\1", rest):
        for p in g.group(2).split(','):
            p = p.strip()
            if p and not p.startswith('/') and '..' not in p:
                pats.append((kind, p))
    if kind in ('junit', 'archiveArtifacts') and 'testResults' not in rest and 'artifacts' not in rest:
        pass
xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="bench" tests="1" failures="0" '
       'errors="0" skipped="0" time="0"><testcase classname="bench" name="stub" time="0"/></testsuite>\n')
for kind, p in pats:
    q = re.sub(r'\*\*/', '', p)
    q = q.replace('**', 'bench').replace('*', 'bench').replace('?', 'x')
    q = re.sub(r'\{([^,}]*)[^}]*\}', r'\1', q)
    if q.endswith('/'): q += 'bench.txt'
    for base in [d] + [os.path.join(d, x) for x in dirs]:
        path = os.path.join(base, q)
        if os.path.exists(path): continue
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as o:
                o.write(xml if kind in ('junit', 'xunit') or q.endswith('.xml') else 'bench placeholder\n')
        except OSError:
            pass
PYEOF
}

mkdir -p "$out/logs"
results=$out/results.tsv
printf 'repo\tpath\tlinux\tlint\texit\tclass\tkey\treason\n' >"$results"

n=0
tail -n +2 "$corpus" | while IFS=$'\t' read -r repo path commit; do
  [ -n "$repo" ] || continue
  if [ -n "$only" ] && ! [[ "$repo/$path" =~ $only ]]; then continue; fi
  src=$cache/${repo//\//+}/${path//\//+}
  [ -f "$src" ] || continue
  n=$((n + 1))
  ent=${repo//\//+}__${path//\//+}
  L=$out/logs/$ent
  rm -rf "$L"; mkdir -p "$L"
  linux=yes; is_linux_only "$src" || linux=no
  cp "$src" "$L/Jenkinsfile"

  # lint: exit 1 means the file is not accepted
  "$G" lint "$src" >"$L/lint.txt" 2>&1
  lrc=$?
  if [ $lrc -ne 0 ]; then
    reason=$(grep -m1 -E ': error: ' "$L/lint.txt" | sed -E 's#^[^:]*:[0-9]+:[0-9]+: error: ##')
    [ -n "$reason" ] || reason=$(head -1 "$L/lint.txt")
    key="lint: $(sed -E 's/"[^"]*"/"…"/g; s/\[[^]]*\]/[…]/g' <<<"$reason" | cut -c1-100)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$repo" "$path" "$linux" rejected - "rejected by lint" "$key" "$reason" >>"$results"
    printf '%3d %-60s rejected by lint: %s\n' "$n" "$repo/$path" "$reason" | cut -c1-200
    continue
  fi

  # a fresh repository with the file as ./Jenkinsfile, its stubs, one commit
  R=$work/repo; rm -rf "$R" "$work/home"; mkdir -p "$R" "$work/home"
  cp "$src" "$R/Jenkinsfile"
  make_stubs "$src" "$R"
  (cd "$R" && "$GIT" init -q && "$GIT" add -A && "$GIT" -c user.email=bench@gantry.invalid \
    -c user.name=bench commit -qm "realworld corpus: $repo $path") >/dev/null 2>&1

  start=$(date +%s)
  if [ $controller = yes ]; then
    # controller_run.py cancels the run at the timeout; the outer deadline is a backstop.
    (exec setsid "$PY" "$here/controller_run.py" "$R" "$L" "$work/bin" "$shims" \
      "$per_file_timeout" </dev/null >"$L/harness.txt" 2>&1) &
    per_file_deadline=$((per_file_timeout + 30))
  else
    (cd "$R" && HOME=$work/home PATH="$shims:$PATH" exec setsid "$G" run --input proceed -q Jenkinsfile \
      </dev/null >"$L/output.txt" 2>&1) &
    per_file_deadline=$per_file_timeout
  fi
  pid=$!
  deadline=$((start + per_file_deadline))
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null # setsid: gantry leads its own process group
    sleep 2
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=124
  else
    wait "$pid"; rc=$?
  fi
  [ -d "$R/.gantry/runs" ] && cp -r "$R/.gantry/runs" "$L/runs" 2>/dev/null

  IFS=$'\t' read -r cls key reason < <("$PY" "$here/classify.py" "$rc" "$L")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$repo" "$path" "$linux" ok "$rc" "$cls" "$key" "$reason" >>"$results"
  printf '%3d %-60s %s: %s\n' "$n" "$repo/$path" "$cls" "$key" | cut -c1-200
done

"$PY" "$here/classify.py" --summary "$results" "$gantry_src" "$controller" >"$out/summary.md"
cat "$out/summary.md"
echo "results: $results  logs: $out/logs/"
