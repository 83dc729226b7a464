from flask import Blueprint

greet_bp = Blueprint("greet", __name__, url_prefix="/greet")


@greet_bp.route("/<name>")
def greet(name):
    return f"Hello, {name}!"
