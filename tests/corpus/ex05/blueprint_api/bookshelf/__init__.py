from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


def create_app():
    app = Flask(__name__)
    app.json.sort_keys = False

    from .api import api
    app.register_blueprint(api, url_prefix="/api")

    @app.errorhandler(HTTPException)
    def as_json(e):
        return jsonify(error=e.description), e.code

    return app
