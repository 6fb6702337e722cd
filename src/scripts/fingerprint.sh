# shellcheck shell=sh
# Lists "SHA256  ./relative/path.py" for every *.py file under "$1" (sha256sum's format).
# POSIX sh: runs on the host and inside the container. Exit 3: no such directory.
set -eu
[ -d "$1" ] || exit 3
cd -- "$1"
if command -v sha256sum >/dev/null 2>&1; then
  find . -type f -name '*.py' -exec sha256sum -- {} +
else
  py=$(command -v python3 || command -v python || true)
  [ -n "$py" ] || { echo "neither sha256sum nor python found" >&2; exit 4; }
  "$py" -c '
import hashlib, os
for top, dirs, files in os.walk("."):
    for name in files:
        if name.endswith(".py"):
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(top):
                with open(path, "rb") as f:
                    print(hashlib.sha256(f.read()).hexdigest() + "  " + path)
'
fi
