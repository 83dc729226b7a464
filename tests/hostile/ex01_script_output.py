"""Hostile ex01: prints and serves HTML that would run script in an unescaped report."""

from flask import Flask

PAYLOAD = '<script>alert("xss")</script>'
print(PAYLOAD, flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return PAYLOAD
