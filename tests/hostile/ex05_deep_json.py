"""Hostile ex05: every answer is JSON nested 100,000 deep (the host's json.loads recursed).

Each check fails honestly (the body is not JSON the grader accepts); no traceback.
"""

from flask import Flask, Response

app = Flask(__name__)
DEEP = "[" * 100_000 + "]" * 100_000


@app.route("/api/books", methods=["GET", "POST"])
@app.route("/api/books/<path:rest>", methods=["GET", "POST"])
def deep(rest=""):
    return Response(DEEP, 200, mimetype="application/json")
