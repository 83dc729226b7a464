"""How the agent finds a submission's app and reads .env files (sandbox/agent.py), no Docker.

The finder imports student code, so each case runs it in a child Python in a
folder of its own, as the sandbox does; the host's parts (staging) run here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from grader.grading.scoring import Problem
from grader.grading.staging import stage
from grader.reports.html import render_html, report_json
from grader.reports.terminal import summary

from .helpers import ROOT, make_result

AGENT = ROOT / "sandbox" / "agent.py"

_FIND = """
import json, os, sys
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
spec = __import__("importlib.util").util.spec_from_file_location("agent", sys.argv[1])
agent = __import__("importlib.util").util.module_from_spec(spec)
spec.loader.exec_module(agent)
agent.WORKDIR = os.getcwd()
agent.importlib.import_module("flask")  # as op_load: Flask before the submission's folder
sys.path.insert(0, os.getcwd())
files = agent.load_dotenv(os.getcwd())
try:
    module, app, where = agent.find_app(json.loads(sys.argv[2]))
    out = {"where": where, "name": app.name, "env_files": files,
           "secret": app.config.get("SECRET_KEY"), "greeting": os.environ.get("GREETING")}
except agent.LoadError as e:
    out = {"error": e.info}
print(json.dumps(out, default=str))
"""


def agent_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grade_agent_under_test", AGENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def find(folder: Path, entry: tuple[str, ...] = (), env: dict[str, str] | None = None
         ) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GREETING"))}
    done = subprocess.run([sys.executable, "-I", "-c", _FIND, str(AGENT), json.dumps(list(entry))],
                          cwd=folder, env=environ | (env or {}), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


APP = "from flask import Flask\napp = Flask(__name__)\n"
FACTORY = ("from flask import Flask\n\ndef create_app(config_name):\n"
           "    app = Flask(__name__)\n    return app\n")


@pytest.mark.parametrize("name", ["1_start.py", "mary-jane.py", "greet app.py",
                                  "smithjohn_12345_67890_app-1.py", "Zoë.py", "app.v2.py"])
def test_file_names_that_are_not_identifiers_are_imported(tmp_path: Path, name: str) -> None:
    write(tmp_path, {name: APP})
    assert find(tmp_path)["where"] == f"{name}:app"


def test_a_factory_that_needs_arguments_is_skipped_for_a_module_that_calls_it(
        tmp_path: Path) -> None:
    # Flasky: package app/ with create_app(config_name), flasky.py with app = create_app(...)
    write(tmp_path, {"app/__init__.py": FACTORY,
                     "flasky.py": "import os\nfrom app import create_app\n"
                                  "app = create_app(os.getenv('FLASK_CONFIG') or 'default')\n"})
    assert find(tmp_path)["where"] == "flasky.py:app"


def test_factory_without_arguments_and_the_preferred_names_come_first(tmp_path: Path) -> None:
    write(tmp_path, {"zeta.py": APP, "wsgi.py": "from myapp import create_app\n",
                     "myapp/__init__.py": FACTORY.replace("config_name", "config=None")})
    assert find(tmp_path)["where"] == "wsgi.py:create_app()"


@pytest.mark.parametrize("name", ["site", "json", "code"])
def test_a_file_named_like_a_standard_module_is_the_students(tmp_path: Path, name: str) -> None:
    write(tmp_path, {f"{name}.py": APP})
    assert find(tmp_path)["where"] == f"{name}.py:app"


def test_a_lone_instance_under_another_name_is_found(tmp_path: Path) -> None:
    write(tmp_path, {"server.py": "from flask import Flask\nsite = Flask('x')\n"})
    assert find(tmp_path)["where"] == "server.py:site"


def test_setup_and_tests_are_tried_last(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "raise SystemExit('do not import me')\n",
                     "test_app.py": "raise SystemExit(1)\n", "zz.py": APP})
    assert find(tmp_path)["where"] == "zz.py:app"


def test_flask_app_from_flaskenv_names_the_module_and_object(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": APP,
                     "other.py": FACTORY.replace("(config_name)", "(name='x')"),
                     ".flaskenv": "FLASK_APP=other:create_app('y')\n"})
    assert find(tmp_path)["where"] == "other.py:create_app('y')"


@pytest.mark.parametrize(("value", "where"), [
    ("web.py", "web.py:app"), ("web", "web.py:app"), ("pkg.web", "pkg.web:app"),
    ("pkg/web.py", "pkg/web.py:app"), ("factory:create_app", "factory.py:create_app()")])
def test_flask_app_forms(tmp_path: Path, value: str, where: str) -> None:
    write(tmp_path, {"web.py": APP, "pkg/__init__.py": "", "pkg/web.py": APP,
                     "factory.py": FACTORY.replace("config_name", "c=1"),
                     ".env": f"FLASK_APP={value}\n"})
    assert find(tmp_path)["where"] == where


def test_env_files_are_read_like_flask_run(tmp_path: Path) -> None:
    write(tmp_path, {
        "app.py": "import os\nfrom flask import Flask\napp = Flask(__name__)\n"
                  "app.config['SECRET_KEY'] = os.environ['SECRET_KEY']\n",
        ".flaskenv": "SECRET_KEY=from-flaskenv\nGREETING=hello\n",
        ".env": "SECRET_KEY='from env'\n"})
    found = find(tmp_path)
    assert found["secret"] == "from env"  # .env wins over .flaskenv
    assert found["greeting"] == "hello"
    assert found["env_files"] == [".flaskenv", ".env"]
    assert find(tmp_path, env={"SECRET_KEY": "set"})["secret"] == "set"  # the environment wins


def test_nothing_found_lists_each_candidate_and_why(tmp_path: Path) -> None:
    write(tmp_path, {"helpers.py": "X = 1\n", "app/__init__.py": FACTORY,
                     "two.py": "from flask import Flask\na = Flask('a')\nb = Flask('b')\n"})
    error = find(tmp_path)["error"]
    assert isinstance(error, dict)
    assert error["type"] == "NoApp"
    assert error["tried"] == [
        "app: create_app(config_name) needs arguments (no module-level `app` either)",
        "helpers.py: no `app`, no Flask instance and no create_app()",
        "two.py: 2 Flask apps (a, b) and none named `app`; name the one to grade `app`"]


def test_an_import_error_is_the_problem_and_the_others_are_listed(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "import flask_nonexistent\n", "notes.py": "X = 1\n"})
    error = find(tmp_path)["error"]
    assert isinstance(error, dict)
    assert error["type"] == "ModuleNotFoundError" and error["file"] == "app.py"
    assert len(error["tried"]) == 2 and error["tried"][1].startswith("notes.py: no `app`")


def test_many_candidates_are_listed_within_bounds(tmp_path: Path) -> None:
    write(tmp_path, {f"m{i:02}.py": "X = 1\n" for i in range(15)})
    tried = find(tmp_path)["error"]["tried"]  # type: ignore[index]
    assert len(tried) == 11 and tried[-1] == "… and 5 more"


def test_the_exercise_entry_is_the_only_candidate(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": APP, "other.py": APP})
    assert find(tmp_path, entry=("other",))["where"] == "other.py:app"


def test_a_students_flask_py_does_not_replace_flask(tmp_path: Path) -> None:
    write(tmp_path, {"flask.py": "raise SystemExit('shadow')\n", "app.py": APP})
    assert find(tmp_path)["where"] == "app.py:app"


def test_the_fallback_env_parser_agrees_with_python_dotenv(tmp_path: Path) -> None:
    import dotenv

    text = ("# comment\nexport A=1\nB = two words  # note\nC='single # kept'\n"
            'D="line\\nbreak"\nE=\nF\n  G=spaced\n')
    path = write(tmp_path, {".env": text}) / ".env"
    assert agent_module().parse_env(text) == dict(dotenv.dotenv_values(path))


def test_staging_keeps_env_files_and_instance(tmp_path: Path) -> None:
    source = write(tmp_path / "sub", {"app.py": APP, ".env": "A=1\n", ".flaskenv": "B=2\n",
                                      "instance/config.py": "SECRET_KEY = 'x'\n",
                                      "instance/app.db": "not copied"})
    staged = stage(source, tmp_path / "staged")
    assert staged.files == (".env", ".flaskenv", "app.py", "instance/config.py")
    assert staged.inside == ""


def test_staging_steps_into_a_lone_sub_folder(tmp_path: Path) -> None:
    source = write(tmp_path / "upload", {"Zoë Lefèvre/app.py": APP,
                                         "Zoë Lefèvre/templates/index.html": "hi",
                                         "__MACOSX/._app.py": "junk", ".DS_Store": "junk"})
    staged = stage(source, tmp_path / "staged")
    assert staged.inside == "Zoë Lefèvre"
    assert staged.files == ("app.py", "templates/index.html")


def test_staging_does_not_step_into_a_package(tmp_path: Path) -> None:
    source = write(tmp_path / "upload", {"myapp/__init__.py": FACTORY, "README.md": "x"})
    staged = stage(source, tmp_path / "staged")
    assert staged.inside == ""
    assert "myapp/__init__.py" in staged.files


def test_reports_name_the_graded_app_and_what_was_tried() -> None:
    graded = make_result(app="Zoë Lefèvre/app.py:create_app()")
    assert "graded: Zoë Lefèvre/app.py:create_app()" in summary(graded)
    assert "<code>Zoë Lefèvre/app.py:create_app()</code>" in render_html(graded)
    assert report_json(graded)["app"] == "Zoë Lefèvre/app.py:create_app()"
    tried = ("app: create_app(config_name) needs arguments", "x.py: <b>no app</b>")
    failed = make_result(status="error", score=0.0,
                         problem=Problem("NoApp", "no Flask app found", tried=tried))
    assert "  tried:\n    app: create_app(config_name) needs arguments\n" in summary(failed)
    assert "<code>x.py: &lt;b&gt;no app&lt;/b&gt;</code>" in render_html(failed)
    assert list(report_json(failed)["problem"]["tried"]) == list(tried)
    assert report_json(failed)["app"] is None


def test_problem_tried_is_bounded() -> None:
    problem = Problem("NoApp", "x", tried=tuple("y" * 500 for _ in range(40)))
    assert len(problem.tried) == 11 and all(len(t) < 230 for t in problem.tried)
