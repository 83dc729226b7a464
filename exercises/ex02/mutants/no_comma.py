# Mutant: the greeting misses its comma.
from flask import Flask

app = Flask(__name__)


@app.route("/greet/<name>")
def greet(name):
    return f"Hello {name}!"
