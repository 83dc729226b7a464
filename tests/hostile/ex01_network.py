"""Hostile ex01: answers correctly only if it could reach the internet.

The sandbox has no network, so the honest result is the score of a wrong body.
"""

import socket

from flask import Flask

online = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    online = True
    print("NET: TCP connection to 1.1.1.1:53 worked", flush=True)
except OSError as e:
    print(f"NET: TCP to 1.1.1.1:53 failed: {e!r}", flush=True)
try:
    socket.getaddrinfo("pypi.org", 443)
    online = True
    print("NET: DNS lookup of pypi.org worked", flush=True)
except OSError as e:
    print(f"NET: DNS lookup of pypi.org failed: {e!r}", flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!" if online else "offline"
