from flask import Flask


def create_app():
    app = Flask(__name__)
    app.config["DATABASE"] = "todo.db"

    from . import db, views
    db.init_app(app)
    app.register_blueprint(views.bp)
    return app
