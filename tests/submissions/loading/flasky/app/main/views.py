from . import main


@main.route("/")
def index():
    return "Hello, Flask World!"
