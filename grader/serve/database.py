"""The schema: Alembic migrations (Flask-Migrate), applied by `grade serve` on start."""

from __future__ import annotations

from flask import Flask
from flask_migrate import upgrade as alembic_upgrade

from grader.serve.app import MIGRATIONS


def upgrade(app: Flask) -> None:
    """Bring the database's schema to the newest migration (creating it if new)."""
    with app.app_context():
        alembic_upgrade(directory=MIGRATIONS)
