"""Hostile ex01: prints binary garbage (invalid UTF-8, NULs, escapes) then answers correctly."""

import os
import random
import sys

rng = random.Random(9)
garbage = bytes(rng.randrange(256) for _ in range(200_000))
os.write(1, garbage)
os.write(2, b"\xed\xa0\x80\xff\xfe\x00\x1b[2J" * 1000)  # an encoded surrogate, a BOM, ...
sys.stdout.flush()

from flask import Flask  # noqa: E402

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"
