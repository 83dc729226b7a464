from flask import Flask

CONFIGS = {
    "development": {"DEBUG": True},
    "production": {"DEBUG": False},
}


def create_app(config_name="development"):
    app = Flask(__name__)
    app.config.update(CONFIGS[config_name])

    from .routes import greet_bp
    app.register_blueprint(greet_bp)
    return app
