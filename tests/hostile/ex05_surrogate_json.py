"""Hostile ex05: JSON bodies full of lone surrogates (escaped, as json.dumps writes them).

Parsed on the host they are strings no UTF-8 writer accepts: the report once
failed with UnicodeEncodeError. Every value is wrong, so every check fails.
"""

import json

from flask import Flask, Response

app = Flask(__name__)
BAD = "\ud800\udfff\udc80" * 1000


@app.route("/api/books", methods=["GET", "POST"])
@app.route("/api/books/<path:rest>", methods=["GET", "POST"])
def surrogates(rest=""):
    body = json.dumps({"id": BAD, "title": BAD, "author": BAD, "error": BAD, BAD: BAD})
    return Response(body, 200, mimetype="application/json")
