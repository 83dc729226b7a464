"""The command line: exit codes and messages, through grader.cli.main as the script runs it."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader import cli
from grader.common.data_files import data_path
from grader.grading.scoring import CheckResult, GradeResult, Problem

SUBMISSION = Path(__file__).resolve().parent / "submissions" / "ex01_factory" / "app.py"
NO_DOCKER = "unix:///nonexistent.sock"

SHIPPED_IDS = [f"ex{n:02d}" for n in range(1, 12)]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in tmp_path with the shipped catalogue, and undo main()'s SIGTERM handler."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRADE_EXERCISES", raising=False)
    saved = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, saved)


def grade(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``grade argv...``; return its exit code, stdout and stderr."""
    try:
        cli.main(list(argv))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def broken_catalogue(root: Path) -> Path:
    (root / "bad").mkdir(parents=True)
    spec = root / "bad" / "exercise.yaml"
    spec.write_text("id: bad\ntitle: Bad\nchecks:\n  - name: a\n    points: ten\n"
                    "    request: {path: /}\n")
    return spec


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = grade(capsys, "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == SHIPPED_IDS
    assert "Hello route" in lines[0] and "5 points" in lines[0]


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = grade(capsys, "show", "ex01")
    readme = data_path("exercises") / "ex01" / "README.md"
    assert code == 0
    assert out == readme.read_text(encoding="utf-8") + "\n"


def test_show_without_a_readme(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cat" / "mine").mkdir(parents=True)
    (tmp_path / "cat" / "mine" / "exercise.yaml").write_text(
        "id: mine\ntitle: Mine\nsummary: Do a thing\nchecks:\n  - name: a\n"
        "    request: {path: /}\n")
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path / "cat"))
    code, out, _ = grade(capsys, "show", "mine")
    assert (code, out) == (0, "mine: Mine\n\nDo a thing\n")


@pytest.mark.parametrize("argv", [
    ("show", "ex99"),  # show
    ("submit", "ex99", "app.py"),  # submit, before looking at the path
])
def test_an_unknown_exercise_exits_2_with_the_list(capsys: pytest.CaptureFixture[str],
                                                   argv: tuple[str, ...]) -> None:
    code, out, err = grade(capsys, *argv)
    assert code == 2 and out == ""
    assert "unknown exercise 'ex99'" in err
    assert "Available: ex01, ex02, ex03, ex04, ex05, ex06, ex07, ex08, ex09, ex10, ex11" in err


def test_a_missing_path_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)  # the path is checked before Docker
    code, _, err = grade(capsys, "submit", "ex01", "nowhere/app.py")
    assert code == 2
    assert "nowhere/app.py: no such file or folder" in err
    assert not (tmp_path / "grade-reports").exists()


@pytest.mark.parametrize("argv", [("list",), ("show", "bad"), ("submit", "bad", "x.py")])
def test_an_invalid_spec_exits_2_with_file_and_line(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    argv: tuple[str, ...]) -> None:
    spec = broken_catalogue(tmp_path / "cat")
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path / "cat"))
    code, out, err = grade(capsys, *argv)
    assert code == 2 and out == ""
    assert f"{spec}:5: checks[0].points: must be a number, got 'ten'" in err


@pytest.mark.parametrize("argv", [
    ("submit", "ex01", str(SUBMISSION)),  # grading needs the engine
    ("submit", "ex01", str(SUBMISSION), "--json"),  # in JSON mode too
    ("image", "build"),  # and so does building the image
])
def test_no_docker_engine_exits_3_with_how_to_start_it(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       argv: tuple[str, ...]) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    code, out, err = grade(capsys, *argv)
    assert code == 3
    if "--json" in argv:  # the one object the contract promises, and nothing else
        shown = json.loads(out)
        assert (shown["status"], shown["checks"], shown["report"]) == ("error", [], None)
        assert shown["problem"]["kind"] == "DockerUnavailable"
        assert shown["problem"]["message"] in err
    else:
        assert out == ""  # nothing half-written on stdout
    assert "no Docker engine reachable" in err
    assert "start the Docker engine" in err and "DOCKER_HOST" in err
    assert not (tmp_path / "grade-reports").exists()


@pytest.mark.parametrize(("argv", "code", "text"), [
    (("--help",), 0, "Grade Flask exercises"),  # help
    (("--version",), 0, "version"),  # version
    (("submit",), 2, "Missing argument 'EXERCISE'"),  # a missing argument
    (("frobnicate",), 2, "No such command 'frobnicate'"),  # an unknown command
    (("list", "--bogus"), 2, "--bogus"),  # an unknown option
])
def test_click_usage(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], code: int,
                     text: str) -> None:
    got, out, err = grade(capsys, *argv)
    assert got == code
    assert text in out + err


# -- the summary printed after grading -----------------------------------------------------


def result(*checks: CheckResult, problem: Problem | None = None) -> GradeResult:
    return GradeResult(exercise="ex01", title="Hello route", status="failed", score=1,
                       max_score=4, checks=checks, submission="app.py", spec_sha256="0",
                       image="img", problem=problem, report="/r/ex01-app.html")


def check(name: str, status: str, points: float, hint: str | None = None) -> CheckResult:
    return CheckResult(id=name, name=name, kind="http", status=status,  # type: ignore[arg-type]
                       points=points, max_points=1, message=f"{name} went wrong", hint=hint)


def test_summary_marks_checks_and_explains_failures() -> None:
    text = cli.summary(result(check("a", "passed", 1), check("b", "failed", 0, "try x"),
                              check("c", "timeout", 0)))
    assert text.splitlines() == [
        "ex01 · Hello route: 1/4 points (failed)",
        "  ✓ a  [1/1]",
        "  ✗ b  [0/1]",
        "      b went wrong",
        "      hint: try x",
        "  ⏱ c  [0/1]",
        "      c went wrong",
        "report: /r/ex01-app.html",
    ]


def test_summary_of_an_app_that_did_not_load() -> None:
    problem = Problem("SyntaxError", "invalid syntax", "app.py", 3, text="  def f(:\n")
    text = cli.summary(result(check("a", "error", 0, "hint"), problem=problem))
    assert "  app.py:3: SyntaxError: invalid syntax" in text
    assert "      def f(:" in text
    assert "went wrong" not in text and "hint" not in text  # one cause, said once


def test_json_output_is_one_object() -> None:
    # what `submit --json` prints is to_json(); it must survive a round trip
    r = result(check("a", "passed", 1))
    assert json.loads(json.dumps(r.to_json(), ensure_ascii=False))["checks"][0]["name"] == "a"


@pytest.mark.parametrize("argv", [
    ("submit", "bad", "x.py", "--json"),  # an invalid spec
    ("submit", "ex99", "x.py", "--json"),  # an unknown exercise
    ("submit", "ex01", "nowhere/app.py", "--json"),  # a missing path
])
def test_submit_json_on_a_usage_error_prints_one_error_object(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        argv: tuple[str, ...]) -> None:
    broken_catalogue(tmp_path / "cat")
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path / "cat"))
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)  # nothing here needs the engine
    code, out, err = grade(capsys, *argv)
    assert code == 2
    shown = json.loads(out)  # exactly one object: a second would not parse
    assert shown["status"] == "error" and shown["exercise"] == argv[1]
    assert shown["checks"] == [] and shown["score"] == 0
    assert shown["problem"]["message"] in err
    if argv[1] == "bad":
        assert shown["problem"]["kind"] == "SpecError" and shown["problem"]["line"] == 5


def test_check_refuses_several_catalogues_in_grade_exercises(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # `grade check` grades against one pinned catalogue; `a:b` is not one odd path
    (tmp_path / "grade.yaml").write_text("exercises:\n  ex01: app.py\n", encoding="utf-8")
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.setenv("GRADE_EXERCISES", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    code, out, err = grade(capsys, "check")
    assert code == 2
    assert "names several catalogues" in err and "--exercises" in err
