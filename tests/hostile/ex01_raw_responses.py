"""Hostile ex01: / writes raw bytes on the socket: 1xx answers, then garbage.

GET / gets "100 Continue", a "103 Early Hints", then a status line that is
garbage; a second connection gets a chunked body with absurd chunk sizes.
Both / checks fail (the app's answer is no HTTP); the 404 check scores.
"""

import itertools

from flask import Flask, request

app = Flask(__name__)
_count = itertools.count()

INTERIM_THEN_GARBAGE = (b"HTTP/1.1 100 Continue\r\n\r\n"
                        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                        b"\x00\xffHTTP/1.1 200\xed\xa0\x80 OK\r\n\r\nHello, Flask World!")
ABSURD_CHUNKS = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"13\r\nHello, Flask World!\r\n"
                 b"ffffffffffffffffffffffff\r\nxx\r\n-5\r\n\r\n")


@app.route("/")
def hello():
    sock = request.environ["werkzeug.socket"]
    sock.sendall(INTERIM_THEN_GARBAGE if next(_count) % 2 == 0 else ABSURD_CHUNKS)
    sock.close()
    return "never sent"
