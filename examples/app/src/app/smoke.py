"""The smoke test (the post-deploy hook): runs inside the new container and asks the app itself
whether it serves the version it was built as."""
import json
import sys
import urllib.request

from app.version import VERSION

if __name__ == "__main__":
    with urllib.request.urlopen("http://127.0.0.1:8080/version", timeout=5) as resp:
        served = json.load(resp)
    print("smoke: the app serves %s" % json.dumps(served), flush=True)
    if served.get("version") != VERSION:
        print("smoke: expected version %s" % VERSION, flush=True)
        sys.exit(1)
