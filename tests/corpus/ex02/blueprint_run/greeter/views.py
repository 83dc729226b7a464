from flask import Blueprint

bp = Blueprint("greet", __name__)


@bp.route("/greet/<name>")
def greet(name):
    return f"Hello, {name}!"
