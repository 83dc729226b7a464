"""grade new: the scaffold validates at once, and its selftest is green."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
import yaml

from grader.authoring.scaffold import SCHEMA_FILENAME, default_directory, new_exercise
from grader.authoring.selftest import load_mutants, run_selftest
from grader.authoring.validate import validate_spec
from grader.cli import main
from grader.errors import UsageError
from grader.grading.run import grade
from grader.sandbox import SandboxFactory
from grader.spec.exercise import load_exercise

from .helpers import EXERCISES

FILES = ["README.md", "exercise.yaml", "mutants/mutants.yaml", "mutants/no_bang.diff",
         "mutants/wrong_route.diff", "solution.py", "starter.py"]


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_new_exercise_writes_a_valid_exercise(tmp_path: Path) -> None:
    folder = new_exercise("ex42", "Hello route", tmp_path)
    assert folder == tmp_path / "ex42"
    assert tree(folder) == FILES
    result = validate_spec(folder / "exercise.yaml")
    assert result.problems == ()
    ex = result.exercise
    assert ex is not None and (ex.id, ex.title) == ("ex42", "Hello route")
    assert ex.solution == (folder / "solution.py").resolve()
    assert [m.name for m in load_mutants(ex)] == ["no_bang.diff", "wrong_route.diff"]
    assert "grade submit ex42 app.py" in (folder / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("title", [
    'Quotes "and" colons: # too',  # YAML specials stay text
    "Zoë's café",  # non-ASCII
    "123",  # a title YAML would read as a number
])
def test_titles_round_trip(tmp_path: Path, title: str) -> None:
    folder = new_exercise("ex42", title, tmp_path)
    assert load_exercise(folder / "exercise.yaml").title == title


def test_the_schema_comes_along_for_editors(tmp_path: Path) -> None:
    folder = new_exercise("ex42", "T", tmp_path / "cat")
    first = (folder / "exercise.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=../{SCHEMA_FILENAME}"
    copied = tmp_path / "cat" / SCHEMA_FILENAME
    assert copied.read_bytes() == (EXERCISES / SCHEMA_FILENAME).read_bytes()
    json.loads(copied.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("exercise_id", "title", "problem"), [
    ("Ex 9", "T", "id: must be lowercase letters"),  # the parser's own id rule
    ("../escape", "T", "is not an exercise id"),  # never a path
    (".hidden", "T", "is not an exercise id"),
    ("ex42", "two\nlines", "one-line title"),
    ("ex42", "   ", "one-line title"),
])
def test_bad_input_writes_nothing(tmp_path: Path, exercise_id: str, title: str,
                                  problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        new_exercise(exercise_id, title, tmp_path / "cat")
    assert not (tmp_path / "cat").exists() and not (tmp_path / "escape").exists()


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "ex42").mkdir()
    (tmp_path / "ex42" / "mine.py").write_text("keep me")
    with pytest.raises(UsageError, match="already exists"):
        new_exercise("ex42", "T", tmp_path)
    assert tree(tmp_path / "ex42") == ["mine.py"]


def test_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GRADE_EXERCISES", raising=False)
    assert default_directory() == Path("exercises")
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path))
    assert default_directory() == tmp_path


def test_cli_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["new", "ex42", "--title", "Hello route", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"created {tmp_path / 'ex42'}/" in out
    assert f"grade selftest --dir {tmp_path} ex42" in out
    with pytest.raises(SystemExit) as info:
        main(["new", "ex42", "--title", "Again", "--dir", str(tmp_path)])
    assert info.value.code == 2
    assert "already exists" in capsys.readouterr().err


def test_new_then_selftest_by_id_with_the_same_dir(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADE_EXERCISES", raising=False)
    main(["new", "ex42", "--title", "Hello route", "--dir", str(tmp_path)])
    capsys.readouterr()
    main(["validate", "--dir", str(tmp_path), "ex42"])  # exits 0: returns
    out = capsys.readouterr().out
    assert "ok: 1 spec(s) valid" in out
    assert "README.md:1: warning: this is still the README `grade new` wrote" in out
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path))  # or by the environment
    main(["validate", "ex42"])
    assert "ok: 1 spec(s) valid" in capsys.readouterr().out


def test_a_rewritten_readme_is_not_warned_about(tmp_path: Path) -> None:
    folder = new_exercise("ex42", "T", tmp_path)
    readme = folder / "README.md"
    readme.write_text("\n".join(readme.read_text(encoding="utf-8").splitlines()[1:]))
    assert validate_spec(folder / "exercise.yaml").warnings == ()


def test_cli_new_needs_a_title(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["new", "ex42", "--dir", str(tmp_path)])
    assert info.value.code == 2
    assert "--title" in capsys.readouterr().err


def test_the_scaffold_spec_is_plain_yaml(tmp_path: Path) -> None:
    folder = new_exercise("ex42", "T", tmp_path)
    data = yaml.safe_load((folder / "exercise.yaml").read_text(encoding="utf-8"))
    assert [c["name"] for c in data["checks"]] == ["home page answers 200",
                                                    "home page says hello"]


@pytest.mark.docker
def test_the_scaffold_selftest_is_green(docker_client: docker.DockerClient,
                                        docker_sandboxes: SandboxFactory,
                                        no_leftover_containers: None,
                                        tmp_path: Path) -> None:
    folder = new_exercise("ex42", "Hello route", tmp_path)
    ex = load_exercise(folder / "exercise.yaml")
    result = run_selftest(ex, lambda e, p: grade(e, p, docker_sandboxes),
                          load_mutants(ex))
    assert result.ok, [(v.name, v.problems) for v in result.verdicts]
    assert result.uncaught == ()
    assert [v.role for v in result.verdicts] == ["solution", "starter", "mutant", "mutant"]
