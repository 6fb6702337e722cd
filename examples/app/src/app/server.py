"""A tiny HTTP backend: /version reports the code version and the revision it was built from."""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.version import VERSION


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok\n"
        elif self.path in ("/", "/version"):
            body = (json.dumps({"version": VERSION, "revision": os.environ.get("APP_REVISION", "dev")}) + "\n").encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if self.path != "/health" else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.path != "/health":
            super().log_message(fmt, *args)


if __name__ == "__main__":
    # As PID 1, python would ignore SIGTERM and every recreate would wait out compose's stop
    # timeout (10 s): stop at once instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8080"))
    print("serving version %s (revision %s) on port %d" % (VERSION, os.environ.get("APP_REVISION", "dev"), port), flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
