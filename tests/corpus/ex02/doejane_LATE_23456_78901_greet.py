# Jane Doe -- greet exercise (late, sorry!)
from flask import Flask

app = Flask(__name__)


@app.get("/greet/<string:name>")
def greet_user(name: str) -> str:
    return f"Hello, {name}!"
