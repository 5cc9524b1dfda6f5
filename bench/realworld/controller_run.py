#!/usr/bin/env python3
"""One corpus file through a controller with agents (run.sh --controller).

  controller_run.py REPO LOGDIR BINDIR SHIMS TIMEOUT

Sets up what a Jenkins admin would have for this file: a controller
(gantry-controller) watching REPO as the configured repository `app`; an agent
(gantry-agent, executors 2, the shims first on its PATH) for each label
expression the file names, with the expression's atoms as its labels, and one
without labels; a secret for each credentials id the file names (value
`bench-user:bench-secret`, so username/password pairs split); a user for each
input submitter. Triggers one run of `app`, answers its inputs as their
submitter (or the admin), waits for its end, and keeps what `gantry run` would:
LOGDIR/output.txt and LOGDIR/runs/1/run.json, LOGDIR/runs/1/logs/STAGE.log.
Exit status as `gantry run`'s: 0 succeeded, 3 unstable, 1 otherwise, 124 when
the run did not end within TIMEOUT seconds (then it is cancelled).
"""
import json
import os
import shutil
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# `label 'x'` as a directive (agent { label 'x' }, docker { label 'x' }), label('x'), not
# `sh label: 'Saving logs'` (a step's display name).
LABEL = re.compile(r"""(?:^|[{;])\s*label\s*(?:\(\s*|\s+)(['"])([^'"$]+)\1""", re.M)
NODE = re.compile(r"""\bnode\s*\(\s*(?:label\s*:\s*)?(['"])([^'"$]+)\1""")
CREDS = re.compile(r"""\b(?:credentials\s*\(\s*|credentialsId\s*:\s*|registryCredentialsId\s+|[A-Za-z_]*CRED[A-Za-z_]*\s*=\s*)"""
                   r"""(['"])([^'"$]+)\1""")
SSHAGENT = re.compile(r"""\bsshagent\s*\(?\s*(?:credentials\s*:\s*)?\[([^\]]*)\]""")
BUILD_JOB = re.compile(r"""(?<![.\w])build\s*\(?\s*(?:job\s*:\s*)?(['"])([^'"$]+)\1""")
QUOTED = re.compile(r"""(['"])([^'"$]+)\1""")
# A Slack-shaped webhook that answers "ok" to every POST, on 127.0.0.1:argv[1].
SLACK_SINK = (
    "import http.server,sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "  def do_POST(self):\n"
    "    self.rfile.read(int(self.headers.get('Content-Length') or 0))\n"
    "    self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")
TOOLS = re.compile(r"\btools\s*\{([^}]*)\}")
TOOL_ENTRY = re.compile(r"""\b([A-Za-z]+)\s*\(?\s*(['"])([^'"$]+)\2""")
TOOL_STEP = re.compile(r"""\btool\s*\(?\s*(?:name\s*:\s*)?(['"])([^'"$]+)\1"""
                       r"""(?:\s*,\s*type\s*:\s*(['"])([^'"$]+)\3)?""")
SUBMITTER = re.compile(r"""\bsubmitter\s*:\s*(['"])([^'"$]+)\1""")
# Container images: `image 'x'` (docker agent), `docker 'x'`, docker.image('x'), a pod's
# `image: x`. An admin's registry has them; here each is a local image of busybox and the
# shims (docs/containers.md), tagged with the name the file uses.
IMAGE = re.compile(r"""(?:\bimage\s*\(?\s*|\bdocker\s+|docker\.image\s*\(\s*)(['"])([^'"$]+)\1""")
POD_IMAGE = re.compile(r"""^\s*-?\s*image\s*:\s*['"]?([^\s'"$]+)""", re.M)
DOCKERFILE = re.compile(r"""\bdockerfile\s*(?:true|\{([^}]*)\})""")
BASE_IMAGE = 'localhost/gantry-realworld-base:1'


def make_images(text, shims, repo, out):
    """Local images for the file's container agents; a Dockerfile where it builds one."""
    names = sorted({m.group(2) for m in IMAGE.finditer(text)} |
                   {m.group(1) for m in POD_IMAGE.finditer(text)})
    dockerfiles = []
    for m in DOCKERFILE.finditer(text):
        body = m.group(1) or ''
        d = re.search(r"""\bdir\s*(['"])([^'"$]+)\1""", body)
        f = re.search(r"""\bfilename\s*(['"])([^'"$]+)\1""", body)
        dockerfiles.append(os.path.join(d.group(2) if d else '.', f.group(2) if f else 'Dockerfile'))
    if not names and not dockerfiles:
        return
    import tempfile
    busybox = shutil.which('busybox') or '/bin/busybox'
    with tempfile.TemporaryDirectory() as root:
        for d in ('bin', 'etc', 'tmp', 'usr/local/bin'):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy(busybox, os.path.join(root, 'bin', 'busybox'))
        applets = subprocess.run([busybox, '--list'], capture_output=True, text=True).stdout.split()
        for a in applets:
            if a != 'busybox' and not os.path.exists(os.path.join(root, 'bin', a)):
                os.symlink('busybox', os.path.join(root, 'bin', a))
        with open(os.path.join(root, 'etc', 'passwd'), 'w') as fh:
            fh.write('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n')
        with open(os.path.join(root, 'etc', 'group'), 'w') as fh:
            fh.write('root:x:0:\nnogroup:x:65534:\n')
        for t in os.listdir(shims):
            shutil.copy(os.path.join(shims, t), os.path.join(root, 'usr/local/bin', t))
        tar = subprocess.run(['tar', '-C', root, '-cf', '-', '.'], capture_output=True).stdout
        # A default command that keeps running, as a real service image's does (withRun
        # sidecars start with it).
        subprocess.run(['podman', 'import', '--change', 'CMD ["sleep", "86400"]', '-', BASE_IMAGE],
                       input=tar, capture_output=True)
    for n in names:
        subprocess.run(['podman', 'tag', BASE_IMAGE, n], capture_output=True)
    for f in dockerfiles:
        path = os.path.normpath(os.path.join(repo, f))
        if path.startswith(os.path.abspath(repo)) and not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as fh:
                fh.write('FROM %s\n' % BASE_IMAGE)
    if dockerfiles:
        subprocess.run(['git', '-C', repo, 'add', '-A'], capture_output=True)
        subprocess.run(['git', '-C', repo, '-c', 'user.name=bench', '-c', 'user.email=b@x',
                        'commit', '-qm', 'bench: Dockerfile'], capture_output=True)
    print('images: %s%s' % (', '.join(names) or '-',
                            '; dockerfiles: ' + ', '.join(dockerfiles) if dockerfiles else ''),
          file=out)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(base, method, path, token, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header('Authorization', 'Bearer ' + token)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode()


def main():
    repo, ldir, bindir, shims, timeout = sys.argv[1:6]
    timeout = float(timeout)
    text = open(os.path.join(repo, 'Jenkinsfile'), errors='replace').read()
    exprs = sorted({m.group(2).strip() for r in (LABEL, NODE) for m in r.finditer(text)})
    label_sets = []
    for e in exprs[:8]:
        atoms = sorted({a for a in re.split(r'[&|!()\s,]+', e) if a})
        if atoms and atoms not in label_sets:
            label_sets.append(atoms)
    creds = {m.group(2) for m in CREDS.finditer(text)}
    ssh_ids = set()
    for m in SSHAGENT.finditer(text):
        ssh_ids |= {q.group(2) for q in QUOTED.finditer(m.group(1))}
    creds = sorted(creds | ssh_ids)
    # The jobs its build steps start, as the admin has them: each a repository of its own
    # whose pipeline succeeds.
    downstream = sorted({m.group(2) for m in BUILD_JOB.finditer(text)})[:10]
    # Tools an admin would have installed on the agents: a home whose bin/ is the shims.
    tools = {(m.group(1), m.group(3)) for b in TOOLS.finditer(text)
             for m in TOOL_ENTRY.finditer(b.group(1))}
    for m in TOOL_STEP.finditer(text):
        kind = (m.group(4) or 'maven').lower()
        kind = 'maven' if 'maven' in kind else 'jdk' if 'jdk' in kind else kind
        tools.add((kind, m.group(2)))
    submitters = sorted({s.strip() for m in SUBMITTER.finditer(text)
                         for s in m.group(2).split(',') if s.strip()})

    work = os.path.join(ldir, 'controller')
    os.makedirs(work, exist_ok=True)
    port = free_port()
    base = 'http://127.0.0.1:%d' % port
    admin = secrets.token_hex(16)
    agent_token = secrets.token_hex(16)
    users = [{'name': 'admin', 'role': 'admin', 'token': admin}]
    tokens = {}
    for s in submitters:
        if re.fullmatch(r'[A-Za-z0-9._@-]+', s) and s != 'admin':
            tokens[s] = secrets.token_hex(16)
            users.append({'name': s, 'role': 'developer', 'groups': [s], 'token': tokens[s]})
    config = {
        'listen': '127.0.0.1:%d' % port,
        'data_dir': os.path.join(work, 'data'),
        'users': users,
        'agent_tokens': [{'name': 'bench', 'token': agent_token}],
        'repositories': [{'name': 'app', 'url': repo, 'poll': '0s'}],
        'agent_lost_after': '10s',
    }
    if creds:
        config['secrets'] = {c: {'value': 'bench-user:bench-secret'} for c in creds}
        for c in ssh_ids:  # an SSH key, for sshagent
            key = os.path.join(work, 'key-%d' % len(config['secrets']))
            if not os.path.exists(key):
                subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key],
                               check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if os.path.exists(key):
                config['secrets'][c] = {'file': key}
    for name in downstream:
        jobrepo = os.path.join(work, 'downstream-%d' % len(config['repositories']))
        if not os.path.isdir(jobrepo):
            os.makedirs(jobrepo)
            with open(os.path.join(jobrepo, 'Jenkinsfile'), 'w') as f:
                f.write("pipeline { agent any; stages { stage('Downstream') { steps { "
                        "echo 'downstream job' } } } }\n")
            subprocess.run('git init -q -b main && git add -A && git -c user.name=Bench '
                           '-c user.email=b@example.com commit -qm downstream', shell=True,
                           cwd=jobrepo, check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        config['repositories'].append({'name': name.strip('/'), 'url': jobrepo, 'poll': '0s'})
    # A mail server and a Slack webhook, as a Jenkins admin has them configured for the
    # mail/emailext/slackSend steps: local sinks that accept everything.
    sinks = []
    if re.search(r'\b(mail|emailext)\b', text):
        smtp_port = free_port()
        sinks.append(['/usr/bin/python3', '-m', 'aiosmtpd', '-n', '-l',
                      '127.0.0.1:%d' % smtp_port])
        config.setdefault('notifications', []).append(
            {'name': 'mail', 'smtp': {'host': '127.0.0.1', 'port': smtp_port,
                                      'from': 'jenkins@example.com', 'starttls': False},
             'to': ['team@example.com'], 'events': ['run.failed']})
    if re.search(r'\bslackSend\b', text):
        slack_port = free_port()
        sinks.append([sys.executable, '-c', SLACK_SINK, str(slack_port)])
        config.setdefault('notifications', []).append(
            {'name': 'slack', 'slack_webhook': 'http://127.0.0.1:%d/hook' % slack_port,
             'events': ['run.failed']})
    cfg = os.path.join(work, 'controller.yml')
    with open(cfg, 'w') as f:
        json.dump(config, f, indent=1)  # JSON is YAML
    token_file = os.path.join(work, 'agent.token')
    with open(token_file, 'w') as f:
        f.write(agent_token)
    os.chmod(token_file, 0o600)

    procs = []
    out = open(os.path.join(ldir, 'output.txt'), 'w')

    def start(argv, log, env=None):
        p = subprocess.Popen(argv, stdout=open(log, 'w'), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        procs.append(p)
        return p

    rc = 1
    try:
        make_images(text, shims, repo, out)
        for argv in sinks:
            start(argv, os.path.join(work, 'sink-%d.log' % len(procs)))
        start([os.path.join(bindir, 'gantry-controller'), '--config', cfg],
              os.path.join(work, 'controller.log'))
        deadline = time.time() + 15
        while time.time() < deadline and http(base, 'GET', '/healthz', admin)[0] != 200:
            time.sleep(0.1)
        env = dict(os.environ)
        env['PATH'] = shims + ':' + env.get('PATH', '')
        env['HOME'] = os.path.join(work, 'home')
        os.makedirs(env['HOME'], exist_ok=True)
        tool_args = []
        if tools:
            home = os.path.join(work, 'tool-home')
            os.makedirs(home, exist_ok=True)
            if not os.path.exists(os.path.join(home, 'bin')):
                os.symlink(shims, os.path.join(home, 'bin'))
            for kind, name in sorted(tools):
                tool_args += ['--tool', '%s:%s=%s' % (kind, name, home)]
        agents = [('any', [])] + [('agent%d' % (i + 1), s) for i, s in enumerate(label_sets)]
        for name, labels in agents:
            argv = [os.path.join(bindir, 'gantry-agent'), '--controller', base, '--token-file',
                    token_file, '--name', name, '--executors', '2', '--work',
                    os.path.join(work, name)]
            if labels:
                argv += ['--labels', ','.join(labels)]
            # The machine's engine, not the shim of the same name first on PATH.
            engine = shutil.which('podman') or shutil.which('docker')
            if engine:
                argv += ['--container-engine', engine]
            argv += tool_args
            start(argv, os.path.join(work, name + '.log'), env)
        deadline = time.time() + 15
        while time.time() < deadline:
            code, body = http(base, 'GET', '/api/v1/agents', admin)
            try:
                listed = json.loads(body) if code == 200 else []
                listed = listed.get('agents', listed) if isinstance(listed, dict) else listed
                if sum(1 for a in listed if a.get('connected', True)) >= len(agents):
                    break
            except ValueError:
                pass
            time.sleep(0.1)
        print('gantry controller: %d agents (%s), %d secrets, %d submitters, tools %s' % (
            len(agents), '; '.join('%s=%s' % (n, ','.join(l) or '-') for n, l in agents),
            len(creds), len(tokens), sorted(tools)), file=out)
        code, body = http(base, 'POST', '/api/v1/runs', admin, {'repo': 'app'})
        if code != 201:
            print('trigger failed: %d %s' % (code, body[:300]), file=out)
            return 1
        run_id = json.loads(body)['id']
        deadline = time.time() + timeout
        run = {}
        answered = set()
        while True:
            code, body = http(base, 'GET', '/api/v1/runs/%d' % run_id, admin)
            if code == 200:
                run = json.loads(body)
                if run.get('status') in ('succeeded', 'failed', 'unstable', 'aborted', 'skipped'):
                    break
            if time.time() > deadline:
                http(base, 'POST', '/api/v1/runs/%d/cancel' % run_id, admin, {})
                rc = 124
                break
            code, body = http(base, 'GET', '/api/v1/approvals?status=pending', admin)
            try:
                pending = json.loads(body) if code == 200 else []
                pending = pending.get('approvals', pending) if isinstance(pending, dict) else pending
            except ValueError:
                pending = []
            for a in pending:
                if a.get('kind') != 'input' or a.get('run') != run_id or a['id'] in answered:
                    continue
                who = [s for s in (a.get('submitter') or '').split(',') if s.strip() in tokens]
                token = tokens[who[0].strip()] if who else admin
                c, b = http(base, 'POST', '/api/v1/approvals/%s/approve' % a['id'], token,
                            {'comment': 'bench'})
                print('input %s answered: %d %s' % (a['id'], c, b[:200]), file=out)
                answered.add(a['id'])
            time.sleep(0.2)
        keep = os.path.join(ldir, 'runs', '1')
        os.makedirs(os.path.join(keep, 'logs'), exist_ok=True)
        with open(os.path.join(keep, 'run.json'), 'w') as f:
            json.dump(run, f, indent=1)
        for s in run.get('stages', []):
            sid = s.get('id') or s.get('name') or ''
            code, body = http(base, 'GET', '/api/v1/runs/%d/log?stage=%s' % (
                run_id, urllib.parse.quote(sid, safe='')), admin)
            name = re.sub(r'[^A-Za-z0-9._-]+', '_', sid)
            with open(os.path.join(keep, 'logs', name + '.log'), 'wb') as f:
                f.write(body if code == 200 else b'')
        print('run %s: %s %s' % (run_id, run.get('status'), run.get('reason', '')), file=out)
        if rc != 124:
            rc = {'succeeded': 0, 'unstable': 3}.get(run.get('status'), 1)
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        out.close()
    return rc


if __name__ == '__main__':
    sys.exit(main())
