#!/usr/bin/python3
"""A stand-in Kubernetes API server for Gantry's tests: the documented shapes of the pod API, with
the pods really run, their containers by podman and the agent's container as a host process.

What it serves (everything else is a 404 Status):
  POST   /api/v1/namespaces/NS/pods                 create (validated as the API server does)
  GET    /api/v1/namespaces/NS/pods?labelSelector=  list (equality selectors: a=b, a==b, a!=b,
                                                    a, !a)
  GET    /api/v1/namespaces/NS/pods/NAME            the pod and its current status
  DELETE /api/v1/namespaces/NS/pods/NAME            kill and remove it (gone at once)
  GET    /api/v1/namespaces/NS/pods/NAME/log        ?container=C: what the container wrote so far
  GET|POST /api/v1/namespaces/NS/pods/NAME/exec     a WebSocket, subprotocol v4.channel.k8s.io

Every request needs "Authorization: Bearer <token file>". Errors are metav1.Status objects. Each
request is appended to STATE/requests.jsonl as {"method", "path", "query" (name -> list of
values), "body" (parsed JSON or null)}; the port is written to STATE/port once listening.

A container whose image is --agent-image runs on the host as --agent-binary (command[0] replaced),
with the service-account emulation in its environment (GANTRY_KUBE_API, GANTRY_KUBE_TOKEN_FILE,
GANTRY_KUBE_CA_FILE, KUBERNETES_SERVICE_HOST/PORT); its exit decides the pod's phase. An emptyDir
it mounts at P is the host directory P itself, so the other containers see what it writes there.
Other containers run with `podman run -d --pull=never`, named k8s-POD-CONTAINER, the first one of
a pod with its own network and the others joining it (a pod's shared localhost).

Not here: watches, other resources, restarts, probes, resource limits, image pulls.
Threading: one thread per connection, one per starting pod, one per running container. Stdlib
only; run with /usr/bin/python3. Stops after --max-seconds or on SIGTERM, deleting its pods.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets as secrets_module
import select
import signal
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_BODY = 4 << 20
MAX_FRAME = 16 << 20
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "v4.channel.k8s.io"
PODMAN_RUN_TIMEOUT = 180
KILL_GRACE = 2.0


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def log(event, **fields):
    parts = [f"ts={precise_now()} comp=kube_apiserver event={event}"]
    parts += [f"{k}={json.dumps(str(v))}" for k, v in fields.items()]
    print(" ".join(parts), file=sys.stderr, flush=True)


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def invalid(name, field, kind, detail):
    message = f'Pod "{name}" is invalid: {field}: {detail}'
    details = {"name": name, "kind": "Pod",
               "causes": [{"reason": kind, "message": detail, "field": field}]}
    return ApiError(422, "Invalid", message, details)


def not_found(name):
    return ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})


def kill_group(proc, grace):
    """SIGTERM to the process's session, SIGKILL after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if grace <= 0 and sig == signal.SIGTERM:
            continue
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------------------------------------
# Validation


def validate_pod(pod, namespace):
    if not isinstance(pod, dict):
        raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
    meta = pod.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    name = meta.get("name") or ""
    if not name and isinstance(meta.get("generateName"), str):
        name = meta["generateName"] + secrets_module.token_hex(3)[:5]
    if pod.get("apiVersion") != "v1":
        raise invalid(name, "apiVersion", "FieldValueInvalid",
                      f'Invalid value: {json.dumps(pod.get("apiVersion"))}: must be "v1"')
    if pod.get("kind") != "Pod":
        raise invalid(name, "kind", "FieldValueInvalid",
                      f'Invalid value: {json.dumps(pod.get("kind"))}: must be "Pod"')
    if not isinstance(name, str) or not name:
        raise invalid("", "metadata.name", "FieldValueRequired", "Required value: name or "
                      "generateName is required")
    if len(name) > 63 or not DNS_LABEL.match(name):
        raise invalid(name, "metadata.name", "FieldValueInvalid",
                      f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of '
                      "lower case alphanumeric characters or '-', start and end with an "
                      "alphanumeric character, and be at most 63 characters")
    if meta.get("namespace") not in (None, "", namespace):
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                       "the namespace sent on the request")
    labels = meta.get("labels", {})
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise invalid(name, "metadata.labels", "FieldValueInvalid",
                      "Invalid value: labels must map strings to strings")
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        raise invalid(name, "spec", "FieldValueRequired", "Required value")
    volumes = spec.get("volumes", [])
    if not isinstance(volumes, list):
        raise invalid(name, "spec.volumes", "FieldValueInvalid", "Invalid value: must be a list")
    volume_names = set()
    for i, vol in enumerate(volumes):
        vname = vol.get("name") if isinstance(vol, dict) else None
        field = f"spec.volumes[{i}].name"
        if not isinstance(vname, str) or not vname:
            raise invalid(name, field, "FieldValueRequired", "Required value")
        if len(vname) > 63 or not DNS_LABEL.match(vname):
            raise invalid(name, field, "FieldValueInvalid", f'Invalid value: "{vname}"')
        if vname in volume_names:
            raise invalid(name, field, "FieldValueDuplicate", f'Duplicate value: "{vname}"')
        volume_names.add(vname)
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise invalid(name, "spec.containers", "FieldValueRequired", "Required value")
    seen = set()
    for i, c in enumerate(containers):
        at = f"spec.containers[{i}]"
        if not isinstance(c, dict):
            raise invalid(name, at, "FieldValueInvalid", "Invalid value: must be an object")
        cname = c.get("name")
        if not isinstance(cname, str) or not cname:
            raise invalid(name, at + ".name", "FieldValueRequired", "Required value")
        if len(cname) > 63 or not DNS_LABEL.match(cname):
            raise invalid(name, at + ".name", "FieldValueInvalid", f'Invalid value: "{cname}"')
        if cname in seen:
            raise invalid(name, at + ".name", "FieldValueDuplicate", f'Duplicate value: "{cname}"')
        seen.add(cname)
        if not isinstance(c.get("image"), str) or not c["image"]:
            raise invalid(name, at + ".image", "FieldValueRequired", "Required value")
        for key in ("command", "args"):
            value = c.get(key, [])
            if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
                raise invalid(name, f"{at}.{key}", "FieldValueInvalid",
                              "Invalid value: must be a list of strings")
        env = c.get("env", [])
        if not isinstance(env, list):
            raise invalid(name, at + ".env", "FieldValueInvalid", "Invalid value: must be a list")
        for j, e in enumerate(env):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not e["name"]:
                raise invalid(name, f"{at}.env[{j}].name", "FieldValueRequired", "Required value")
        mounts = c.get("volumeMounts", [])
        if not isinstance(mounts, list):
            raise invalid(name, at + ".volumeMounts", "FieldValueInvalid",
                          "Invalid value: must be a list")
        for j, m in enumerate(mounts):
            mat = f"{at}.volumeMounts[{j}]"
            if not isinstance(m, dict) or m.get("name") not in volume_names:
                vname = m.get("name") if isinstance(m, dict) else None
                raise invalid(name, mat + ".name", "FieldValueNotFound",
                              f"Not found: {json.dumps(vname)}")
            if not isinstance(m.get("mountPath"), str) or not m["mountPath"].startswith("/"):
                raise invalid(name, mat + ".mountPath", "FieldValueRequired",
                              "Required value: an absolute path")
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in ("Always", "OnFailure", "Never"):
        raise invalid(name, "spec.restartPolicy", "FieldValueNotSupported",
                      f'Unsupported value: {json.dumps(policy)}: supported values: "Always", '
                      '"OnFailure", "Never"')
    return name


def parse_selector(text):
    """[(key, op, value)] for "a=b,c!=d,e,!f"; ApiError for set-based selectors."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)", part)
        if m:
            out.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
        elif re.fullmatch(r"!?[A-Za-z0-9._/-]+", part):
            out.append((part.lstrip("!"), "absent" if part.startswith("!") else "exists", None))
        else:
            raise ApiError(400, "BadRequest",
                           f'unable to parse requirement: "{part}": only equality selectors')
    return out


def selector_matches(selector, labels):
    for key, op, value in selector:
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "absent" and key in labels:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Pods and the "kubelet"


class Container:
    def __init__(self, spec, agent):
        self.spec = spec
        self.name = spec["name"]
        self.agent = agent        # a host process rather than a podman container
        self.proc = None          # the host process
        self.podman_name = None   # set once `podman run` succeeded
        self.env = {}             # resolved
        self.cwd = None
        self.state = {"waiting": {"reason": "ContainerCreating"}}


class Pod:
    def __init__(self, server, namespace, manifest):
        self.server = server
        self.namespace = namespace
        self.manifest = manifest
        self.name = manifest["metadata"]["name"]
        self.dir = os.path.join(server.args.state_dir, "pods", self.name)
        self.phase = "Pending"
        self.deleted = False
        self.lifecycle = threading.Lock()  # serialises starting and deleting
        self.containers = [Container(c, c["image"] == server.args.agent_image)
                           for c in manifest["spec"]["containers"]]
        self.execs = set()  # running exec processes

    def to_json(self):
        with self.server.lock:
            statuses = []
            for c in self.containers:
                statuses.append({"name": c.name, "image": c.spec["image"],
                                 "ready": "running" in c.state, "restartCount": 0,
                                 "started": "running" in c.state, "state": dict(c.state)})
            pod = json.loads(json.dumps(self.manifest))
            pod["status"] = {"phase": self.phase, "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
                             "containerStatuses": statuses}
            return pod

    def update_phase(self):
        """Called with server.lock held."""
        if self.phase in ("Succeeded", "Failed"):
            return
        states = [c.state for c in self.containers]
        agents = [c for c in self.containers if c.agent]
        deciders = agents or self.containers
        if all("terminated" in c.state for c in deciders):
            codes = [c.state["terminated"]["exitCode"] for c in deciders]
            self.phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
        elif all("running" in s or "terminated" in s for s in states):
            self.phase = "Running"
        else:
            self.phase = "Pending"

    def set_state(self, container, state):
        with self.server.lock:
            container.state = state
            self.update_phase()

    # The kubelet -------------------------------------------------------------------------

    def volume_dirs(self):
        """Host directory of each volume (None: unsupported type)."""
        dirs = {}
        agent_mounts = {}
        for c in self.containers:
            if c.agent:
                for m in c.spec.get("volumeMounts", []):
                    agent_mounts.setdefault(m["name"], m["mountPath"])
        for vol in self.manifest["spec"].get("volumes", []):
            name = vol["name"]
            if "emptyDir" in vol:
                dirs[name] = agent_mounts.get(name) or os.path.join(self.dir, "volumes", name)
            elif isinstance(vol.get("hostPath"), dict) and vol["hostPath"].get("path"):
                dirs[name] = vol["hostPath"]["path"]
            else:
                dirs[name] = None
        return dirs

    def resolve_env(self, spec):
        env = {}
        for e in spec.get("env", []):
            if "value" in e:
                env[e["name"]] = str(e["value"])
                continue
            source = e.get("valueFrom") or {}
            ref = source.get("secretKeyRef")
            field = source.get("fieldRef")
            if isinstance(ref, dict):
                secret = self.server.secrets.get(ref.get("name"))
                if secret is None:
                    if ref.get("optional"):
                        continue
                    raise ValueError(f'secret "{ref.get("name")}" not found')
                if ref.get("key") not in secret:
                    if ref.get("optional"):
                        continue
                    raise ValueError(f"couldn't find key {ref.get('key')} in Secret "
                                     f"{self.namespace}/{ref.get('name')}")
                env[e["name"]] = secret[ref["key"]]
            elif isinstance(field, dict):
                path = field.get("fieldPath")
                values = {"metadata.name": self.name, "metadata.namespace": self.namespace,
                          "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1",
                          "metadata.uid": self.manifest["metadata"]["uid"]}
                if path not in values:
                    raise ValueError(f"unsupported fieldRef {path}")
                env[e["name"]] = values[path]
            else:
                env[e["name"]] = ""
        return env

    def start(self):
        try:
            self._start()
        except Exception as e:  # never let the kubelet thread die silently
            log("kubelet.error", pod=self.name, error=repr(e))

    def _start(self):
        os.makedirs(self.dir, exist_ok=True)
        dirs = self.volume_dirs()
        for path in dirs.values():
            if path:
                os.makedirs(path, exist_ok=True)
        first_podman = None
        for c in self.containers:
            with self.lifecycle:
                if self.deleted:
                    return
                try:
                    c.env = self.resolve_env(c.spec)
                except ValueError as e:
                    self.set_state(c, {"waiting": {"reason": "CreateContainerConfigError",
                                                   "message": str(e)}})
                    continue
                bad = [m["name"] for m in c.spec.get("volumeMounts", []) if not dirs[m["name"]]]
                if bad:
                    self.set_state(c, {"waiting": {"reason": "ContainerCreating",
                                                   "message": f"volume {bad[0]}: only emptyDir "
                                                              "and hostPath are supported"}})
                    continue
                if c.agent:
                    self.start_host(c)
                else:
                    if self.start_podman(c, dirs, first_podman) and first_podman is None:
                        first_podman = c.podman_name

    def start_host(self, c):
        args = self.server.args
        spec = c.spec
        argv = [args.agent_binary] + spec.get("command", [])[1:] + spec.get("args", [])
        c.cwd = spec.get("workingDir") or args.state_dir
        os.makedirs(c.cwd, exist_ok=True)
        env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
        env.update(self.server.service_account_env())
        env["HOSTNAME"] = self.name
        env.update(c.env)
        c.env = env
        log_path = os.path.join(self.dir, c.name + ".log")
        try:
            with open(log_path, "ab") as out:
                c.proc = subprocess.Popen(argv, cwd=c.cwd, env=env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        except OSError as e:
            self.set_state(c, {"waiting": {"reason": "RunContainerError", "message": str(e)}})
            return
        started = now()
        self.set_state(c, {"running": {"startedAt": started}})
        log("container.started", pod=self.name, container=c.name, pid=c.proc.pid)
        threading.Thread(target=self.watch_host, args=(c, started), daemon=True).start()

    def watch_host(self, c, started):
        code = c.proc.wait()
        if code < 0:
            code = 128 - code
        log("container.exited", pod=self.name, container=c.name, code=code)
        self.set_state(c, {"terminated": {"exitCode": code, "reason":
                                          "Completed" if code == 0 else "Error",
                                          "startedAt": started, "finishedAt": now()}})

    def start_podman(self, c, dirs, network_of):
        spec = c.spec
        name = f"k8s-{self.name}-{c.name}"
        argv = self.server.podman() + [
            "run", "-d", "--pull=never", "--name", name, "--label", f"gantry.kube.pod={self.name}",
            "--label", f"gantry.kube.apiserver={self.server.instance}"]
        argv += self.server.args.podman_run_flag
        if network_of:
            argv += ["--network", f"container:{network_of}"]
        for key, value in c.env.items():
            argv += ["-e", f"{key}={value}"]
        for m in spec.get("volumeMounts", []):
            host = dirs[m["name"]]
            if m.get("subPath"):
                host = os.path.join(host, m["subPath"])
                os.makedirs(host, exist_ok=True)
            argv += ["-v", f"{host}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
        if spec.get("workingDir"):
            argv += ["--workdir", spec["workingDir"]]
        if spec.get("tty"):
            argv += ["-t"]
        if spec.get("stdin"):
            argv += ["-i"]
        command = spec.get("command", [])
        if command:
            argv += ["--entrypoint", command[0]]
        argv += [spec["image"]] + command[1:] + spec.get("args", [])
        try:
            run = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=PODMAN_RUN_TIMEOUT)
            output, code = run.stdout.decode("utf-8", "replace").strip(), run.returncode
        except (OSError, subprocess.TimeoutExpired) as e:
            output, code = str(e), -1
        if code != 0:
            # A half-made container would hold the name.
            subprocess.run(self.server.podman() + ["rm", "-f", "-t", "0", name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            image = re.search(r"image not known|manifest unknown|no such image|not found|pull",
                              output, re.I)
            reason = "ErrImagePull" if image else "RunContainerError"
            log("container.failed", pod=self.name, container=c.name, reason=reason, output=output)
            self.set_state(c, {"waiting": {"reason": reason, "message": output}})
            return False
        c.podman_name = name
        started = now()
        self.set_state(c, {"running": {"startedAt": started}})
        log("container.started", pod=self.name, container=c.name, podman=name)
        threading.Thread(target=self.watch_podman, args=(c, started), daemon=True).start()
        return True

    def watch_podman(self, c, started):
        try:
            run = subprocess.run(self.server.podman() + ["wait", c.podman_name],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            code = int(run.stdout.decode().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            return
        if self.deleted:
            return
        self.set_state(c, {"terminated": {"exitCode": code, "reason":
                                          "Completed" if code == 0 else "Error",
                                          "startedAt": started, "finishedAt": now()}})

    def delete(self, grace):
        with self.lifecycle:
            self.deleted = True
            for proc in list(self.execs):
                kill_group(proc, 0)
            threads = [threading.Thread(target=kill_group, args=(c.proc, grace))
                       for c in self.containers if c.proc]
            for t in threads:
                t.start()
            names = [c.podman_name for c in self.containers if c.podman_name]
            # Newest first, one at a time: the others share the first one's network, and
            # podman refuses to remove it while they exist, even within one `rm`.
            for name in reversed(names):
                subprocess.run(self.server.podman() + ["rm", "-f", "-t", "0", name],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=120)
            for t in threads:
                t.join()
        log("pod.deleted", pod=self.name)


# ---------------------------------------------------------------------------------------------
# WebSocket (RFC 6455), server side


class WebSocket:
    """Frames over a connected socket. send() may be called from several threads; recv_frame()
    from one. TLS sockets must not read and write at once, so both hold `lock`; a reader waits
    for data with select() first, without it."""

    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.closed = threading.Event()   # no more reads or writes
        self.sent_close = False

    def send(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack("!H", n)
        else:
            header += bytes([127]) + struct.pack("!Q", n)
        with self.lock:
            if self.sent_close:
                return False
            if opcode == 8:
                self.sent_close = True
            try:
                self.sock.sendall(header + payload)
                return True
            except OSError:
                self.closed.set()
                return False

    def send_channel(self, channel, data):
        return self.send(2, bytes([channel]) + data)

    def close(self, code=1000, reason=b""):
        self.send(8, struct.pack("!H", code) + reason)

    def _recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            if self.closed.is_set():
                return None
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            if not pending:
                try:
                    ready, _, _ = select.select([self.sock], [], [], 0.5)
                except (OSError, ValueError):
                    return None
                if not ready:
                    continue
            with self.lock:
                try:
                    chunk = self.sock.recv(min(n - len(out), 65536))
                except ssl.SSLWantReadError:
                    continue
                except OSError:
                    return None
            if not chunk:
                return None
            out += chunk
        return bytes(out)

    def recv_frame(self):
        """(opcode, payload) of the next frame, or None on EOF or a protocol error."""
        head = self._recv_exact(2)
        if head is None:
            return None
        fin, opcode = head[0] & 0x80, head[0] & 0x0F
        masked, n = head[1] & 0x80, head[1] & 0x7F
        if not masked or head[0] & 0x70:
            self.close(1002, b"protocol error")
            return None
        if n == 126:
            ext = self._recv_exact(2)
            n = struct.unpack("!H", ext)[0] if ext else None
        elif n == 127:
            ext = self._recv_exact(8)
            n = struct.unpack("!Q", ext)[0] if ext else None
        if n is None:
            return None
        if n > MAX_FRAME or (opcode >= 8 and (n > 125 or not fin)):
            self.close(1009 if n > MAX_FRAME else 1002, b"frame too big")
            return None
        mask = self._recv_exact(4)
        payload = self._recv_exact(n) if n else b""
        if mask is None or payload is None:
            return None
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
            unmask(payload, mask)
        return fin, opcode, payload

    def messages(self):
        """Yields (opcode, payload) of whole messages; answers pings; ends at close or EOF."""
        parts, kind = [], None
        while True:
            frame = self.recv_frame()
            if frame is None:
                return
            fin, opcode, payload = frame
            if opcode == 8:
                self.close()
                return
            if opcode == 9:
                self.send(10, payload)
                continue
            if opcode == 10:
                continue
            if opcode in (1, 2):
                parts, kind = [payload], opcode
            elif opcode == 0 and kind is not None:
                parts.append(payload)
            else:
                self.close(1002, b"protocol error")
                return
            if sum(len(p) for p in parts) > MAX_FRAME:
                self.close(1009, b"message too big")
                return
            if fin:
                yield kind, b"".join(parts)
                parts, kind = [], None


def unmask(payload, mask):
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


def exit_status(command, code):
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def run_exec(ws, pod, container, command, want_stdin, argv, env, cwd):
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env,
                                stdin=subprocess.PIPE if want_stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as e:
        status = {"metadata": {}, "status": "Failure", "reason": "InternalError",
                  "message": f"exec: {e}"}
        ws.send_channel(3, json.dumps(status).encode())
        ws.close()
        return
    pod.execs.add(proc)
    client_gone = threading.Event()

    def pump(stream, channel):
        while True:
            try:
                data = os.read(stream.fileno(), 65536)
            except OSError:
                data = b""
            if not data:
                return
            if not ws.send_channel(channel, data):
                client_gone.set()
                kill_group(proc, 0)
                return

    def read_client():
        for opcode, message in ws.messages():
            if message[:1] == b"\x00" and want_stdin and len(message) > 1:
                try:
                    proc.stdin.write(message[1:])
                    proc.stdin.flush()
                except (OSError, ValueError):
                    pass
        if proc.poll() is None:  # the client left before the command ended
            client_gone.set()
            kill_group(proc, 0)

    pumps = [threading.Thread(target=pump, args=(proc.stdout, 1), daemon=True),
             threading.Thread(target=pump, args=(proc.stderr, 2), daemon=True)]
    reader = threading.Thread(target=read_client, daemon=True)
    for t in pumps + [reader]:
        t.start()
    code = proc.wait()
    pod.execs.discard(proc)
    if code < 0:
        code = 128 - code
    for t in pumps:
        t.join(timeout=5)  # a background child may keep a pipe open
    if not client_gone.is_set():
        ws.send_channel(3, json.dumps(exit_status(command, code)).encode())
        ws.close()
        reader.join(timeout=5)  # the client's close frame
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        try:
            if stream:
                stream.close()
        except OSError:
            pass
    log("exec.done", pod=pod.name, container=container, code=code,
        client_gone=client_gone.is_set())


# ---------------------------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin"
    timeout = 60

    def setup(self):
        context = self.server.ssl_context
        if context:
            self.request.settimeout(self.timeout)
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        super().finish()
        if self.server.ssl_context:  # the server only closes the socket it accepted
            try:
                self.request.close()
            except OSError:
                pass

    def log_message(self, format, *args):
        pass  # one line per request goes to requests.jsonl instead

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise ApiError(400, "BadRequest", "chunked request bodies are not supported")
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
        return self.rfile.read(n) if n else b""

    def dispatch(self):
        server = self.server.api
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        body = None
        try:
            try:
                raw = self.read_body()
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                        raise ApiError(400, "BadRequest", "the body of the request was in an "
                                       "unknown format: not JSON")
            finally:
                server.record(self.command, path, query, body)
            if not server.authorized(self.headers.get("Authorization", "")):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(server, path, query, body)
        except ApiError as e:
            self.send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug here must not kill the server
            log("request.error", method=self.command, path=path, error=repr(e))
            self.send_json(500, ApiError(500, "InternalError", f"internal error: {e!r}").status())

    def route(self, server, path, query, body):
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+)(?:/(exec|log))?)?", path)
        if not m:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns, name, sub = m.group(1), m.group(2), m.group(3)
        method = self.command
        if name is None and method == "POST":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was not a Pod")
            self.send_json(201, server.create(ns, body))
        elif name is None and method == "GET":
            selector = parse_selector(query.get("labelSelector", [""])[0])
            self.send_json(200, server.list(ns, selector))
        elif sub is None and name and method == "GET":
            self.send_json(200, server.get(ns, name).to_json())
        elif sub is None and name and method == "DELETE":
            grace = KILL_GRACE
            given = query.get("gracePeriodSeconds", [None])[0]
            if isinstance(body, dict) and body.get("gracePeriodSeconds") is not None:
                given = body["gracePeriodSeconds"]
            try:
                if given is not None and int(given) == 0:
                    grace = 0
            except (TypeError, ValueError):
                raise ApiError(400, "BadRequest", "gracePeriodSeconds must be an integer")
            self.send_json(200, server.delete(ns, name, grace))
        elif sub == "log" and method == "GET":
            self.send_log(server, ns, name, query)
        elif sub == "exec" and method in ("GET", "POST"):
            self.exec(server, ns, name, query)
        else:
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource")

    def send_log(self, server, ns, name, query):
        pod = server.get(ns, name)
        c = pod_container(pod, query)
        if c.agent:
            try:
                with open(os.path.join(pod.dir, c.name + ".log"), "rb") as f:
                    data = f.read()[-MAX_BODY:]
            except OSError:
                data = b""
        elif c.podman_name:
            data = subprocess.run(server.podman() + ["logs", c.podman_name],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=60).stdout[-MAX_BODY:]
        else:
            raise ApiError(400, "BadRequest", f'container "{c.name}" in pod "{pod.name}" is '
                           "waiting to start")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def exec(self, server, ns, name, query):
        pod = server.get(ns, name)
        c = pod_container(pod, query)
        command = query.get("command", [])
        if not command:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if pod.phase in ("Succeeded", "Failed"):
            raise ApiError(400, "BadRequest", "cannot exec into a container in a completed pod; "
                           f"current phase is {pod.phase}")
        if "running" not in c.state:
            raise ApiError(400, "BadRequest",
                           f'unable to upgrade connection: container not found ("{c.name}")')
        if "websocket" not in self.headers.get("Upgrade", "").lower():
            raise ApiError(400, "BadRequest", "Upgrade request required")
        protocols = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if SUBPROTOCOL not in protocols:
            raise ApiError(400, "BadRequest", "unable to upgrade connection: requested "
                           f"subprotocols {protocols} not supported; supported: [{SUBPROTOCOL}]")
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.headers.get("Sec-WebSocket-Version") != "13" or len(key) < 16:
            raise ApiError(400, "BadRequest", "a WebSocket version 13 handshake is required")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        want_stdin = query.get("stdin", ["false"])[0] in ("true", "1")
        if c.agent:
            argv, env, cwd = command, c.env, c.cwd
        else:
            argv = server.podman() + ["exec", "-i", c.podman_name] + command
            env, cwd = None, None
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.send_header("Sec-WebSocket-Protocol", SUBPROTOCOL)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        self.connection.settimeout(self.timeout)  # bounds each write to a client that stalls
        log("exec.start", pod=pod.name, container=c.name, command=command)
        run_exec(WebSocket(self.connection), pod, c.name, command, want_stdin, argv, env, cwd)


def pod_container(pod, query):
    names = [c.name for c in pod.containers]
    wanted = query.get("container", [""])[0]
    if not wanted:
        if len(names) != 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod "
                           f"{pod.name}, choose one of: [{' '.join(names)}]")
        wanted = names[0]
    for c in pod.containers:
        if c.name == wanted:
            return c
    raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {pod.name}")


class HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        log("connection.error", peer=client_address, error=repr(sys.exc_info()[1]))


class ApiServer:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.pods = {}  # (namespace, name) -> Pod
        self.instance = uuid.uuid4().hex[:12]
        self.secrets = {}
        for item in args.secret:
            ref, _, value = item.partition("=")
            secret, _, key = ref.partition("/")
            self.secrets.setdefault(secret, {})[key] = value
        self.record_lock = threading.Lock()
        self.port = 0
        self.scheme = "https" if args.cert else "http"

    def podman(self):
        return ["podman"] + self.args.podman_flag

    def service_account_env(self):
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port),
               "GANTRY_KUBE_API": f"{self.scheme}://127.0.0.1:{self.port}",
               "GANTRY_KUBE_TOKEN_FILE": os.path.abspath(self.args.token_file)}
        if self.args.cert:
            env["GANTRY_KUBE_CA_FILE"] = os.path.abspath(self.args.cert)
        return env

    def authorized(self, header):
        try:
            with open(self.args.token_file) as f:
                token = f.read().strip()
        except OSError:
            return False
        given = header[7:].strip() if header.startswith("Bearer ") else ""
        return bool(token) and hmac.compare_digest(given.encode(), token.encode())

    def record(self, method, path, query, body):
        line = json.dumps({"method": method, "path": path, "query": query, "body": body})
        with self.record_lock:
            with open(os.path.join(self.args.state_dir, "requests.jsonl"), "a") as f:
                f.write(line + "\n")

    def create(self, ns, manifest):
        name = validate_pod(manifest, ns)
        meta = dict(manifest.get("metadata") or {})
        meta.update({"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                     "creationTimestamp": now(), "resourceVersion": str(int(time.time() * 1000))})
        manifest = dict(manifest, metadata=meta)
        manifest["spec"] = dict(manifest["spec"])
        manifest["spec"].setdefault("restartPolicy", "Always")
        with self.lock:
            if (ns, name) in self.pods:
                raise ApiError(409, "AlreadyExists", f'pods "{name}" already exists',
                               {"name": name, "kind": "pods"})
            pod = Pod(self, ns, manifest)
            self.pods[(ns, name)] = pod
        log("pod.created", namespace=ns, pod=name)
        threading.Thread(target=pod.start, daemon=True).start()
        return pod.to_json()

    def get(self, ns, name):
        with self.lock:
            pod = self.pods.get((ns, name))
        if pod is None:
            raise not_found(name)
        return pod

    def list(self, ns, selector):
        with self.lock:
            pods = [p for (pns, _), p in self.pods.items() if pns == ns]
        items = [p.to_json() for p in pods
                 if selector_matches(selector, p.manifest["metadata"].get("labels") or {})]
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}

    def delete(self, ns, name, grace):
        with self.lock:
            pod = self.pods.pop((ns, name), None)
        if pod is None:
            raise not_found(name)
        body = pod.to_json()
        body["metadata"]["deletionTimestamp"] = now()
        pod.delete(grace)
        return body

    def delete_all(self):
        with self.lock:
            pods = list(self.pods.values())
            self.pods.clear()
        threads = [threading.Thread(target=p.delete, args=(KILL_GRACE,)) for p in pods]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)
        # Anything a pod still starting made after its deletion.
        left = subprocess.run(self.podman() + ["ps", "-a", "-q", "--filter",
                                               f"label=gantry.kube.apiserver={self.instance}"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60)
        ids = left.stdout.decode().split()
        for cid in ids:  # `ps` lists the newest first: sharers of a network before its owner
            subprocess.run(self.podman() + ["rm", "-f", "-t", "0", cid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="A stand-in Kubernetes API server (pods, exec) that runs pods with podman.",
        epilog="Podman flags are one argv word each; give values with '=': "
               "--podman-flag=--runtime=runc --podman-flag=--cgroup-manager=cgroupfs "
               "--podman-run-flag=--ulimit=nofile=20000:20000 "
               "--podman-run-flag=--ulimit=nproc=4096:4096")
    parser.add_argument("--state-dir", required=True,
                        help="port, requests.jsonl, pods/<name>/ (logs, emptyDir volumes)")
    parser.add_argument("--token-file", required=True, help="the bearer token every request needs")
    parser.add_argument("--cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--key", help="the certificate's key")
    parser.add_argument("--agent-image", default=None,
                        help="containers with this image run on the host as --agent-binary")
    parser.add_argument("--agent-binary", default=None, help="replaces such a container's command[0]")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME/KEY=VALUE",
                        help="a Secret key for env valueFrom.secretKeyRef (repeatable)")
    parser.add_argument("--podman-flag", action="append", default=[], metavar="FLAG",
                        help="a global podman flag, before the subcommand, for every podman "
                             "call (repeatable), e.g. --podman-flag=--runtime=runc")
    parser.add_argument("--podman-run-flag", action="append", default=[], metavar="FLAG",
                        help="a flag for `podman run` only (repeatable), e.g. "
                             "--podman-run-flag=--ulimit=nofile=20000:20000")
    parser.add_argument("--max-seconds", type=float, default=600,
                        help="exit (deleting every pod) after this long; default 600")
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    if args.agent_image and not args.agent_binary:
        parser.error("--agent-image needs --agent-binary")
    for item in args.secret:
        if "/" not in item.partition("=")[0] or "=" not in item:
            parser.error(f"--secret {item}: expected NAME/KEY=VALUE")
    return args


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    args.state_dir = os.path.abspath(args.state_dir)
    api = ApiServer(args)
    httpd = HttpServer(("127.0.0.1", 0), Handler)
    httpd.api = api
    httpd.ssl_context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(args.cert, args.key)
        httpd.ssl_context = context
    api.port = httpd.server_address[1]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                               daemon=True)
    serving.start()
    port_file = os.path.join(args.state_dir, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{api.port}\n")
    os.replace(port_file + ".tmp", port_file)
    log("listening", url=f"{api.scheme}://127.0.0.1:{api.port}", instance=api.instance)

    deadline = time.monotonic() + args.max_seconds
    while not stop.is_set() and time.monotonic() < deadline:
        stop.wait(min(1.0, max(0.0, deadline - time.monotonic())))
    log("stopping", reason="signal" if stop.is_set() else "max-seconds")
    httpd.shutdown()
    api.delete_all()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
