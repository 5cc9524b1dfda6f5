#!/usr/bin/python3
"""A stand-in for GitHub's and GitLab's commit status APIs (the forges cannot be reached here).

It speaks the documented shapes: POST /repos/OWNER/NAME/statuses/SHA (GitHub: a Bearer token,
JSON {state, target_url, description, context}, 201 with the status) and
POST /projects/ID/statuses/SHA (GitLab: a PRIVATE-TOKEN header, JSON {state, name, target_url,
description, ref}, 201). A wrong token is 401, an unknown project 404, a malformed body 422,
as the forges answer. Every request is appended to STATE/requests.jsonl (method, path,
headers that matter, body, the status answered); the first --fail-first requests answer 502 to
exercise retries. It listens on 127.0.0.1 on a free port, written to STATE/port, and exits by
itself after --max-seconds.

It also lists open changes: GET /repos/OWNER/NAME/pulls?state=open&per_page=N (GitHub) answers
the bytes of STATE/pulls.json and GET /projects/ID/merge_requests?state=opened&per_page=N
(GitLab) those of STATE/merge_requests.json ("[]" when absent; the test writes them, garbage
too), with the same authentication; STATE/list_status, when present, is the status to answer
instead (a 500). These requests are appended to STATE/lists.jsonl, not requests.jsonl.
"""
import argparse
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GITHUB_STATES = {"pending", "success", "failure", "error"}
GITLAB_STATES = {"pending", "running", "success", "failed", "canceled"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--github-project", default="team/app")
    ap.add_argument("--gitlab-project", default="team/app")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()
    lock = threading.Lock()
    counter = {"n": 0}
    log_path = os.path.join(args.state_dir, "requests.jsonl")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, body, record):
            record["status"] = status
            with lock:
                with open(log_path, "a") as f:
                    f.write(json.dumps(record) + "\n")
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            record = {"method": "GET", "path": path, "query": query,
                      "authorization": self.headers.get("Authorization", ""),
                      "private_token": self.headers.get("PRIVATE-TOKEN", "")}
            gh = re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls", path)
            gl = re.fullmatch(r"/projects/([^/]+)/merge_requests", path)
            status, data = 404, b'{"message": "Not Found"}'
            if gh:
                if self.headers.get("Authorization", "") != "Bearer " + args.token:
                    status, data = 401, b'{"message": "Bad credentials"}'
                elif gh.group(1) == args.github_project:
                    status, data = 200, self.listed("pulls.json")
            elif gl:
                project = gl.group(1).replace("%2F", "/").replace("%2f", "/")
                if self.headers.get("PRIVATE-TOKEN", "") != args.token:
                    status, data = 401, b'{"message": "401 Unauthorized"}'
                elif project == args.gitlab_project:
                    status, data = 200, self.listed("merge_requests.json")
            forced = os.path.join(args.state_dir, "list_status")
            if (gh or gl) and os.path.exists(forced):
                with open(forced) as f:
                    status, data = int(f.read().strip()), b'{"message": "Internal Server Error"}'
            record["status"] = status
            with lock:
                with open(os.path.join(args.state_dir, "lists.jsonl"), "a") as f:
                    f.write(json.dumps(record) + "\n")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def listed(self, name):
            try:
                with open(os.path.join(args.state_dir, name), "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return b"[]"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
            record = {"method": "POST", "path": self.path, "body": raw,
                      "authorization": self.headers.get("Authorization", ""),
                      "private_token": self.headers.get("PRIVATE-TOKEN", ""),
                      "user_agent": self.headers.get("User-Agent", "")}
            with lock:
                counter["n"] += 1
                n = counter["n"]
            if n <= args.fail_first:
                return self.answer(502, {"message": "Bad Gateway"}, record)
            gh = re.fullmatch(r"/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{40})", self.path)
            gl = re.fullmatch(r"/projects/([^/]+)/statuses/([0-9a-f]{40})", self.path)
            try:
                body = json.loads(raw)
            except ValueError:
                return self.answer(400, {"message": "Problems parsing JSON"}, record)
            if gh:
                if self.headers.get("Authorization", "") != "Bearer " + args.token:
                    return self.answer(401, {"message": "Bad credentials"}, record)
                if gh.group(1) != args.github_project:
                    return self.answer(404, {"message": "Not Found"}, record)
                if body.get("state") not in GITHUB_STATES:
                    return self.answer(422, {"message": "Validation Failed"}, record)
                return self.answer(201, dict(body, id=n, url="http://forge" + self.path), record)
            if gl:
                if self.headers.get("PRIVATE-TOKEN", "") != args.token:
                    return self.answer(401, {"message": "401 Unauthorized"}, record)
                project = gl.group(1).replace("%2F", "/").replace("%2f", "/")
                if project != args.gitlab_project:
                    return self.answer(404, {"message": "404 Project Not Found"}, record)
                if body.get("state") not in GITLAB_STATES:
                    return self.answer(400, {"message": "state is invalid"}, record)
                return self.answer(201, dict(body, id=n, status=body["state"]), record)
            return self.answer(404, {"message": "Not Found"}, record)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(os.path.join(args.state_dir, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(args.state_dir, "port.tmp"), os.path.join(args.state_dir, "port"))
    threading.Timer(args.max_seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
