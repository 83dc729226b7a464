"""Finding exercises: by id in the catalogue, or by the path of a folder or spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.common.data_files import data_path
from grader.errors import ExerciseNotFound, SpecError, UsageError
from grader.spec import catalog

SHIPPED = data_path("exercises")

SHIPPED_IDS = [f"ex0{n}" for n in range(1, 9)] + ["ex10"]


def spec_text(ex_id: str, title: str = "An exercise") -> str:
    return f"id: {ex_id}\ntitle: {title}\nchecks:\n  - name: home\n    request: {{path: /}}\n"


def make_catalogue(root: Path, *ids: str) -> Path:
    for ex_id in ids:
        (root / ex_id).mkdir(parents=True)
        (root / ex_id / "exercise.yaml").write_text(spec_text(ex_id, f"Title {ex_id}"))
    return root


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalogue in tmp_path that GRADE_EXERCISES points at."""
    cat = make_catalogue(tmp_path / "cat", "zz9", "aa1")
    (cat / "notes").mkdir()  # a folder without a spec is not an exercise
    (cat / "README.md").write_text("hi")  # nor is a file
    (cat / "half").mkdir()
    (cat / "half" / "exercise.yml").write_text(spec_text("half"))  # wrong file name
    monkeypatch.setenv("GRADE_EXERCISES", str(cat))
    monkeypatch.chdir(tmp_path)  # relative names must not find the catalogue by accident
    return cat


def test_available_lists_exercise_folders_sorted(root: Path) -> None:
    assert catalog.available() == ["aa1", "zz9"]
    assert catalog.exercises_root() == root


def test_the_environment_is_read_when_called(root: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADE_EXERCISES")
    assert catalog.exercises_root() == SHIPPED
    assert catalog.available() == SHIPPED_IDS


def test_available_of_a_missing_folder_is_empty(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path / "nothing"))
    assert catalog.available() == []


def test_an_explicit_root_wins(root: Path, tmp_path: Path) -> None:
    other = make_catalogue(tmp_path / "other", "bb2")
    assert catalog.available(other) == ["bb2"]
    assert catalog.find("bb2", other).title == "Title bb2"


def test_find_by_id(root: Path) -> None:
    ex = catalog.find("zz9")
    assert (ex.id, ex.title, ex.spec_path) == ("zz9", "Title zz9", root / "zz9" / "exercise.yaml")


@pytest.mark.parametrize("name", [
    "nope",  # not there
    "notes",  # a folder without a spec
    "half",  # a spec with the wrong file name
    "../cat/zz9",  # a relative path that is not there is not an id either
    "zz9/",  # nor carry a slash
])
def test_an_unknown_id_lists_the_available_ones(root: Path, name: str) -> None:
    with pytest.raises(ExerciseNotFound) as info:
        catalog.find(name)
    message = str(info.value)
    assert f"unknown exercise {name!r}" in message
    assert "Available: aa1, zz9." in message
    assert "grade list" in message
    assert isinstance(info.value, UsageError)


def test_an_empty_catalogue_says_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADE_EXERCISES", str(tmp_path))
    with pytest.raises(ExerciseNotFound, match="Available: none"):
        catalog.find("ex01")


def test_find_by_folder_path(root: Path, tmp_path: Path) -> None:
    elsewhere = make_catalogue(tmp_path / "elsewhere", "mine")
    ex = catalog.find(str(elsewhere / "mine"))
    assert ex.id == "mine" and ex.directory == elsewhere / "mine"


def test_find_by_spec_path(root: Path, tmp_path: Path) -> None:
    elsewhere = make_catalogue(tmp_path / "elsewhere", "mine")
    assert catalog.find(str(elsewhere / "mine" / "exercise.yaml")).id == "mine"


def test_find_by_relative_paths(root: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    make_catalogue(tmp_path / "elsewhere", "mine")
    monkeypatch.chdir(tmp_path / "elsewhere" / "mine")
    assert catalog.find(".").id == "mine"  # the current folder
    assert catalog.find("exercise.yaml").id == "mine"  # a spec file here
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert catalog.find("./mine").id == "mine"  # a relative folder


def test_a_bare_folder_name_is_an_id_not_a_path(root: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    make_catalogue(tmp_path / "elsewhere", "mine")
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(ExerciseNotFound):
        catalog.find("mine")


def test_a_broken_spec_is_a_spec_error(root: Path) -> None:
    (root / "aa1" / "exercise.yaml").write_text("id: aa1\ntitle: x\nchecks: nope\n")
    with pytest.raises(SpecError, match=r"aa1/exercise.yaml:3: checks: must be a list"):
        catalog.find("aa1")
    with pytest.raises(SpecError):
        catalog.load_all()


def test_load_all(root: Path) -> None:
    assert [ex.id for ex in catalog.load_all()] == ["aa1", "zz9"]


def test_the_shipped_catalogue_loads() -> None:
    assert [ex.id for ex in catalog.load_all(SHIPPED)] == SHIPPED_IDS
