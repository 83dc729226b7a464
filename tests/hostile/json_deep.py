"""Hostile json-deep (tests/hostile/exercises): JSON nested 1,000,000 deep, 2 MB.

Parsing it must neither crash the grader nor take long: the JSON check fails
honestly and the 404 check scores.
"""

from flask import Flask

app = Flask(__name__)
DEEP = "[" * 1_000_000 + "]" * 1_000_000


@app.route("/")
def deep():
    return DEEP, 200, {"Content-Type": "application/json"}
