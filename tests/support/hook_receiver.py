#!/usr/bin/python3
"""An HTTP receiver for the tests: Slack incoming webhooks and generic webhooks, on 127.0.0.1
and a free port (written to STATE/port). Every POST is appended to STATE/requests.jsonl as
{"path", "headers" (lower-case names), "body"} and answered 200 "ok"; a path starting with
/status/NNN is answered NNN instead. Bodies past 1 MiB are cut. Exits after --max-seconds.
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--max-seconds", type=int, default=300)
    args = ap.parse_args()
    lock = threading.Lock()
    out = os.path.join(args.state_dir, "requests.jsonl")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
            record = {"path": self.path, "body": body,
                      "headers": {k.lower(): v for k, v in self.headers.items()}}
            with lock:
                with open(out, "a") as f:
                    f.write(json.dumps(record) + "\n")
            status = 200
            if self.path.startswith("/status/"):
                status = int(self.path.split("/")[2])
            data = b"ok"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = os.path.join(args.state_dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, os.path.join(args.state_dir, "port"))
    threading.Timer(args.max_seconds, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
