# Mutant: /hello builds its HTML with an f-string, unescaped and outside the layout.
from flask import Flask, render_template, request

app = Flask(__name__)


@app.route("/")
def index():
    return render_template("index.html")


@app.route("/hello")
def hello():
    name = request.args.get("name", "World")
    return f"<!doctype html><title>Hello · Jinja site</title><h1>Hello, {name}!</h1>"


if __name__ == "__main__":
    app.run(debug=True)
