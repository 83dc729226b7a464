"""The service's Flask app: `create_app(config)` wires the database, security and routes.

Nothing here imports docker: the web process never talks to an engine
(docs/service.md, "Processes and privilege").
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

from grader.serve import api, health, web
from grader.serve.config import ServeConfig, secret_key
from grader.serve.models import db

MIGRATIONS = __file__.rsplit("/", 1)[0] + "/migrations"

# Every page: no inline script, no third-party anything; the report's own inline
# style is allowed (it is one self-contained file, as `grade submit` writes it).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")


def create_app(config: ServeConfig, *, testing: bool = False) -> Flask:
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=secret_key(config.data_dir),
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config.database_url),
        MAX_CONTENT_LENGTH=config.max_upload,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_NAME="grade_session",
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session, which expires instead
        TESTING=testing,
    )
    app.extensions["grade.config"] = config
    db.init_app(app)
    Migrate(app, db, directory=MIGRATIONS)
    if config.database_url.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
    csrf = CSRFProtect(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # token-authenticated, no cookies: nothing to forge
    app.register_blueprint(health.bp)
    app.after_request(_security_headers)
    return app


def serve_config(app: Flask) -> ServeConfig:
    config: ServeConfig = app.extensions["grade.config"]
    return config


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Several processes write (web, graders): wait for the lock, never fail at once.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
