"""Hostile ex05: every answer is a 50 MB JSON document (the host keeps 2 MiB of it)."""

from flask import Flask, Response

app = Flask(__name__)
HUGE = '{"id": 1, "pad": "' + "x" * (50 << 20) + '"}'


@app.route("/api/books", methods=["GET", "POST"])
@app.route("/api/books/<path:rest>", methods=["GET", "POST"])
def huge(rest=""):
    return Response(HUGE, 200, mimetype="application/json")
