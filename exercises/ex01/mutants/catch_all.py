# Mutant: every path answers the greeting; unknown pages should stay 404.
from flask import Flask

app = Flask(__name__)


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def hello(path):
    return "Hello, Flask World!"
