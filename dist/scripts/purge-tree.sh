# shellcheck shell=sh
# Removes bytecode under "$1": __pycache__ directories, then *.pyc/*.pyo files outside them.
# POSIX sh: the same text runs on the host and, through `docker exec -i … sh -s`, in the
# container. Prints "DIRS FILES" (what was removed). One walk per kind lists and deletes; the
# list is kept in a variable rather than piped, so a failed rm still fails the script (no
# pipefail in POSIX sh).
set -eu
root=$1
if [ ! -d "$root" ]; then echo "missing"; exit 0; fi
count() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }
removed=$(find "$root" -type d -name __pycache__ -prune -print -exec rm -rf -- {} +)
dirs=$(count "$removed")
removed=$(find "$root" -type f \( -name '*.pyc' -o -name '*.pyo' \) -print -exec rm -f -- {} +)
files=$(count "$removed")
echo "$dirs $files"
