# Mutant: HTML around the text, so the body is not exactly the greeting.
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "<h1>Hello, Flask World!</h1>"
