"""Hostile ex01: searches the whole sandbox for the exercise specs and serves what it finds.

The needles are built at run time so this file does not match itself.
"""

import os
import stat

from flask import Flask

SPEC_NAME = "exercise" + ".yaml"
HIDDEN = ("hidden" + ": " + "true").encode()
found = []
scanned = 0

for top in ("/work", "/root", "/home"):
    try:
        entries = os.listdir(top)
    except OSError:
        continue
    if entries or top == "/work":
        found.append(f"{top}: {sorted(entries)[:20]}")

for dirpath, dirnames, filenames in os.walk("/"):
    if dirpath == "/":
        dirnames[:] = [d for d in dirnames if d not in ("proc", "sys")]
    for name in filenames:
        path = os.path.join(dirpath, name)
        if name == SPEC_NAME:
            found.append(path)
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > 4 << 20:
                continue
            with open(path, "rb") as fh:
                data = fh.read()
            scanned += 1
        except OSError:
            continue
        if HIDDEN in data:
            found.append(path)

print(f"SCANNED: {scanned} files", flush=True)
if found:
    for item in found:
        print(f"FOUND: {item}", flush=True)
else:
    print("NOTHING-FOUND", flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return "\n".join(found) if found else "no spec here"
