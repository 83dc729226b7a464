"""Hostile ex01: spins forever while being imported, so the app never loads."""

from flask import Flask

while True:
    pass

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"
