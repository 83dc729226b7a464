"""Hostile ex02: a correct app that sets a cookie whose value holds a newline.

Werkzeug sends it quoted ("a\\012b"), as it may; the host's client decoded it
and could not send it back (ValueError), which failed the multi-request check.
Full marks.
"""

from flask import Flask

app = Flask(__name__)


@app.after_request
def note(response):
    response.set_cookie("note", "line one\nline two\r\n\x00end")
    return response


@app.route("/greet/<name>")
def greet(name):
    return f"Hello, {name}!"
