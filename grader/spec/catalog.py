"""Find exercises: in the catalogues side by side, or any folder holding an exercise.yaml.

The catalogues are searched in order and the first that has an id wins: the
folders given with ``--dir`` (in the order given), then those in
``GRADE_EXERCISES`` (separated by ``os.pathsep``, ``:`` on Linux and macOS),
then the catalogue shipped with grade. So an instructor's catalogue adds to
the shipped one, and an instructor's exercise whose id is also a shipped one
replaces it; :func:`shadowed` lists such collisions, and the command line
warns about each one it uses, naming both folders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.common.data_files import data_path
from grader.errors import ExerciseNotFound
from grader.spec.exercise import SPEC_FILENAME, Exercise, load_exercise

Roots = Path | Sequence[Path] | None


@dataclass(frozen=True)
class Shadowed:
    """Two catalogues hold the same id: *used* is graded, *hidden* is not."""

    id: str
    used: Path  # the exercise's folder in the catalogue that wins
    hidden: Path  # the folder it hides

    def warning(self) -> str:
        return (f"exercise {self.id!r} is in two catalogues: using {self.used}, not "
                f"{self.hidden} (the first catalogue wins: --dir, then GRADE_EXERCISES, then "
                "the shipped one); give yours another id to keep both")


def roots(dirs: Sequence[Path] = ()) -> tuple[Path, ...]:
    """The catalogues, first wins: *dirs*, then GRADE_EXERCISES, then the shipped one.

    The environment is read when called, not at import.
    """
    listed = [*dirs, *(Path(p) for p in os.environ.get("GRADE_EXERCISES", "").split(os.pathsep)
                       if p)]
    found: list[Path] = []
    for root in [*listed, data_path("exercises")]:
        if not any(_same(root, seen) for seen in found):
            found.append(root)
    return tuple(found)


def instructor_roots(dirs: Sequence[Path] = ()) -> tuple[Path, ...]:
    """The catalogues other than the shipped one, in search order."""
    shipped = data_path("exercises")
    return tuple(r for r in roots(dirs) if not _same(r, shipped))


def exercises_root() -> Path:
    """The first instructor's catalogue (GRADE_EXERCISES), else the shipped one."""
    return roots()[0]


def available(root: Roots = None) -> list[str]:
    """The ids of every catalogue in *root* (default: :func:`roots`), sorted."""
    return sorted(located(root))


def shadowed(root: Roots = None) -> list[Shadowed]:
    """Every id that a catalogue earlier in the order takes from a later one."""
    first: dict[str, Path] = {}
    clashes = []
    for folder in as_roots(root):
        for name in _ids(folder):
            if name in first:
                clashes.append(Shadowed(name, first[name], folder / name))
            else:
                first[name] = folder / name
    return clashes


def find(name: str, root: Roots = None) -> Exercise:
    """An exercise by id (``ex02``) or by the path of its folder or spec file."""
    as_path = Path(name)
    if as_path.name == SPEC_FILENAME and as_path.is_file():
        return load_exercise(as_path)
    if (as_path / SPEC_FILENAME).is_file() and (os.sep in name or name.startswith(".")):
        return load_exercise(as_path / SPEC_FILENAME)
    specs = located(root)
    if "/" in name or name not in specs:
        listed = ", ".join(sorted(specs)) or "none"
        local = Path("exercises") / name / SPEC_FILENAME
        aside = (f" There is {local.parent}/ here: pass --dir exercises (or set "
                 "GRADE_EXERCISES) to add that catalogue." if "/" not in name and
                 local.is_file() else "")
        raise ExerciseNotFound(f"unknown exercise {name!r}. Available: {listed}. "
                               f"Run `grade list` to see them with their titles.{aside}")
    return load_exercise(specs[name])


def load_all(root: Roots = None) -> list[Exercise]:
    specs = located(root)
    return [load_exercise(specs[n]) for n in sorted(specs)]


def as_roots(root: Roots) -> tuple[Path, ...]:
    if root is None:
        return roots()
    if isinstance(root, Path):
        return (root,)
    return tuple(root)


def located(root: Roots = None) -> dict[str, Path]:
    """Each id's spec file, from the first catalogue that has it."""
    specs: dict[str, Path] = {}
    for folder in as_roots(root):
        for name in _ids(folder):
            specs.setdefault(name, folder / name / SPEC_FILENAME)
    return specs


def _ids(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / SPEC_FILENAME).is_file())


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
