"""``grade check``: the config file, pinned specs, exit codes, and the CI integrations.

CLI tests run the real ``grade`` command in a copy of examples/student-repo,
with ``--sandbox process`` (fast, no image); the Action and the GitLab template
are run the way their CI would run them, with the CI's environment variables.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.ci import config as ci
from grader.errors import SpecError, SubmissionPathError

from .helpers import EXERCISES, ROOT

EXAMPLE = ROOT / "examples" / "student-repo"
BIN = Path(sys.executable).parent
Run = Callable[..., subprocess.CompletedProcess[str]]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh copy of the sample student repository."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "repo"))


@pytest.fixture
def instructor(tmp_path: Path) -> Path:
    """The instructor's own copy of the catalogue, outside the student's repository."""
    return Path(shutil.copytree(EXERCISES, tmp_path / "instructor" / "exercises"))


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Run ``grade ARGS`` in a folder with a clean environment (no CI variables of ours)."""

    def go(*args: str, cwd: Path, env: dict[str, str] | None = None,
           command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("GRADE_", "GITHUB_", "CI_"))}
        base |= {"PATH": f"{BIN}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
                 "XDG_CACHE_HOME": str(tmp_path / "cache"), "GRADE_SANDBOX": "process"}
        return subprocess.run(command or [str(BIN / "grade"), *args], cwd=cwd,
                              env=base | (env or {}), capture_output=True, text=True,
                              timeout=120)

    return go


# -- the config file -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    # short form: just the path, full marks needed
    ("exercises:\n  ex01: hello/app.py\n", [("ex01", "hello/app.py", None)]),
    # long form with points, and with a percentage
    ("exercises:\n  ex01: {path: hello/app.py, min_score: 4}\n  ex02:\n    path: greet/\n"
     "    min_score: 80%\n", [("ex01", "hello/app.py", "4"), ("ex02", "greet", "80%")]),
    # a top-level default applies where an exercise sets none
    ("min_score: 50%\nexercises:\n  ex01: hello/app.py\n  ex02: {path: greet, min_score: 7}\n",
     [("ex01", "hello/app.py", "50%"), ("ex02", "greet", "7")]),
])
def test_config_forms(tmp_path: Path, text: str,
                      expected: list[tuple[str, str, str | None]]) -> None:
    path = tmp_path / "grade.yaml"
    path.write_text(text, encoding="utf-8")
    config = ci.load_config(path)
    got = [(a.exercise, a.path.relative_to(tmp_path).as_posix(),
            str(a.min_score) if a.min_score else None) for a in config.assignments]
    assert got == expected


@pytest.mark.parametrize(("text", "message"), [
    # a spec, hashes or catalogue cannot be chosen from the student's repository
    ("exercises:\n  ex01: {path: a.py, spec: my.yaml}\n", "grade.yaml:2: exercises.ex01.spec"),
    ("hashes: h.txt\nexercises:\n  ex01: a.py\n", "grade.yaml:1: hashes: unknown key"),
    ("exercises:\n  Ex 1: a.py\n", "grade.yaml:2: exercises.Ex 1: exercise ids"),
    ("exercises:\n  ex01: {path: a.py, min_score: lots}\n", "'lots' is not a number"),
    ("exercises:\n  ex01: {path: a.py, min_score: 120%}\n", "between 0 and 100%"),
    ("exercises: {}\n", "lists no exercise"),
    ("exercises:\n  ex01: {min_score: 3}\n", "missing required key 'path'"),
    ("exercises: [ex01\n", "YAML does not parse"),
])
def test_invalid_configs_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "grade.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        ci.load_config(path)
    assert message in str(info.value)


@pytest.mark.parametrize(("text", "points"), [("5", 5.0), ("4.5", 4.5), ("80%", 5.6),
                                              ("0", 0.0), ("100%", 7.0)])
def test_min_scores(text: str, points: float) -> None:
    assert ci.parse_min_score(text).points(7.0) == points


def test_missing_config_is_a_usage_error_that_shows_an_example(run: Run, tmp_path: Path) -> None:
    done = run("check", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "no grade.yaml in" in done.stderr and "ex01: hello.py" in done.stderr
    assert "Traceback" not in done.stderr
    done = run("check", "--config", "nope.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "nope.yaml: no such config file" in done.stderr


def test_missing_paths_are_all_named(run: Run, repo: Path) -> None:
    shutil.rmtree(repo / "greet")
    (repo / "hello" / "app.py").unlink()
    done = run("check", cwd=repo)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "grade.yaml:5: ex01: hello/app.py does not exist" in done.stderr
    assert f"grade.yaml:7: ex02: greet/ does not exist ({repo / 'greet'})" in done.stderr
    with pytest.raises(SubmissionPathError):
        ci.check_paths(ci.load_config(repo / "grade.yaml"))


# -- grading a repository -------------------------------------------------------------------------


def test_check_grades_each_exercise_and_fails_below_the_required_score(
    run: Run, repo: Path,
) -> None:
    done = run("check", cwd=repo)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "ex01 · Hello route (hello/app.py): 5/5 points (passed; ok)" in out
    # the starter's one passing check (/greet/ is a 404) is guarded by "greets Alice"
    assert "ex02 · Greet route (greet/): 0/7 points (failed; needs 5.6)" in out
    assert "\nPoints 5/12\n" in out
    assert "1 of 2 exercises below the required score: ex02 (0/5.6)" in out
    assert "isolates less than Docker" in done.stderr
    reports = repo / "grade-reports"
    assert {p.name for p in reports.iterdir()} >= {"ex01-app.html", "ex02-greet.json",
                                                   "junit.xml"}
    suites = ET.parse(reports / "junit.xml").getroot()
    assert (suites.tag, suites.get("tests"), suites.get("failures")) == ("testsuites", "8", "5")
    # a lower bar on the command line wins over grade.yaml's
    done = run("check", "--min-score", "0", "--junit", "out/j.xml", cwd=repo)
    assert done.returncode == 0, done.stdout
    assert "all 2 exercises reached their required score" in done.stdout
    assert (repo / "out" / "j.xml").is_file()
    done = run("check", "--min-score", "lots", cwd=repo)
    assert done.returncode == 2 and "'lots' is not a number" in done.stderr


def test_github_outputs(run: Run, repo: Path, tmp_path: Path) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    summary.write_text("earlier step\n", encoding="utf-8")
    (repo / "greet" / "app.py").write_text("from flask import Flask\napp = Flask(__name__\n",
                                           encoding="utf-8")
    done = run("check", cwd=repo, env={
        "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs), "GITHUB_WORKSPACE": str(repo)})
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert f"::{token}::" in lines
    assert "Points 5/12" in lines
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith("::error title=ex02%3A 0/7 points (SyntaxError),"
                                "file=greet/app.py,line=2,col=12::SyntaxError: ")
    # The offending line, and a caret under the column Python names.
    assert errors[0].endswith("%0A    app = Flask(__name__%0A               ^")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## grade: Points 5/12 ❌")
    assert "| ex01 · Hello route | `hello/app.py` | 5/5 | 5 | ✅ passed |" in text
    assert outputs.read_text(encoding="utf-8") == "points=5\nmax-points=12\npassed=false\n"


def test_no_docker_and_no_flag_explains_both_ways(run: Run, repo: Path) -> None:
    done = run("check", cwd=repo, env={"GRADE_SANDBOX": "",
                                       "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 3, done.stderr
    assert "no Docker engine reachable" in done.stderr
    assert "--sandbox process" in done.stderr and "isolates less than Docker" in done.stderr


# -- the checks stay the instructor's ----------------------------------------------------------


def _lenient(spec: Path) -> None:
    """What a student would like: every expectation gone."""
    text = spec.read_text(encoding="utf-8")
    spec.write_text(re.sub(r"(?m)^    expect:.*\n(?:      .*\n)*", "", text), encoding="utf-8")


def test_editing_the_repository_does_not_change_the_checks(run: Run, repo: Path) -> None:
    (repo / "grade.yaml").write_text("exercises:\n  ex02: greet/\n", encoding="utf-8")
    before = run("check", cwd=repo)
    # a lenient copy of the spec next to the app, and a whole catalogue in the repo
    shutil.copytree(EXERCISES, repo / "exercises")
    for spec in [*repo.glob("exercises/*/exercise.yaml")]:
        _lenient(spec)
    shutil.copy(repo / "exercises" / "ex02" / "exercise.yaml", repo / "greet")
    after = run("check", cwd=repo)
    assert before.returncode == after.returncode == 1
    assert "0/7 points" in before.stdout and "0/7 points" in after.stdout
    assert _sha(EXERCISES / "ex02" / "exercise.yaml")[:16] in after.stdout
    # pointing grade at the repository's own catalogue needs a published hash ...
    done = run("check", cwd=repo, env={"GRADE_EXERCISES": str(repo / "exercises")})
    assert done.returncode == 2 and "must be pinned" in done.stderr
    # ... which the edited spec does not match
    pin = f"ex02={_sha(EXERCISES / 'ex02' / 'exercise.yaml')}"
    done = run("check", "--exercises", str(repo / "exercises"), "--spec-sha256", pin, cwd=repo)
    assert done.returncode == 2
    assert "but the instructor published" in done.stderr and "Refusing" in done.stderr
    # and a hashes file in the repository is refused outright
    (repo / "SHA256SUMS").write_text(f"{_sha(repo / 'exercises/ex02/exercise.yaml')}  "
                                     "ex02/exercise.yaml\n", encoding="utf-8")
    done = run("check", "--exercises", "exercises", "--hashes", "SHA256SUMS", cwd=repo)
    assert done.returncode == 2 and "inside the repository being graded" in done.stderr


def test_a_pinned_catalogue_from_a_file_url(run: Run, repo: Path, instructor: Path) -> None:
    (repo / "grade.yaml").write_text("exercises:\n  ex01: hello/app.py\n", encoding="utf-8")
    url = instructor.as_uri()
    pin = f"ex01={_sha(instructor / 'ex01' / 'exercise.yaml')}"
    done = run("check", "--exercises", url, "--spec-sha256", pin, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert f"({url})" in done.stdout
    done = run("check", "--exercises", url, "--spec-sha256", "ex01=abc", cwd=repo)
    assert done.returncode == 2 and "64 hexadecimal digits" in done.stderr
    (instructor / "ex01" / "exercise.yaml").write_text(
        (instructor / "ex01" / "exercise.yaml").read_text() + "# edited\n")
    done = run("check", "--exercises", url, "--spec-sha256", pin, cwd=repo)
    assert done.returncode == 2 and "Refusing to grade" in done.stderr


@pytest.fixture
def web(instructor: Path) -> Iterator[tuple[str, http.server.ThreadingHTTPServer]]:
    """The instructor's web site on 127.0.0.1: the catalogue and a SHA256SUMS file."""
    site = instructor.parent
    lines = [f"{_sha(p)}  {p.parent.name}/exercise.yaml"
             for p in sorted(instructor.glob("*/exercise.yaml"))]
    (site / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def test_a_catalogue_and_hashes_from_a_web_server_are_cached(
    run: Run, repo: Path, web: tuple[str, http.server.ThreadingHTTPServer], tmp_path: Path,
) -> None:
    base, server = web
    (repo / "grade.yaml").write_text("exercises:\n  ex01: hello/app.py\n", encoding="utf-8")
    args = ("check", "--exercises", f"{base}/exercises", "--hashes", f"{base}/SHA256SUMS")
    done = run(*args, cwd=repo)
    assert done.returncode == 0, done.stderr
    cached = list((tmp_path / "cache" / "grade" / "specs").rglob("exercise.yaml"))
    assert len(cached) == 1 and cached[0].stat().st_mode & 0o777 == 0o600
    assert cached[0].parent.parent.stat().st_mode & 0o777 == 0o700
    done = run("check", "--exercises", f"{base}/nowhere", "--hashes", f"{base}/SHA256SUMS",
               cwd=repo)
    assert done.returncode == 2 and "answered 404" in done.stderr
    server.shutdown()
    server.server_close()  # nothing listens any more: a download fails at once
    # the cached spec is reused while it matches the published hash ...
    done = run("check", "--exercises", f"{base}/exercises", "--spec-sha256",
               f"ex01={_sha(cached[0])}", cwd=repo)
    assert done.returncode == 0, done.stderr
    # ... but the hashes themselves are fetched every time
    done = run(*args, cwd=repo)
    assert done.returncode == 3 and "cannot download" in done.stderr


# -- the integrations, run as their CI runs them ---------------------------------------------


def _step(action: Any, step_id: str) -> Any:
    return next(s for s in action["runs"]["steps"] if s.get("id") == step_id)


def _inputs(action: Any, given: dict[str, str]) -> dict[str, str]:
    defaults = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    return defaults | given


def _expand(value: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], value)


def test_the_action_runs_grade_check(run: Run, repo: Path, tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install grade")
    assert "pip install" in install["run"] and "$GITHUB_ACTION_PATH[process]" in install["run"]
    step = _step(action, "check")
    assert "${{" not in step["run"], "inputs must reach the script as environment variables"
    inputs = _inputs(action, {"sandbox": "process", "min-score": "0"})
    env = {k: _expand(str(v), inputs) for k, v in step["env"].items()}
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    env |= {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs), "GITHUB_WORKSPACE": str(repo),
            "GITHUB_ACTION_PATH": str(ROOT)}
    done = run(cwd=repo, env=env, command=["bash", "-c", step["run"]])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Points 5/12" in done.stdout
    assert "## grade: Points 5/12 ✅" in summary.read_text(encoding="utf-8")
    assert "passed=true" in outputs.read_text(encoding="utf-8")
    ET.parse(repo / "grade-reports" / "junit.xml")
    # the example workflow uses this action and keeps the reports
    workflow = yaml.safe_load((EXAMPLE / ".github/workflows/grade.yml").read_text())
    uses = [s.get("uses", "") for s in workflow["jobs"]["grade"]["steps"]]
    assert any(u.endswith("/grade@v1") for u in uses)


def test_the_gitlab_template_runs_grade_check(run: Run, repo: Path) -> None:
    job = yaml.safe_load((ROOT / "ci-templates" / "gitlab-ci.yml").read_text())["grade"]
    install, *script = job["script"]
    assert "pip install" in install and "$GRADE_PACKAGE" in install
    env = {k: str(v) for k, v in job["variables"].items()}
    env |= {"CI": "true", "CI_PROJECT_DIR": str(repo), "GRADE_MIN_SCORE": "0"}
    done = run(cwd=repo, env=env, command=["sh", "-ec", "\n".join(script)])
    assert done.returncode == 0, done.stdout + done.stderr
    report = repo / job["artifacts"]["reports"]["junit"]
    suites = ET.parse(report).getroot()
    assert [s.get("name") for s in suites] == ["ex01 · Hello route", "ex02 · Greet route"]


@pytest.mark.docker
def test_check_in_docker(run: Run, repo: Path, sandbox_image: object) -> None:
    done = run("check", cwd=repo, env={"GRADE_SANDBOX": "docker"})
    assert done.returncode == 1, done.stderr
    assert "Points 5/12" in done.stdout and "isolates less" not in done.stderr
