"""GET argv[1] (redirects followed, proxies from the environment, as urllib does by default),
giving up after argv[2] seconds; the body (at most argv[3] bytes) to stdout, and the answer's
status line "HTTP/1.1 NNN" to stderr, as curl -D and wget -S print theirs. No answer: no
status line. Python 3 only; the standard library only (it runs inside the app's container)."""
import sys
import time
import urllib.error
import urllib.request

url, max_seconds, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + max_seconds
try:
    resp = urllib.request.urlopen(url, timeout=max_seconds)
except urllib.error.HTTPError as err:
    resp = err
except Exception as err:  # no answer: refused, timed out, DNS, TLS
    sys.stderr.write("python3: %s\n" % err)
    sys.exit(1)
sys.stderr.write("HTTP/1.1 %03d\n" % resp.getcode())
sys.stderr.flush()
out = sys.stdout.buffer
left = limit
try:
    while left > 0 and time.monotonic() < deadline:
        chunk = resp.read(min(65536, left))
        if not chunk:
            break
        out.write(chunk)
        left -= len(chunk)
except Exception as err:  # the answer was cut: what came is judged
    sys.stderr.write("python3: %s\n" % err)
out.flush()
