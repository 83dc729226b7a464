"""Hostile ex02: right bodies under weird status codes and odd header bytes.

Status 299 and 999 are no 200: the body-and-status checks fail honestly, the
404 check (Flask's own 404) scores 1.
"""

from flask import Flask, Response

app = Flask(__name__)


@app.route("/greet/<name>")
def greet(name):
    status = 999 if len(name) % 2 else 299
    return Response(f"Hello, {name}!", status,
                    headers={"X-Odd": "\u00ff\u00fe caf\u00e9", "Content-Language": "\t"})
