from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
    db.init_app(app)

    from . import models  # noqa: F401  (registers the User model)

    @app.route("/")
    def index():
        return "Users app"

    return app
