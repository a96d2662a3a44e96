#!/usr/bin/env python3
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's webhook receiver: records every notification Alertmanager posts
(one JSON line each, with the time it arrived and the path it came to) and
answers GET with all of them, for the tests."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORD = "/var/lib/lab-webhook/notifications.jsonl"
LOCK = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        received = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body)
        except ValueError:
            self.send_error(400, "not JSON")
            return
        with LOCK, open(RECORD, "a", encoding="utf-8") as record:
            record.write(json.dumps({"received": received, "path": self.path, "payload": payload}) + "\n")
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        with LOCK:
            try:
                with open(RECORD, encoding="utf-8") as record:
                    data = record.read()
            except FileNotFoundError:
                data = ""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        self.wfile.write(data.encode())

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1]) if len(sys.argv) > 1 else 9099), Receiver).serve_forever()
