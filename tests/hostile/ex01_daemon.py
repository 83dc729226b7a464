"""Hostile ex01: leaves a daemon behind (double fork, setsid), then answers correctly.

The daemon re-executes Python with a marker in its command line, so the test
can look for it in the host's process table after grading. The import waits
until the daemon has tried every socket and printed what it got, so that
grading never outruns it (the test would otherwise depend on the machine's
speed).
"""

import os
import sys

from flask import Flask

MARKER = "grade-hostile-daemon-5f1c2a"
DAEMON = f"""
import os, socket, sys, time
MARKER = {MARKER!r}
print("DAEMON-STARTED", os.getpid(), flush=True)
for where in ("/grade/evil.sock", "/tmp/evil.sock"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(where)
        s.listen(1)
        print("DAEMON-BOUND", where, flush=True)
    except OSError as e:
        print("DAEMON-BIND-DENIED", where, e.strerror, flush=True)
t = socket.socket()
try:
    t.bind(("0.0.0.0", 8080))
    t.listen(1)
    print("DAEMON-BOUND tcp 8080", flush=True)
except OSError as e:
    print("DAEMON-BIND-DENIED tcp 8080", e.strerror, flush=True)
os.write(int(sys.argv[2]), b"up")  # only now: everything the test reads is printed
os.close(int(sys.argv[2]))
n = 0
while True:
    n += 1
    with open("/tmp/daemon.log", "a") as fh:
        fh.write(f"{{MARKER}} still alive {{n}}\\n")
    time.sleep(0.2)
"""

started, up = os.pipe()
os.set_inheritable(up, True)
first = os.fork()
if first == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", DAEMON, MARKER, str(up)])
    os._exit(0)
os.close(up)
os.waitpid(first, 0)
os.read(started, 2)  # the daemon runs (or died: then this reads nothing)
os.close(started)

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"
