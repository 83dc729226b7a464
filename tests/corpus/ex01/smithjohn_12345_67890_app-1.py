"""CS 340 - Assignment 1 (resubmission)
John Smith
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello_world():
    return "Hello, Flask World!"
