"""A webhook receiver for the tests: verifies every delivery with the official
Standard Webhooks library (PyPI `standardwebhooks`), a client we did not write.

    python3 receiver.py --secret-file FILE

Prints its URL (`http://127.0.0.1:<port>`) once listening. Any POST is a
delivery: it is verified with the secret in FILE (read on each request, so
the test writes it once the subscription exists) and recorded. A delivery
that fails verification is answered 400; a valid one 200 (or the status set
with `POST /_control {"status": 503}`), and a valid one whose `webhook-id`
was accepted before is recorded as a duplicate (answered 200: deliveries are
at least once, so a receiver de-duplicates by id). Under `/late/` the
receiver's clock runs 10 minutes ahead: a delivery replayed that much later.

`GET /_deliveries` answers every delivery as JSON:
`[{"path", "id", "timestamp", "signature", "body", "received", "verified",
"error", "duplicate", "event", "status"}]` (`received`: Unix seconds).
"""

import argparse
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks.webhooks as library
from standardwebhooks import Webhook, WebhookVerificationError

LATE = timedelta(minutes=10)


class LateClock(datetime):
    """`datetime` whose now() is 10 minutes ahead (for `/late/`)."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + LATE


class State:
    def __init__(self, secret_file):
        self.secret_file = secret_file
        self.lock = threading.Lock()
        self.deliveries = []
        self.seen = set()
        self.status = 200

    def secret(self):
        with open(self.secret_file, encoding="utf-8") as f:
            return f.read().strip()


def verify(state, body, headers, late):
    """The event if the library verifies the delivery, else the error."""
    webhook = Webhook(state.secret())
    if not late:
        return webhook.verify(body, headers), None
    # The library reads the clock from its module's `datetime`.
    with state.lock:
        library.datetime = LateClock
        try:
            return webhook.verify(body, headers), None
        finally:
            library.datetime = datetime


class Handler(BaseHTTPRequestHandler):
    server_version = "receiver"

    def log_message(self, *args):
        pass

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        state = self.server.state
        if self.path == "/_deliveries":
            with state.lock:
                self.answer(200, list(state.deliveries))
        else:
            self.answer(404, {})

    def do_POST(self):
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_control":
            state.status = json.loads(body)["status"]
            self.answer(200, {})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = {
            "path": self.path,
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "body": body.decode("utf-8", "replace"),
            "received": time.time(),
            "verified": False,
            "error": None,
            "duplicate": False,
            "event": None,
        }
        try:
            record["event"], _ = verify(state, body, headers, self.path.startswith("/late/"))
            record["verified"] = True
        except (WebhookVerificationError, ValueError, OSError) as error:
            record["error"] = str(error)
        with state.lock:
            if record["verified"]:
                status = state.status
                # Only an accepted delivery counts as seen: a refused one is retried.
                record["duplicate"] = status < 300 and record["id"] in state.seen
                if status < 300:
                    state.seen.add(record["id"])
            else:
                status = 400
            record["status"] = status
            state.deliveries.append(record)
        self.answer(status, {"ok": status < 300})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.state = State(args.secret_file)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
