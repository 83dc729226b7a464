"""Hostile ex01: looks for secrets and tries to become root, then answers wrongly.

It prints what it saw (ENVIRON:, SECRET-FILE:) and how each attempt went, so
the test can check that nothing of the host's came through.
"""

import os

from flask import Flask

for pid in ("1", "self"):
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            print(f"ENVIRON:{pid}:", fh.read().replace(b"\0", b" ").decode(errors="replace"),
                  flush=True)
    except OSError as e:
        print(f"ENVIRON-DENIED:{pid} ({e.strerror})", flush=True)

for secret in ("/etc/shadow", "/root/.bash_history", "/var/run/docker.sock",
               "/run/docker.sock"):
    try:
        with open(secret, "rb") as fh:
            print(f"SECRET-FILE:{secret}: {fh.read(200)!r}", flush=True)
    except OSError as e:
        print(f"SECRET-DENIED:{secret} ({e.strerror})", flush=True)

try:
    os.setuid(0)
except OSError as e:
    print(f"SETUID-DENIED ({e.strerror})", flush=True)
else:
    print("SETUID-OK", flush=True)

try:
    with open("/etc/passwd", "a", encoding="utf-8") as fh:
        fh.write("student::0:0::/root:/bin/sh\n")
except OSError as e:
    print(f"PASSWD-DENIED ({e.strerror})", flush=True)
else:
    print("PASSWD-WRITTEN", flush=True)

print(f"IDS: uid={os.getuid()} euid={os.geteuid()} gid={os.getgid()}", flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return f"uid {os.getuid()}"
