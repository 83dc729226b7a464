"""Alembic's entry for grade's service schema, run through Flask-Migrate (database.py).

Only online migrations: `grade serve` upgrades the database it connects to.
"""

from __future__ import annotations

from alembic import context
from flask import current_app

from grader.serve.models import db

config = context.config


def run() -> None:
    engine = db.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_as_batch=engine.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("grade's migrations run online only: `grade serve` applies them")
with current_app.app_context():
    run()
