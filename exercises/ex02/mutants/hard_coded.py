# Mutant: hard-codes the names of the visible examples.
from flask import Flask

app = Flask(__name__)

KNOWN = {"Alice": "Hello, Alice!", "Ada Lovelace": "Hello, Ada Lovelace!", "Zoë": "Hello, Zoë!"}


@app.route("/greet/<name>")
def greet(name):
    return KNOWN.get(name, "Hello!")
