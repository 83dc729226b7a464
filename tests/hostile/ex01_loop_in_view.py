"""Hostile ex01: the / view spins forever; the 404 check must still be graded."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    while True:
        pass
    return "Hello, Flask World!"
