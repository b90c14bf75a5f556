#!/usr/bin/env python3
"""A local receiver for OpsCopilot's actions, for the end-to-end tests.

It answers the way the real services answer, on one port:
  POST /slack/services/...          a Slack incoming webhook: 200 "ok"
  POST /github/repos/OWNER/REPO/issues
                                    the GitHub issues API: 401 without the
                                    expected bearer token, else 201 with
                                    {"number", "html_url", ...}
  POST /hook                        a generic JSON webhook: 200 {"id": ...}
  POST /hold                        records the request, then never answers
                                    (until the client goes away)
Every request is appended to --log as one JSON line: {path, headers, body}.

  action_receiver.py --port 0 --port-file F --log L --token T
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ISSUES = {"next": 1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", required=True)
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, ctype="application/json"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("utf-8", "replace")
            with LOCK, open(args.log, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()), "body": raw}) + "\n")
            try:
                body = json.loads(raw)
            except ValueError:
                return self.reply(400, json.dumps({"message": "Problems parsing JSON"}))
            if self.path.startswith("/slack/services/"):
                if not isinstance(body.get("text"), str) or not body["text"]:
                    return self.reply(400, "no_text", "text/plain")
                return self.reply(200, "ok", "text/plain")
            if self.path.startswith("/github/repos/") and self.path.endswith("/issues"):
                if self.headers.get("Authorization") != "Bearer " + args.token:
                    return self.reply(401, json.dumps({"message": "Bad credentials"}))
                if not body.get("title"):
                    return self.reply(422, json.dumps({"message": "Validation Failed"}))
                with LOCK:
                    n = ISSUES["next"]
                    ISSUES["next"] += 1
                repo = self.path[len("/github/repos/"):-len("/issues")]
                return self.reply(201, json.dumps({
                    "number": n, "title": body["title"], "state": "open",
                    "html_url": "https://github.example/%s/issues/%d" % (repo, n)}))
            if self.path == "/hook":
                return self.reply(200, json.dumps({"id": "evt-%d" % time.time_ns()}))
            if self.path == "/hold":
                time.sleep(3600)
                return
            return self.reply(404, json.dumps({"message": "Not Found"}))

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
