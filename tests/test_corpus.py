"""The corpus (tests/corpus/): student apps as learners write them, graded for real.

tests/corpus/corpus.yaml lists each app with the verdict the spec gives it: the status,
the points of every check, and for a wrong app the words its report must hold. Each app
is graded once through the library (as `grade submit` grades it); the correct ones once
more through `grade batch` under the names an LMS export gives them, and through
`grade check`. An app marked `pending` is one today's grader gets wrong (issue 13): it
runs as a strict xfail, so it turns into a failure, to be unmarked, once it is fixed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.reports.terminal import summary
from grader.spec import catalog

from .helpers import EXERCISES, ROOT, GradePath

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST = CORPUS / "corpus.yaml"
STATUSES = ("passed", "failed", "error", "timeout")
# A few correct apps through `grade check`: one that loads today, two that do not yet.

@dataclass(frozen=True)
class App:
    """One corpus entry and its expected verdict."""

    path: str
    exercise: str
    style: str
    status: str
    points: dict[str, float]
    submit_as: str | None = None
    message: tuple[str, ...] = ()
    pending: str | None = None

    @property
    def source(self) -> Path:
        return CORPUS / self.path

    @property
    def lms_name(self) -> str:
        """The file or folder name it has in the class folder given to `grade batch`."""
        return self.submit_as or Path(self.path).name

    @property
    def student(self) -> str:
        """The student `grade batch` names after it: a file's stem, a folder's name."""
        name = self.lms_name
        return name[:-3] if self.source.is_file() else name


def load_apps() -> list[App]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    apps = []
    for entry in data["apps"]:
        entry = dict(entry)
        entry["message"] = tuple(entry.get("message", ()))
        apps.append(App(**entry))
    return apps


APPS = load_apps()


def param(app: App) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"issue 13: {app.pending}")] \
        if app.pending else []
    return pytest.param(app, id=app.path, marks=marks)


def check_points(checks: list[dict[str, Any]] | Any) -> dict[str, float]:
    return {c["name"]: c["points"] for c in checks}


# -- the manifest itself (no Docker) ----------------------------------------------------------


def test_the_manifest_covers_the_corpus_and_every_exercise() -> None:
    listed = [a.path for a in APPS]
    assert len(listed) == len(set(listed)), "an app is listed twice"
    on_disk = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("ex*/*"))
    assert sorted(listed) == on_disk, "every app in tests/corpus/ is listed, and only those"
    assert len(APPS) >= 40
    for ex in sorted(p.name for p in EXERCISES.glob("ex*") if p.is_dir()):
        apps = [a for a in APPS if a.exercise == ex]
        assert len([a for a in apps if a.status == "passed"]) >= 3, ex


@pytest.mark.parametrize("app", APPS, ids=[a.path for a in APPS])
def test_each_verdict_names_every_check_of_its_exercise(app: App) -> None:
    assert app.path.startswith(f"{app.exercise}/")
    assert app.status in STATUSES
    checks = catalog.find(app.exercise, EXERCISES).checks
    assert list(app.points) == [c.name for c in checks]
    if app.status == "passed":
        assert app.points == {c.name: c.points for c in checks}, "full marks"
        assert not app.message
    else:
        assert app.message, "a wrong app names what its report must say"
        assert all(0 <= app.points[c.name] <= c.points for c in checks)


# -- graded as `grade submit` grades it ----------------------------------------------------------


@pytest.mark.docker
@pytest.mark.parametrize("app", [param(a) for a in APPS])
def test_corpus_app_gets_its_verdict(grade_path: GradePath, app: App) -> None:
    result = grade_path(app.exercise, app.source)
    report = summary(result)
    assert {c.name: c.points for c in result.checks} == app.points, report
    assert result.status == app.status, report
    for words in app.message:
        assert words.lower() in report.lower(), f"{words!r} not in the report:\n{report}"
    if result.status == "error":
        assert "hint:" not in report, "a hint on a check that never ran"


# -- the correct apps through `grade batch`, under their LMS names -----------------------------


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GRADE_", "GITHUB_", "CI_"))}
    return env | {"GRADE_SANDBOX": "docker", "XDG_CACHE_HOME": str(tmp / "cache")}


def _place(app: App, folder: Path) -> None:
    target = folder / app.lms_name
    if app.source.is_file():
        shutil.copyfile(app.source, target)
    else:
        shutil.copytree(app.source, target)


@pytest.fixture(scope="module")
def batch_rows(docker_client: object, sandbox_image: object,
               tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Callable[[str], dict[str, dict[str, Any]]]]:
    """The gradebook rows of one `grade batch` per exercise, run once, when first asked."""
    done: dict[str, dict[str, dict[str, Any]]] = {}

    def rows(exercise: str) -> dict[str, dict[str, Any]]:
        if exercise not in done:
            work = tmp_path_factory.mktemp(f"batch-{exercise}")
            cls = work / "class"
            cls.mkdir()
            for app in APPS:
                if app.exercise == exercise and app.status == "passed":
                    _place(app, cls)
            ran = subprocess.run(
                [sys.executable, "-m", "grader.cli", "batch", exercise, str(cls),
                 "--out", str(work / "out"), "--jobs", "2"],
                cwd=ROOT, env=_clean_env(work), capture_output=True, text=True, timeout=600)
            assert ran.returncode == 0, ran.stdout + ran.stderr
            book = json.loads((work / "out" / "gradebook.json").read_text(encoding="utf-8"))
            done[exercise] = {row["student"]: row for row in book}
        return done[exercise]

    yield rows


@pytest.mark.docker
@pytest.mark.parametrize("app", [param(a) for a in APPS if a.status == "passed"])
def test_correct_app_gets_full_marks_in_a_batch(
        batch_rows: Callable[[str], dict[str, dict[str, Any]]], app: App) -> None:
    rows = batch_rows(app.exercise)
    assert app.student in rows, sorted(rows)
    row = rows[app.student]
    assert check_points(row["checks"]) == app.points, row.get("problem")
    assert row["status"] == "passed", row.get("problem")


# -- every correct one through `grade check`, as a student's CI runs it ---------------------


@pytest.mark.docker
@pytest.mark.parametrize("app", [param(a) for a in APPS if a.status == "passed"])
def test_correct_app_passes_grade_check(sandbox_image: object, tmp_path: Path,
                                        app: App) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _place(app, repo)
    config = {"exercises": {app.exercise: {"path": app.lms_name}}}
    (repo / "grade.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                     encoding="utf-8")
    ran = subprocess.run([sys.executable, "-m", "grader.cli", "check", "--junit", "junit.xml"],
                         cwd=repo, env=_clean_env(tmp_path), capture_output=True, text=True,
                         timeout=300)
    top = sum(app.points.values())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"{top:g}/{top:g}" in ran.stdout, ran.stdout
