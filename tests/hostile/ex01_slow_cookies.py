"""Hostile ex01: the right answer, with twenty 60 KB cookies of backslashes.

Python's cookie parser (before 3.12.6) takes about 10 s for each such quoted
value, quadratic in its backslashes: 200 s of the host's time per request. A
browser drops cookies over 4 KiB, and so does the grader's client, before
parsing: full marks, quickly.
"""

from flask import Flask, make_response

app = Flask(__name__)
SLOW = '"' + "\\" * 60_000 + '"'


@app.route("/")
def hello():
    resp = make_response("Hello, Flask World!")
    for i in range(20):
        resp.headers.add("Set-Cookie", f"c{i}={SLOW}")
    return resp
