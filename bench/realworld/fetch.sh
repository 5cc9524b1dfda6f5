#!/usr/bin/env bash
# Fills the cache of corpus.tsv's Jenkinsfiles (their text is not in this repository).
#
#   bench/realworld/fetch.sh [--cache DIR] [--mirrors DIR]
#
# Each line (repo, path, commit) becomes CACHE/<repo, / as +>/<path, / as +>.
# With --mirrors DIR, the file is read with `git show COMMIT:PATH` from a local git
# directory DIR/<owner>+<name>/repo (or .../repo/.git); otherwise it is downloaded from
# https://raw.githubusercontent.com/REPO/COMMIT/PATH (needs the internet).
# Files already in the cache are kept. Prints how many are cached and which are missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cache=/work/realworld-cache
mirrors=""
while [ $# -gt 0 ]; do
  case "$1" in
  --cache) cache=$2; shift 2 ;;
  --mirrors) mirrors=$2; shift 2 ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "fetch.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
have=0 missing=0
while IFS=$'\t' read -r repo path commit; do
  d=$cache/${repo//\//+}
  f=$d/${path//\//+}
  if [ ! -s "$f" ]; then
    mkdir -p "$d"
    if [ -n "$mirrors" ]; then
      g=$mirrors/${repo//\//+}/repo
      [ -d "$g/.git" ] && g=$g/.git
      git -C "$g" show "$commit:$path" >"$f.part" 2>/dev/null && mv "$f.part" "$f"
    else
      curl -fsSL "https://raw.githubusercontent.com/$repo/$commit/$path" -o "$f.part" 2>/dev/null && mv "$f.part" "$f"
    fi
    rm -f "$f.part"
  fi
  if [ -s "$f" ]; then have=$((have + 1)); else missing=$((missing + 1)); echo "missing: $repo $path $commit"; fi
done < <(tail -n +2 "$here/corpus.tsv")
echo "cached: $have, missing: $missing (cache: $cache)"
