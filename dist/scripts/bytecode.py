"""Checks every *.pyc under argv[1] against its source (runs inside the container, as
`python3 -I -B`: no module of the app can shadow ours, nothing is written).

argv[2]: the container's PYTHONPYCACHEPREFIX, or empty. With it, python keeps bytecode for
/abs/dir/x.py as PREFIX/abs/dir/x.cpython-3NN.pyc, and loads it from there: the .pyc under
PREFIX/<argv[1]> are checked as well, each against /abs/dir/x.py (printed with their full path).

Prints one line per .pyc: "ok PATH", "stale PATH DETAIL" or "orphan PATH DETAIL", then "done N".
A checker that crashes never prints "done": the runner takes that as a failed probe. The header
layout is PEP 552: magic, flags, then either a source hash (flags & 1) or the source mtime and
size. A header that matches is not enough: a source edited in place with its size and mtime
kept (a restored backup, a checkout that resets mtimes) gets the old bytecode loaded all the
same. So when this interpreter can read the .pyc, its code is compared with the source's.
"""
import importlib.util
import marshal
import os
import re
import sys


def source_for(pyc):
    head, name = os.path.split(pyc)
    if os.path.basename(head) == "__pycache__":
        # name.cpython-312.pyc / name.cpython-312.opt-1.pyc -> ../name.py
        base = name.split(".")[0]
        return os.path.join(os.path.dirname(head), base + ".py")
    return pyc[:-1]  # legacy name.pyc beside name.py


def source_in_prefix(pyc, prefix):
    # PREFIX/app/src/x.cpython-312.pyc -> /app/src/x.py
    head, name = os.path.split(pyc)
    return os.path.join("/", os.path.relpath(head, prefix), name.split(".")[0] + ".py")


def check(pyc, src, shown):
    if not os.path.isfile(src):
        return "orphan", "no source %s" % shown
    with open(pyc, "rb") as f:
        header = f.read(16)
    if len(header) < 16:
        return "stale", "header too short (%d bytes)" % len(header)
    flags = int.from_bytes(header[4:8], "little")
    if flags & 1:
        with open(src, "rb") as f:
            want = importlib.util.source_hash(f.read())
        if header[8:16] != want:
            return "stale", "hash-based pyc: source hash %s, source has %s" % (header[8:16].hex(), want.hex())
        return "ok", ""
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    st = os.stat(src)
    want_mtime = int(st.st_mtime) & 0xFFFFFFFF
    want_size = st.st_size & 0xFFFFFFFF
    if (mtime, size) != (want_mtime, want_size):
        return "stale", "pyc records mtime %d size %d, source has mtime %d size %d" % (mtime, size, want_mtime, want_size)
    return same_code(pyc, src, header)


def same_code(pyc, src, header):
    """Compares the .pyc's code object with a fresh compile of the source (code equality
    ignores the file name). Only possible for this interpreter's own magic number."""
    if header[:4] != importlib.util.MAGIC_NUMBER:
        return "ok", ""
    opt = re.search(r"\.opt-(\d)\.pyc$", pyc)
    try:
        with open(pyc, "rb") as f:
            f.seek(16)
            stored = marshal.loads(f.read())
        with open(src, "rb") as f:
            fresh = compile(f.read(), src, "exec", dont_inherit=True, optimize=int(opt.group(1)) if opt else 0)
    except Exception as err:  # unreadable or not compilable: python could not use it either
        return "ok", "not compared: %s" % err.__class__.__name__
    if stored != fresh:
        return "stale", "header matches the source's mtime and size, but the code differs: python would run the old code"
    return "ok", ""


def walk(top_dir, source, shown):
    count = 0
    for top, dirs, files in os.walk(top_dir):
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                path = os.path.join(top, name)
                src = source(path)
                try:
                    verdict, detail = check(path, src, shown(src))
                except OSError as err:
                    verdict, detail = "stale", "unreadable: %s" % err
                print(("%s %s %s" % (verdict, shown(path), detail)).rstrip())
                count += 1
    return count


root = sys.argv[1]
if not os.path.isdir(root):
    print("missing %s" % root)
    print("done 0")
    sys.exit(0)
count = walk(root, source_for, lambda p: os.path.relpath(p, root))
prefix = sys.argv[2] if len(sys.argv) > 2 else ""
if prefix:
    prefix = os.path.abspath(prefix)
    count += walk(os.path.join(prefix, os.path.abspath(root).lstrip("/")), lambda p: source_in_prefix(p, prefix), lambda p: p)
print("done %d" % count)
