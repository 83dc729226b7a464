"""End-to-end grading on the real Docker engine: references, starters, student styles."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from grader.grading.run import grade
from grader.grading.scoring import GradeResult
from grader.sandbox import ImageRef, SandboxFactory
from grader.sandbox.container import MANAGED_LABEL, OWNER_LABEL
from grader.spec.exercise import load_exercise

from .helpers import EXERCISES, ROOT, SUBMISSIONS

pytestmark = pytest.mark.docker
Grade = Callable[[str, Path], GradeResult]
IDS = ["ex01", "ex02", "ex03", "ex04"]


@pytest.mark.parametrize("ex", IDS)
def test_reference_solution_gets_full_marks(grade_path: Grade, ex: str) -> None:
    result = grade_path(ex, EXERCISES / ex / "solution.py")
    failed = [(c.name, c.message) for c in result.checks if c.status != "passed"]
    assert result.status == "passed", failed
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("ex", IDS)
def test_starter_scores_less_and_says_why(grade_path: Grade, ex: str) -> None:
    result = grade_path(ex, EXERCISES / ex / "starter.py")
    assert result.status == "failed"
    # ex02's starter earns nothing: the one check it passes (/greet/ is a 404) is guarded
    # by "greets Alice", which it fails
    assert (0 < result.score < result.max_score) if ex != "ex02" else result.score == 0
    failed = [c for c in result.checks if c.status != "passed"]
    assert all(c.message for c in failed)
    assert any(c.hint for c in failed)


@pytest.mark.parametrize(("ex", "path"), [
    ("ex01", "ex01_factory"),        # create_app() factory, no module-level app
    ("ex02", "ex02_blueprint"),      # factory + blueprint in a helper module
    ("ex03", "ex03_factory"),        # package with db.init_app and a wsgi.py
    ("ex04", "ex04_folder"),         # templates/ with inheritance, forms.py
    ("ex01", "lesson/ex01.py"),      # the lesson's own samples
    ("ex02", "lesson/ex02.py"),
    ("ex03", "lesson/ex03.py"),      # create_all() only under __main__
    ("ex04", "lesson/ex04.py"),
])
def test_student_styles_get_full_marks(grade_path: Grade, ex: str, path: str) -> None:
    result = grade_path(ex, SUBMISSIONS / path)
    failed = [(c.name, c.message) for c in result.checks if c.status != "passed"]
    assert result.status == "passed", (result.problem, failed)


def test_no_flask_app_is_an_error_with_advice(grade_path: Grade, tmp_path: Path) -> None:
    sub = tmp_path / "notes.py"
    sub.write_text("print('I forgot Flask')\n")
    result = grade_path("ex01", sub)
    assert result.status == "error"
    assert result.score == 0
    assert result.problem is not None and result.problem.kind == "NoApp"
    assert "create_app" in result.problem.message


def test_import_error_names_the_module(grade_path: Grade, tmp_path: Path) -> None:
    sub = tmp_path / "app.py"
    sub.write_text("from flask import Flask\nimport flask_nonexistent\napp = Flask(__name__)\n")
    result = grade_path("ex01", sub)
    assert result.status == "error"
    assert result.problem is not None
    assert result.problem.kind == "ModuleNotFoundError"
    assert (result.problem.file, result.problem.line) == ("app.py", 2)


def test_crash_in_a_view_fails_that_check_only(grade_path: Grade, tmp_path: Path) -> None:
    sub = tmp_path / "app.py"
    sub.write_text(
        "from flask import Flask\napp = Flask(__name__)\n"
        "@app.route('/greet/<name>')\ndef greet(name):\n"
        "    if name == 'Alice':\n        raise RuntimeError('boom')\n"
        "    return f'Hello, {name}!'\n")
    result = grade_path("ex02", sub)
    by_name = {c.name: c for c in result.checks}
    assert by_name["greets Alice"].status == "failed"
    assert "500" in by_name["greets Alice"].message
    assert by_name["greets a name with a space"].status == "passed"
    assert "RuntimeError: boom" in result.output


def _grade_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_json_contract(docker_client: object, sandbox_image: object,
                           tmp_path: Path) -> None:
    done = _grade_cli("submit", "ex02", str(EXERCISES / "ex02" / "starter.py"), "--json",
                      "--report-dir", str(tmp_path / "out"), cwd=ROOT)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert {"exercise", "status", "score", "max_score", "checks", "report"} <= set(data)
    assert data["exercise"] == "ex02" and data["status"] == "failed"
    for check in data["checks"]:
        # and "problem": "spec" only when the spec's own code failed
        assert set(check) == {"name", "status", "points", "max_points", "message", "requests"}
    assert Path(data["report"]).is_file()
    assert (tmp_path / "out" / "ex02-starter.json").is_file()


def test_cli_full_marks_exit_zero_and_summary(docker_client: object, sandbox_image: object,
                                              tmp_path: Path) -> None:
    done = _grade_cli("submit", "ex01", str(EXERCISES / "ex01" / "solution.py"),
                      "--report-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "5/5 points (passed)" in done.stdout
    assert "✓ home page says hello" in done.stdout
    assert "report: " in done.stdout


def test_cli_syntax_error_is_quoted_without_traceback(docker_client: object,
                                                      sandbox_image: object,
                                                      tmp_path: Path) -> None:
    sub = tmp_path / "app.py"
    sub.write_text("from flask import Flask\napp = Flask(__name__)\n\n"
                   "@app.route('/')\ndef home()\n    return 'hi'\n")
    done = _grade_cli("submit", "ex01", str(sub), "--report-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert "app.py:5: SyntaxError" in done.stdout
    assert "def home()" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_removes_the_container(docker_client: docker.DockerClient,
                                         sandbox_image: object, tmp_path: Path,
                                         signum: int) -> None:
    sub = tmp_path / "app.py"
    sub.write_text("while True:\n    pass\n")
    marker = f"interrupt-{signum}-{time.time_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "submit", "ex01", str(sub), "--report-dir",
         str(tmp_path / marker)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    mine = {"label": f"grade.owner={socket.gethostname()}:{proc.pid}"}
    deadline = time.monotonic() + 30
    while not docker_client.containers.list(filters=mine, ignore_removed=True):
        assert time.monotonic() < deadline, "the sandbox never started"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert docker_client.containers.list(all=True, filters=mine, ignore_removed=True) == []


def test_a_spec_named_by_a_relative_path(docker_client: docker.DockerClient,
                                         docker_sandboxes: SandboxFactory,
                                         no_leftover_containers: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest collects absolute paths; a relative spec path once made every check "not run"
    monkeypatch.chdir(ROOT)
    exercise = load_exercise(Path("exercises/ex01/exercise.yaml"))
    result = grade(exercise, Path("exercises/ex01/solution.py"), docker_sandboxes)
    assert result.status == "passed"


def _dead_pid() -> int:
    """A pid that just ended (the sweep takes its containers for a dead grader's)."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_graders_on_one_engine_do_not_disturb_each_other(
        docker_client: docker.DockerClient, sandbox_image: ImageRef, tmp_path: Path) -> None:
    """Six `grade submit` at once, each sweeping the same orphans as it starts."""
    orphans = [docker_client.containers.create(
        sandbox_image.tag, command=["true"], network_mode="none",
        labels={MANAGED_LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{_dead_pid()}"})
        for _ in range(24)]
    subs = {"ex01": EXERCISES / "ex01" / "solution.py",
            "ex02": EXERCISES / "ex02" / "starter.py"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "submit", ex, str(subs[ex]), "--report-dir",
         str(tmp_path / "reports")],  # one folder for all: same report names, too
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for ex in ["ex01", "ex02"] * 3]
    outcomes = [(p.args[4], *p.communicate(timeout=300), p.returncode) for p in procs]
    for ex, out, err, code in outcomes:
        shown = f"{ex}: exit {code}\n{out}\n{err}"
        assert "Traceback" not in out + err, shown
        assert (code, "5/5 points (passed)" in out) == ((0, True) if ex == "ex01" else (1, False)
                                                         ), shown
        assert " points (" in out, shown
    # The plain listing: containers.list() inspects each one, and a container of
    # another grader on this engine may be removed in between.
    left = {str(c["Id"]) for c in docker_client.api.containers(
        all=True, filters={"label": MANAGED_LABEL})}
    assert not left & {str(c.id) for c in orphans}, "an orphan survived every sweep"
