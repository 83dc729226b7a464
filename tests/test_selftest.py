"""grade selftest: verdicts on a fake grader, then every shipped exercise for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from grader.authoring.selftest import (
    Judgement,
    Mutant,
    load_mutants,
    result_lines,
    run_selftest,
    verdict_lines,
)
from grader.errors import SpecError
from grader.grading.run import grade
from grader.grading.scoring import CheckResult, GradeResult, Problem
from grader.sandbox import ImageRef, SandboxFactory
from grader.spec import catalog
from grader.spec.exercise import Exercise, load_exercise

from .helpers import EXERCISES, ROOT

SPEC = """\
id: demo
title: Demo
solution: solution.py
starter: starter.py
checks:
  - name: status
    request: {path: /}
  - name: body
    points: 2
    request: {path: /}
    expect: {body: hi}
  - name: hidden one
    hidden: true
    request: {path: /x}
"""
NAMES = ("status", "body", "hidden one")


@pytest.fixture
def demo(tmp_path: Path) -> Exercise:
    folder = tmp_path / "demo"
    (folder / "mutants").mkdir(parents=True)
    for name in ("solution.py", "starter.py", "mutants/a.py", "mutants/b.py"):
        (folder / name).write_text("# a stand-in; the fake grader never reads it\n")
    (folder / "exercise.yaml").write_text(SPEC)
    return load_exercise(folder / "exercise.yaml")


def fake_grader(outcomes: dict[str, set[str] | str]) -> Callable[[Exercise, Path], GradeResult]:
    """A grader that answers from a table: file name -> checks passed, or 'error'."""

    def grader(ex: Exercise, path: Path) -> GradeResult:
        outcome = outcomes[path.name]
        problem = Problem("SyntaxError", "invalid syntax") if outcome == "error" else None
        passed = set() if isinstance(outcome, str) else outcome
        checks = tuple(CheckResult(c.id, c.name, c.kind,
                                   "passed" if c.name in passed else "failed",
                                   c.points if c.name in passed else 0.0, c.points, "msg")
                       for c in ex.checks)
        score = sum(c.points for c in checks)
        status = "error" if problem else "passed" if score == ex.max_score else "failed"
        return GradeResult(ex.id, ex.title, status, score, ex.max_score, checks, str(path),
                           "", "fake", problem=problem)

    return grader


def mutant(ex: Exercise, name: str, fails: tuple[str, ...] = ("body",),
           status: str = "failed") -> Mutant:
    return Mutant(name, ex.directory / "mutants" / name, "why it is wrong", fails,
                  status)  # type: ignore[arg-type]


ALL = set(NAMES)


def test_a_sound_spec_passes(demo: Exercise) -> None:
    grader = fake_grader({"solution.py": ALL, "starter.py": {"status"},
                          "a.py": {"status", "hidden one"}, "b.py": {"body"}})
    result = run_selftest(demo, grader, (mutant(demo, "a.py"),
                                         mutant(demo, "b.py", ("status", "hidden one"))))
    assert result.ok, [v.problems for v in result.verdicts]
    assert [v.role for v in result.verdicts] == ["solution", "starter", "mutant", "mutant"]
    assert result.uncaught == ()


def test_a_mutant_that_passes_a_check_names_mutant_and_check(demo: Exercise) -> None:
    grader = fake_grader({"solution.py": ALL, "starter.py": set(), "a.py": {"status", "body"}})
    result = run_selftest(demo, grader, (mutant(demo, "a.py", ("body", "hidden one")),))
    assert not result.ok
    bad = result.verdicts[-1]
    assert (bad.role, bad.name, bad.ok) == ("mutant", "a.py", False)
    assert bad.problems == ("passes 'body', which it should fail (why it is wrong)",)
    assert any("✗ mutant   a.py" in line for line in verdict_lines(bad))
    assert "FAILED" in result_lines(result)[-1]


@pytest.mark.parametrize(("outcomes", "role", "problem"), [
    # the reference solution must get full marks, and says which check it fails
    ({"solution.py": {"status", "hidden one"}, "starter.py": set()}, "solution",
     "fails 'body': msg"),
    # ...and must load at all
    ({"solution.py": "error", "starter.py": set()}, "solution", "does not load"),
    # a starter with full marks leaves nothing to do
    ({"solution.py": ALL, "starter.py": ALL}, "starter", "gets full marks"),
    # a starter that does not load gives students nothing to start from
    ({"solution.py": ALL, "starter.py": "error"}, "starter", "does not load"),
])
def test_solution_and_starter_verdicts(demo: Exercise, outcomes: dict[str, set[str] | str],
                                       role: str, problem: str) -> None:
    result = run_selftest(demo, fake_grader(outcomes), ())
    (verdict,) = [v for v in result.verdicts if v.role == role]
    assert not verdict.ok and not result.ok
    assert any(problem in p for p in verdict.problems), verdict.problems


@pytest.mark.parametrize(("outcome", "status", "ok", "problem"), [
    # a mutant that crashes at import puts no check to the test
    ("error", "failed", False, "does not load"),
    # unless not loading is what it is for
    ("error", "error", True, ""),
    # a mutant declared not to load that loads
    ({"status"}, "error", False, "should end with status error"),
    # full marks is never fine for a mutant
    (ALL, "failed", False, "passes 'body'"),
])
def test_mutant_verdicts(demo: Exercise, outcome: set[str] | str, status: str, ok: bool,
                         problem: str) -> None:
    grader = fake_grader({"solution.py": ALL, "starter.py": set(), "a.py": outcome})
    verdict = run_selftest(demo, grader, (mutant(demo, "a.py", status=status),)).verdicts[-1]
    assert verdict.ok is ok
    assert not problem or any(problem in p for p in verdict.problems), verdict.problems


def test_extra_failures_are_notes_and_uncaught_checks_are_listed(demo: Exercise) -> None:
    grader = fake_grader({"solution.py": ALL, "starter.py": {"status", "hidden one"},
                          "a.py": {"hidden one"}})
    result = run_selftest(demo, grader, (mutant(demo, "a.py", ("body",)),))
    verdict: Judgement = result.verdicts[-1]
    assert verdict.ok and verdict.notes == ("also fails 'status'",)
    assert result.uncaught == ("hidden one",)
    assert any("no starter or mutant fails 'hidden one'" in line for line in result_lines(result))


def test_no_solution_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "exercise.yaml").write_text(SPEC.replace("solution: solution.py\n", "")
                                                     .replace("starter: starter.py\n", ""))
    ex = load_exercise(tmp_path / "demo" / "exercise.yaml")
    result = run_selftest(ex, fake_grader({}), ())
    assert not result.ok and "names no reference solution" in result.verdicts[0].problems[0]


def test_load_mutants_reads_the_manifest(demo: Exercise) -> None:
    (demo.directory / "mutants" / "mutants.yaml").write_text(
        "mutants:\n  - {path: a.py, why: w, fails: body}\n"
        "  - {path: b.py, why: v, status: error}\n")
    a, b = load_mutants(demo)
    assert (a.name, a.fails, a.status, a.line) == ("a.py", ("body",), "failed", 2)
    assert (b.name, b.fails, b.status) == ("b.py", (), "error")
    assert a.path == (demo.directory / "mutants" / "a.py").resolve()


def test_load_mutants_raises_the_first_problem(demo: Exercise) -> None:
    (demo.directory / "mutants" / "mutants.yaml").write_text(
        "mutants:\n  - {path: a.py, why: w, fails: nope}\n")
    with pytest.raises(SpecError, match="mutants.yaml:2: mutants\\[0\\].fails: no check"):
        load_mutants(demo)


def test_cli_refuses_invalid_specs_before_grading(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "exercise.yaml").write_text("id: bad\ntitle: Bad\nchecks: []\n")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "selftest", str(tmp_path / "bad")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "exercise.yaml:3: checks: needs at least one check" in done.stderr


# -- for real, on the Docker engine ------------------------------------------------------

SHIPPED = catalog.available(EXERCISES)


@pytest.mark.docker
@pytest.mark.parametrize("ex", SHIPPED)
def test_every_shipped_exercise_passes_its_selftest(docker_client: docker.DockerClient,
                                                    docker_sandboxes: SandboxFactory,
                                                    no_leftover_containers: None,
                                                    ex: str) -> None:
    exercise = catalog.find(ex, EXERCISES)
    mutants = load_mutants(exercise)
    assert len(mutants) >= 3, "every shipped exercise has mutants"
    result = run_selftest(exercise, lambda e, p: grade(e, p, docker_sandboxes),
                          mutants)
    failures = {v.name: v.problems for v in result.verdicts if not v.ok}
    assert result.ok, failures
    assert result.uncaught == (), "every check with points is failed by some mutant or starter"


@pytest.mark.docker
def test_a_weak_spec_fails_naming_mutant_and_check(docker_client: docker.DockerClient,
                                                   docker_sandboxes: SandboxFactory,
                                                   no_leftover_containers: None,
                                                   tmp_path: Path) -> None:
    # ex02's hidden check, weakened to the names the visible checks already use,
    # lets the hard-coding mutant through.
    folder = shutil.copytree(EXERCISES / "ex02", tmp_path / "ex02")
    spec = folder / "exercise.yaml"
    text = spec.read_text(encoding="utf-8")
    strong = '["Bob", "Grace Hopper", "Łukasz", "x"]'
    assert strong in text
    spec.write_text(text.replace(strong, '["Alice"]'), encoding="utf-8")
    exercise = load_exercise(spec)
    hard_coded = [m for m in load_mutants(exercise) if m.name == "hard_coded.py"]
    result = run_selftest(exercise, lambda e, p: grade(e, p, docker_sandboxes),
                          tuple(hard_coded))
    assert not result.ok
    (bad,) = [v for v in result.verdicts if not v.ok]
    assert bad.name == "hard_coded.py"
    assert bad.problems[0].startswith("passes 'greets any name (hidden)', which it should fail")


@pytest.mark.docker
def test_cli_selftest_exit_codes(docker_client: docker.DockerClient, sandbox_image: ImageRef,
                                 tmp_path: Path) -> None:
    env = {**os.environ, "GRADE_EXERCISES": str(tmp_path)}
    shutil.copytree(EXERCISES / "ex01", tmp_path / "ex01")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "selftest", "ex01"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ mutant   catch_all.py" in done.stdout
    assert done.stdout.rstrip().endswith("selftest: all 1 exercise(s) passed")
    # Drop the check that catches catch_all.py: the selftest now fails and says why.
    spec = tmp_path / "ex01" / "exercise.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text[:text.index("  - name: only / is routed")], encoding="utf-8")
    manifest = tmp_path / "ex01" / "mutants" / "mutants.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        "fails: [only / is routed]", "fails: [home page says hello]").replace(
        ", only / is routed]", "]"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "selftest", "ex01"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗ mutant   catch_all.py" in done.stdout
    assert "passes 'home page says hello', which it should fail" in done.stdout
    assert "selftest: 1 of 1 exercise(s) failed: ex01" in done.stdout
