"""Hostile ex01: ends the whole process while being imported."""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"


os._exit(0)
