from flask import Flask


def create_app(config_name):
    app = Flask(__name__)
    app.config["ENV_NAME"] = config_name

    @app.route("/")
    def index():
        return "Hello, Flask World!"

    return app
