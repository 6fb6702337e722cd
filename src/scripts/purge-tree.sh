# shellcheck shell=sh
# Removes bytecode under "$1": __pycache__ directories, then *.pyc/*.pyo files outside them.
# POSIX sh: the same text runs on the host and, through `docker exec -i … sh -s`, in the
# container. Prints "DIRS FILES" (what was removed).
set -eu
root=$1
if [ ! -d "$root" ]; then echo "missing"; exit 0; fi
dirs=$(find "$root" -type d -name __pycache__ -prune -print | wc -l)
find "$root" -type d -name __pycache__ -prune -exec rm -rf -- {} +
files=$(find "$root" -type f \( -name '*.pyc' -o -name '*.pyo' \) -print | wc -l)
find "$root" -type f \( -name '*.pyc' -o -name '*.pyo' \) -exec rm -f -- {} +
echo "$dirs $files"
