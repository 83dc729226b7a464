"""Hostile ex02: a correct app that prints every request it gets, hoping to read the hidden ones.

Its printed output is its only way to show the student what the hidden
checks asked; the student-facing output must stop before the first of them.
"""

import sys

from flask import Flask, request

print("LOG-STARTED", flush=True)

app = Flask(__name__)


@app.before_request
def log_request():
    # stdout and stderr both: each reaches the report through the sandbox's output
    line = f"LOG {request.method} {request.full_path} form={dict(request.form)}"
    print(line, flush=True)
    print(line, file=sys.stderr, flush=True)


@app.route("/greet/<name>")
def greet(name):
    return f"Hello, {name}!"
