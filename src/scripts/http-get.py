"""GET argv[1], write the body to argv[2], print the status code (000 when no answer)."""
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[3])) as resp:
        status, body = resp.status, resp.read(65536)
except urllib.error.HTTPError as err:
    status, body = err.code, err.read(65536)
except Exception:
    status, body = 0, b""
with open(sys.argv[2], "wb") as out:
    out.write(body)
print("%03d" % status)
