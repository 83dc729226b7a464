# Mutant: squeezes the name into ASCII, losing letters such as ë and Ł.
from flask import Flask

app = Flask(__name__)


@app.route("/greet/<name>")
def greet(name):
    plain = name.encode("ascii", "ignore").decode()
    return f"Hello, {plain}!"
