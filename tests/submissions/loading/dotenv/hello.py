import os

from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]  # from .env, as `flask run` reads it
GREETING = os.environ["GREETING"]


@app.route("/")
def hello():
    return GREETING
