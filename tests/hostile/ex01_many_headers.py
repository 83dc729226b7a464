"""Hostile ex01: / answers the right body with 10,000 headers.

The host's client refuses more than 100 headers: both / checks fail, the 404
check (a route Flask answers normally) scores.
"""

from flask import Flask, Response

app = Flask(__name__)


@app.route("/")
def hello():
    headers = [(f"X-Flood-{i}", "v" * 50) for i in range(10_000)]
    return Response("Hello, Flask World!", 200, headers=headers)
