# Mutant: the view wraps the user's name in Markup().
from flask import Flask, render_template, request
from markupsafe import Markup

app = Flask(__name__)


@app.route("/")
def index():
    return render_template("index.html")


@app.route("/hello")
def hello():
    name = request.args.get("name", "World")
    # Markup() marks the text as safe HTML, so Jinja no longer escapes it.
    return render_template("hello.html", name=Markup(name))


if __name__ == "__main__":
    app.run(debug=True)
