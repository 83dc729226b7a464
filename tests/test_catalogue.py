"""The lesson's extensions, ex05-ex08, and the migrate setup that ex07 needs."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from grader.authoring.selftest import load_mutants
from grader.errors import SpecError
from grader.grading.scoring import GradeResult
from grader.spec import catalog
from grader.spec.exercise import load_exercise

from .helpers import EXERCISES

Grade = Callable[[str, Path], GradeResult]
NEW = ["ex05", "ex06", "ex07", "ex08"]


@pytest.mark.parametrize("ex", NEW)
def test_each_extension_is_complete(ex: str) -> None:
    exercise = catalog.find(ex, EXERCISES)
    assert exercise.solution is not None and exercise.solution.exists()
    assert exercise.starter is not None and exercise.starter.exists()
    assert exercise.readme is not None
    readme = exercise.readme.read_text(encoding="utf-8")
    assert readme.startswith(f"# {ex} — {exercise.title}")
    assert f"grade submit {ex} " in readme
    assert len(load_mutants(exercise)) >= 4
    assert any(c.hidden for c in exercise.checks)
    assert all(c.hint for c in exercise.checks if not c.hidden)


def test_ex07_runs_migrations_instead_of_create_all() -> None:
    ex = catalog.find("ex07", EXERCISES)
    assert (ex.migrate, ex.create_tables) == (True, False)
    assert ex.solution is not None and ex.starter is not None
    assert (ex.solution / "migrations" / "env.py").is_file()
    (version,) = (ex.solution / "migrations" / "versions").glob("*.py")
    assert "op.create_table('users'" in version.read_text(encoding="utf-8")
    # the starter is what `flask db init` makes: no migration yet
    assert (ex.starter / "migrations" / "env.py").is_file()
    assert not list(ex.starter.glob("migrations/versions/*.py"))


def test_ex08_pages_extend_the_base_layout() -> None:
    ex = catalog.find("ex08", EXERCISES)
    assert ex.solution is not None
    templates = ex.solution / "templates"
    assert "{% block content %}" in (templates / "base.html").read_text(encoding="utf-8")
    for child in ("index.html", "hello.html"):
        text = (templates / child).read_text(encoding="utf-8")
        assert text.startswith('{% extends "base.html" %}'), child
        assert "<html" not in text and "|safe" not in text


SETUPS = [
    # the spec language's one new key
    ("setup: {migrate: true}\n", None),
    # both would hide a missing migration: the tables would exist anyway
    ("setup: {create_tables: true, migrate: true}\n", "give create_tables or migrate, not both"),
    ("setup: {migrate: sometimes}\n", "must be true or false"),
]


@pytest.mark.parametrize(("setup", "problem"), SETUPS)
def test_setup_migrate_in_parser_and_schema(tmp_path: Path, setup: str,
                                            problem: str | None) -> None:
    text = "id: demo\ntitle: Demo\n" + setup + "checks:\n  - name: a\n    request: {path: /}\n"
    (tmp_path / "demo").mkdir()
    spec = tmp_path / "demo" / "exercise.yaml"
    spec.write_text(text, encoding="utf-8")
    schema = json.loads((EXERCISES / "exercise.schema.json").read_text(encoding="utf-8"))
    schema_ok = jsonschema.Draft202012Validator(schema).is_valid(yaml.safe_load(text))
    if problem is None:
        assert load_exercise(spec).migrate is True and schema_ok
        return
    with pytest.raises(SpecError, match=re.escape(problem)) as info:
        load_exercise(spec)
    assert info.value.line == 3 and info.value.field.startswith("setup")
    assert not schema_ok


# -- for real: what the migrate setup does in the sandbox -------------------------------


def copy_solution(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXERCISES / "ex07" / "solution", tmp_path / "sub"))


@pytest.mark.docker
def test_a_failing_migration_is_quoted_with_its_file_and_line(grade_path: Grade,
                                                              tmp_path: Path) -> None:
    sub = copy_solution(tmp_path)
    (version,) = (sub / "migrations" / "versions").glob("*.py")
    text = version.read_text(encoding="utf-8")
    version.write_text(text.replace("op.create_table('users',",
                                    "op.create_table('users', sa.Column('id', sa.Integer()),"),
                       encoding="utf-8")
    result = grade_path("ex07", sub)
    assert result.status == "error" and result.score == 0
    problem = result.problem
    assert problem is not None and problem.kind == "DuplicateColumnError"
    assert problem.message.startswith("`flask db upgrade` failed:")
    assert problem.file == f"migrations/versions/{version.name}" and problem.line


@pytest.mark.docker
def test_an_app_without_flask_migrate_is_told_how(grade_path: Grade, tmp_path: Path) -> None:
    sub = copy_solution(tmp_path)
    app = sub / "app.py"
    app.write_text(app.read_text(encoding="utf-8").replace("migrate = Migrate(app, db)\n", ""),
                   encoding="utf-8")
    result = grade_path("ex07", sub)
    assert result.status == "error"
    assert result.problem is not None and result.problem.kind == "NoMigrate"
    assert "Migrate(app, db)" in result.problem.message


@pytest.mark.docker
def test_a_migration_that_exits_is_an_error_not_a_crash(grade_path: Grade,
                                                        tmp_path: Path) -> None:
    sub = copy_solution(tmp_path)
    (version,) = (sub / "migrations" / "versions").glob("*.py")
    version.write_text(version.read_text(encoding="utf-8").replace(
        "def upgrade():\n", "def upgrade():\n    raise SystemExit(3)\n"), encoding="utf-8")
    result = grade_path("ex07", sub)
    assert result.status == "error"
    assert result.problem is not None and result.problem.kind == "SystemExit"


@pytest.mark.docker
def test_a_student_style_blueprint_api_passes_ex05(grade_path: Grade, tmp_path: Path) -> None:
    # A factory with a blueprint and abort()-free error handlers, as students write it.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "app.py").write_text(textwrap.dedent('''\
        from flask import Blueprint, Flask, request

        api = Blueprint("api", __name__, url_prefix="/api")
        BOOKS = [{"id": 1, "title": "Flask Web Development", "author": "Miguel Grinberg"}]


        @api.route("/books", methods=["GET", "POST"])
        def books():
            if request.method == "GET":
                return BOOKS
            data = request.get_json()
            if not isinstance(data, dict) or not all(
                    isinstance(data.get(k), str) and data[k] for k in ("title", "author")):
                return {"error": "title and author are required strings"}, 400
            book = {"id": BOOKS[-1]["id"] + 1, "title": data["title"], "author": data["author"]}
            BOOKS.append(book)
            return book, 201


        @api.get("/books/<int:book_id>")
        def book(book_id):
            found = [b for b in BOOKS if b["id"] == book_id]
            return found[0] if found else ({"error": "book not found"}, 404)


        def create_app():
            app = Flask(__name__)
            app.register_blueprint(api)
            return app
        '''), encoding="utf-8")
    result = grade_path("ex05", tmp_path / "sub")
    failed = [(c.name, c.message) for c in result.checks if c.status != "passed"]
    assert result.status == "passed", (result.problem, failed)
