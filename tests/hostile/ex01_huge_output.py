"""Hostile ex01: prints about 200 MB while being imported, then answers correctly."""

import sys

from flask import Flask

LINE = "spam " * 2047 + "eggs\n"  # 10 KiB per line
for _ in range(20_000):  # about 200 MB
    sys.stdout.write(LINE)
sys.stdout.flush()

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"
