"""Databases and apps for the service's tests: each test gets a new, empty database.

SQLite always; PostgreSQL when GRADE_TEST_POSTGRES_URL names a server whose
user may create databases (.ci/run starts one and sets it; in CI its absence
is a failure, not a skip).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.serve.config import ServeConfig, database_url, prepare_data_dir

POSTGRES_ENV = "GRADE_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the service's tests on PostgreSQL too: set {POSTGRES_ENV} "
                    "(.ci/run starts a server and sets it)")
    pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV}=postgresql://USER@HOST/postgres")


@contextmanager
def new_database(kind: str, data_dir: Path) -> Iterator[str]:
    """A SQLAlchemy URL of a new empty database of *kind* (sqlite | postgres), dropped after."""
    if kind == "sqlite":
        yield database_url(data_dir, None)
        return
    import psycopg

    admin = postgres_admin_url()
    assert admin is not None
    name = f"grade_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield database_url(data_dir, f"{base}/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_config(data_dir: Path, url: str, **overrides: object) -> ServeConfig:
    prepare_data_dir(data_dir)
    fields: dict[str, object] = {"secure_cookies": False, "jobs": 1}
    fields.update(overrides)
    return ServeConfig(data_dir, url, **fields)  # type: ignore[arg-type]
