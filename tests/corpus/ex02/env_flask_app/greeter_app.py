from flask import Flask


def create_app():
    app = Flask(__name__)

    @app.route("/greet/<name>")
    def greet(name):
        return f"Hello, {name}!"

    return app
