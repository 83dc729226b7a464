"""Loading real-world layouts in the sandbox: names, factories, .env, instance/ (issue 13).

The apps are in tests/submissions/loading/; each is a correct ex01 written the
way learners write Flask apps, so each must get full marks, through the
library, ``grade submit``, ``grade batch`` and ``grade check``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.grading.scoring import GradeResult

from .helpers import ROOT, SUBMISSIONS

pytestmark = pytest.mark.docker
Grade = Callable[[str, Path], GradeResult]
LOADING = SUBMISSIONS / "loading"


@pytest.mark.parametrize(("path", "app"), [
    ("names/1_start.py", "1_start.py:app"),
    ("names/mary-jane.py", "mary-jane.py:app"),
    ("names/greet app.py", "greet app.py:app"),
    ("names/smithjohn_12345_67890_app-1.py", "smithjohn_12345_67890_app-1.py:app"),
    ("lone_folder", "Zoë Lefèvre/app.py:app"),          # graded from inside its one folder
    ("flasky", "flasky.py:app"),                          # app/ needs create_app(config_name)
    ("dotenv", "hello.py:app"),                           # FLASK_APP, SECRET_KEY from .env
    ("instance", "app.py:app"),                           # instance/config.py, writes there
])
def test_learners_layouts_get_full_marks_and_name_the_app(grade_path: Grade, path: str,
                                                          app: str) -> None:
    result = grade_path("ex01", LOADING / path)
    failed = [(c.name, c.message) for c in result.checks if c.status != "passed"]
    assert result.status == "passed", (result.problem, failed)
    assert result.app == app
    assert result.to_json()["app"] == app


def test_no_app_lists_what_was_tried(grade_path: Grade, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text(
        "from flask import Flask\ndef create_app(config_name):\n    return Flask(__name__)\n")
    (tmp_path / "models.py").write_text("X = 1\n")
    result = grade_path("ex01", tmp_path)
    assert result.status == "error" and result.problem is not None
    assert result.problem.kind == "NoApp"
    assert result.problem.tried == (
        "app: create_app(config_name) needs arguments (no module-level `app` either)",
        "models.py: no `app`, no Flask instance and no create_app()")
    assert result.app == ""


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_submit_shows_the_graded_app(docker_client: object, sandbox_image: object,
                                     tmp_path: Path) -> None:
    done = _cli("submit", "ex01", str(LOADING / "names" / "greet app.py"),
                "--report-dir", str(tmp_path), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "graded: greet app.py:app" in done.stdout
    report = json.loads(next(tmp_path.glob("*.json")).read_text(encoding="utf-8"))
    assert report["app"] == "greet app.py:app"
    assert "greet app.py:app" in next(tmp_path.glob("*.html")).read_text(encoding="utf-8")


def test_batch_with_lms_file_names(docker_client: object, sandbox_image: object,
                                   tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    for name in ("smithjohn_12345_67890_app-1.py", "mary-jane.py", "1_start.py"):
        shutil.copy(LOADING / "names" / name, cls / name)
    shutil.copytree(LOADING / "lone_folder", cls / "zoe")
    shutil.copytree(LOADING / "flasky", cls / "flasky_student")
    out = tmp_path / "out"
    done = _cli("batch", "ex01", str(cls), "--out", str(out), "--jobs", "2", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 5
    assert all(row["status"] == "passed" for row in table), table


def test_check_with_names_and_folders(tmp_path: Path) -> None:
    # grade check, with the process sandbox as the CI tests run it (no image needed)
    repo = tmp_path / "repo"
    shutil.copytree(LOADING / "dotenv", repo / "week 1")
    (repo / "grade.yaml").write_text('exercises:\n  ex01: "week 1"\n', encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADE_", "GITHUB_"))}
    env |= {"GRADE_SANDBOX": "process", "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"}
    done = subprocess.run([str(bin_dir / "grade"), "check"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
