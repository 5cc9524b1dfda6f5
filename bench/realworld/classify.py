#!/usr/bin/env python3
"""Classifies one `gantry run` of the real-world corpus, or summarises results.tsv.

  classify.py EXIT LOGDIR           -> prints CLASS<TAB>REASON for one run
  classify.py --summary RESULTS.TSV  -> prints the Markdown summary

Classes say whose the failure is:
  succeeded / unstable        the run's result
  gantry: unknown step        a step Gantry does not provide (or not in that form)
  gantry: groovy              Groovy the interpreter cannot run (construct, variable)
  gantry: run machinery       anything else Gantry itself refused or did wrongly
  credentials                 `gantry run` has no secrets, so credentials() fails
  library                     a shared library the file loads is not available here
  environment                 what neither Gantry nor the harness can give: the
                              project's own files, network, absolute paths, bash as
                              /bin/sh, a PATH the pipeline overrides
  harness                     a tool without a shim (fix run.sh's shim list)
  timeout                     no result within the per-file timeout
  rejected by lint            `gantry lint` exit 1: the file is not accepted
"""
import collections
import glob
import json
import os
import re
import sys


def stage_log(ldir, stage):
    """The stage's log in the run directory (names are sanitised by gantry)."""
    norm = lambda x: re.sub(r'[^A-Za-z0-9]', '', x)
    want = norm(stage.get('id') or stage.get('name') or '')
    for p in sorted(glob.glob(os.path.join(ldir, 'runs', '*', 'logs', '*.log'))):
        if norm(os.path.basename(p)[:-4]) == want:
            return open(p, errors='replace').read().splitlines()
    return []


def script_failure(lines, n, env_path_override, shares_workspace):
    """Refines 'script returned exit code N' from the stage log."""
    last = cmd_line = ''
    for i, line in enumerate(lines):
        if re.search(r'\[gantry\] ERROR: script returned exit code', line):
            for j in range(i - 1, -1, -1):
                t = lines[j]
                if not t.startswith('[gantry]') and not t.startswith('[shim]') \
                        and not t.startswith('[stub]') and t.strip():
                    last = last or t.strip()
                if t.startswith('[gantry] + '):
                    cmd_line = t[len('[gantry] + '):]
                    break
            break
    if cmd_line.startswith('#!') and not re.match(r'#!\s*/bin/sh\b', cmd_line) and \
            re.search(r'Syntax error|not found|Bad substitution', last):
        return 'gantry: run machinery', "sh: the script's #! line is ignored (run by /bin/sh)"
    if shares_workspace and re.search(r'gantry-run-[^/]+/workspace.*No such file|getcwd\(\) failed', last):
        return 'gantry: run machinery', SHARED_WS
    m = re.search(r'(?:/bin/sh|sh): \d+: (.+?): not found', last)
    if m:
        cmd = m.group(1)
        if cmd in ('source', 'pushd', 'popd', 'shopt', 'declare', 'set'):
            return 'environment', 'bash-only shell syntax (%s) under /bin/sh (dash)' % cmd
        if env_path_override:
            return 'environment', 'the pipeline overrides PATH (%s not found)' % cmd
        if '/' in cmd and not cmd.startswith('./'):
            return 'environment', 'absolute or project path missing (%s)' % cmd
        return 'harness', 'no shim for %s' % cmd
    if re.search(r'Bad substitution|Syntax error|\[\[: not found|function: not found', last):
        return 'environment', 'bash-only shell syntax under /bin/sh (dash)'
    if re.search(r'cannot create .*(Directory nonexistent)|No such file or directory|can\'t cd', last):
        return 'environment', 'project file or directory missing (%s)' % last[:80]
    if env_path_override and str(n) == '1':
        return 'environment', 'the pipeline overrides PATH (exit %s)' % n
    return 'environment', 'script exit %s (%s)' % (n, last[:80] or 'no output')


SHARED_WS = "parallel branches share one workspace (a sibling's deleteDir removed it)"
GROOVY = re.compile(r'not supported by Gantry|Gantry cannot run|unknown variable|cannot evaluate|'
                    r'no such property|no method|MissingMethod|MissingProperty|groovy', re.I)


def normalise(reason):
    """CLASS, REASON-KEY (for the top list), REASON (full, for the TSV)."""
    r = re.sub(r'^post [a-zA-Z]+: ', '', reason.strip())
    r = re.sub(r'/tmp/gantry-run-[A-Za-z0-9]+/workspace', '$WORKSPACE', r)
    m = re.search(r"step '([^']+)' is not supported by this agent", r) or \
        re.search(r'unknown step "([^"]+)"', r)
    if m:
        return 'gantry: unknown step', 'unknown step: %s' % m.group(1)
    m = re.search(r"library '([^']+)'.* is not configured on this controller", r)
    if m:
        return 'library', 'shared library not available here'
    if re.search(r"credentials '[^']*' not (found|available)", r):
        return 'credentials', 'credentials not configured (gantry run has no secrets)'
    if re.search(r"only 'checkout scm' is supported", r):
        return 'gantry: unknown step', "checkout: only 'checkout scm' is supported"
    if GROOVY.search(r):
        # keep the message, drop the where (NAME (L:C): / step: L:C:) and the snippet
        k = re.sub(r'^[A-Za-z_ ]*\(?\d+:\d+\)?:\s*', '', r)
        k = re.sub(r'^(environment|when|script|echo|sh|[a-zA-Z]+)(\s+[A-Za-z_][A-Za-z0-9_]*)?\s*(\(\d+:\d+\))?:\s*(\d+:\d+:\s*)?', '', k)
        k = re.sub(r'\s*\((?:[^()]|\([^()]*\))*\)', '', k, count=1) if 'cannot evaluate' in k else k
        k = re.sub(r'unknown variable \S+', 'unknown variable (a Jenkins global or an earlier def)', k)
        k = re.sub(r'\(def [^)]*\)|\([^)]*= \.\.\.\)|\(try \{ \.\.\. \}\)', '', k)
        k = re.sub(r'; (use|set|only) .*$', '', k)
        k = re.sub(r'\s+', ' ', k).strip()
        return 'gantry: groovy', 'groovy: ' + k
    if re.search(r'^deleteDir: \$WORKSPACE: No such file', r) or re.search(r'getcwd\(\) failed', r):
        return 'gantry: run machinery', SHARED_WS
    if re.search(r'No test report files were found', r):
        return 'environment', 'junit: no report files (pattern not stubbed)'
    if re.search(r'No files included in stash|No artifacts found', r):
        return 'environment', 'stash/archive: no files (pattern not stubbed)'
    return 'gantry: run machinery', r[:120]


def classify(rc, ldir):
    runs = sorted(glob.glob(os.path.join(ldir, 'runs', '*', 'run.json')),
                  key=lambda p: int(p.split(os.sep)[-2]))
    out = open(os.path.join(ldir, 'output.txt'), errors='replace').read() \
        if os.path.exists(os.path.join(ldir, 'output.txt')) else ''
    src = open(os.path.join(ldir, 'Jenkinsfile'), errors='replace').read() \
        if os.path.exists(os.path.join(ldir, 'Jenkinsfile')) else ''
    shares_workspace = bool(re.search(r'\b(parallel|matrix)\b', src)) and \
        bool(re.search(r'\b(deleteDir|cleanWs)\b', src))
    env_path_override = bool(re.search(r'^\s*PATH\s*=\s*["\'](?!.*\$\{?PATH)', src, re.M))
    if rc == '0':
        return 'succeeded', 'succeeded', ''
    if rc == '3':
        return 'unstable', 'unstable', ''
    if rc == '124':
        return 'timeout', 'timeout', 'no result within the per-file timeout'
    if not runs:
        first = next((l for l in out.splitlines() if re.search(r'error|fail|cannot|unknown', l, re.I)),
                     out.splitlines()[0] if out else 'no output')
        return 'gantry: run machinery', first[:120], first
    r = json.load(open(runs[-1]))
    stages = r.get('stages', [])
    bad = [s for s in stages if s.get('status') in ('failed', 'aborted', 'unstable') and s.get('reason')]
    bad.sort(key=lambda s: (s.get('started_at') or 0, stages.index(s)))
    if not bad:
        why = r.get('reason') or 'run %s without a stage reason' % r.get('status')
        return 'gantry: run machinery', why[:120], why
    s = bad[0]
    reason = s['reason']
    m = re.search(r'script returned exit code (\d+)', reason)
    if m:
        cls, key = script_failure(stage_log(ldir, s), m.group(1), env_path_override, shares_workspace)
        return cls, key, '%s: %s' % (s.get('name'), key)
    cls, key = normalise(reason)
    return cls, key, '%s: %s' % (s.get('name'), reason)


def summary(results, gantry, controller='no'):
    rows = list(csvrows(results))
    total = len(rows)
    lint_ok = [r for r in rows if r['lint'] == 'ok']
    ok = [r for r in rows if r['class'] == 'succeeded']
    linux = [r for r in rows if r['linux'] == 'yes']
    linux_ok_lint = [r for r in linux if r['lint'] == 'ok']
    linux_succ = [r for r in linux if r['class'] == 'succeeded']
    classes = collections.Counter(r['class'] for r in rows)
    keys = collections.Counter(r['key'] for r in rows if r['class'] not in ('succeeded', 'unstable'))
    p = print
    p('# Real-world Jenkinsfiles: ' + ('a controller with agents' if controller == 'yes'
                                        else 'gantry run'))
    p()
    p('gantry: `%s`' % gantry)
    p()
    p('| | all | Linux-only |')
    p('|---|---|---|')
    p('| files | %d | %d |' % (total, len(linux)))
    p('| accepted by `gantry lint` | %d | %d |' % (len(lint_ok), len(linux_ok_lint)))
    p('| run to success | %d | %d |' % (len(ok), len(linux_succ)))
    p('| unstable | %d | %d |' % (classes['unstable'], sum(1 for r in linux if r['class'] == 'unstable')))
    p()
    p('Of %d accepted, %d run to success.' % (len(lint_ok), len(ok)))
    p()
    p('## By class')
    p()
    p('| class | files |')
    p('|---|---|')
    for c, n in classes.most_common():
        p('| %s | %d |' % (c, n))
    p()
    p('## Top 10 first-failure reasons')
    p()
    p('| # | reason | files |')
    p('|---|---|---|')
    for i, (k, n) in enumerate(keys.most_common(10), 1):
        p('| %d | %s | %d |' % (i, k.replace('|', '\\|'), n))


def csvrows(path):
    with open(path, errors='replace') as f:
        head = f.readline().rstrip('\n').split('\t')
        for line in f:
            v = line.rstrip('\n').split('\t')
            yield dict(zip(head, v + [''] * (len(head) - len(v))))


if __name__ == '__main__':
    if sys.argv[1] == '--summary':
        summary(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else '',
                sys.argv[4] if len(sys.argv) > 4 else 'no')
    else:
        cls, key, full = classify(sys.argv[1], sys.argv[2])
        clean = lambda s: re.sub(r'[\t\n]+', ' ', s)
        print('%s\t%s\t%s' % (clean(cls), clean(key), clean(full)))
