"""Hostile ex01: answers / correctly, but drips the response headers over 12 seconds.

Each byte arrives well within a socket timeout, yet the whole answer takes far
longer than the 5 s a check may take, so the two / checks must time out.
"""

import socket
import time

from flask import Flask, request

app = Flask(__name__)
BODY = b"Hello, Flask World!"


@app.route("/")
def hello():
    sock = request.environ["werkzeug.socket"]
    sock.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(12):
        sock.sendall(b"X-Drip: .\r\n")
        time.sleep(1)
    sock.sendall(b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(BODY), BODY))
    sock.shutdown(socket.SHUT_RDWR)
    return ""
