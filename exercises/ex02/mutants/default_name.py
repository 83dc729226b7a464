# Mutant: /greet/ is routed too, with a default name, instead of being a 404.
from flask import Flask

app = Flask(__name__)


@app.route("/greet/", defaults={"name": "stranger"})
@app.route("/greet/<name>")
def greet(name):
    return f"Hello, {name}!"
