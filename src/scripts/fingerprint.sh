# shellcheck shell=sh
# Usage: fingerprint DIR [NAME...]. Lists "SHA256  ./relative/path" (sha256sum's format) for
# every file under DIR whose name matches one of the find -name patterns NAME (default *.py).
# The runner applies the full source-include globs to the paths: filtering by name here keeps
# the hashing to the files that can match (a tree of 20,000 files is mostly other files).
# POSIX sh: runs on the host and inside the container. Exit 3: no such directory.
set -eu
[ -d "$1" ] || exit 3
cd -- "$1"
shift
[ $# -gt 0 ] || set -- '*.py'
if command -v sha256sum >/dev/null 2>&1; then
  # "$@" becomes: -name P1 -o -name P2 ...
  n=$#
  for p do set -- "$@" -o -name "$p"; done
  shift "$n"
  shift
  find . -type f \( "$@" \) -exec sha256sum -- {} +
else
  py=$(command -v python3 || command -v python || true)
  [ -n "$py" ] || { echo "neither sha256sum nor python found" >&2; exit 4; }
  "$py" -c '
import fnmatch, hashlib, os, sys
names = sys.argv[1:]
for top, dirs, files in os.walk("."):
    for name in files:
        if any(fnmatch.fnmatchcase(name, n) for n in names):
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    print(hashlib.sha256(f.read()).hexdigest() + "  " + path)
' "$@"
fi
