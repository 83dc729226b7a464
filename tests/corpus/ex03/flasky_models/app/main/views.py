from ..models import User
from . import main


@main.route("/")
def index():
    return f"{User.query.count()} users"
