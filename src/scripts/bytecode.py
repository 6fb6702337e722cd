"""Checks every *.pyc under argv[1] against its source (runs inside the container).

Prints one line per .pyc: "ok PATH", "stale PATH DETAIL" or "orphan PATH DETAIL". The header
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


def check(pyc):
    src = source_for(pyc)
    if not os.path.isfile(src):
        return "orphan", "no source %s" % os.path.relpath(src, root)
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


root = sys.argv[1]
if not os.path.isdir(root):
    print("missing %s" % root)
    sys.exit(0)
for top, dirs, files in os.walk(root):
    for name in sorted(files):
        if name.endswith((".pyc", ".pyo")):
            path = os.path.join(top, name)
            try:
                verdict, detail = check(path)
            except OSError as err:
                verdict, detail = "stale", "unreadable: %s" % err
            rel = os.path.relpath(path, root)
            print(("%s %s %s" % (verdict, rel, detail)).rstrip())
