"""Hostile ex01: allocates (and touches) memory at import until it is killed."""

from flask import Flask

hoard = []
while True:
    hoard.append(b"\x01" * (8 << 20))  # bytes are written, so every page is really used

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"
