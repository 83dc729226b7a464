"""``grade check``'s config file: which exercise lives where, and the score it needs.

The repository holds a small config file (``grade.yaml``)::

    exercises:
      ex01: hello.py            # short form: just the path
      ex02:
        path: greet/
        min_score: 80%          # points, or a percentage of the maximum
    min_score: 5                # optional default for every exercise

The file only picks paths and thresholds: the checks come from the
instructor's catalogue (see grader/spec/pinned.py). Configuration is layered:
defaults (full marks) < the file < ``--min-score``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from grader.common.text import rooted
from grader.errors import SubmissionPathError
from grader.spec.exercise import EXERCISE_ID
from grader.spec.yamlnodes import Field, load_document

CONFIG_NAMES = ("grade.yaml", "grade.yml")
_CONFIG_TOP = frozenset({"exercises", "min_score"})
_ENTRY = frozenset({"path", "min_score"})
EXAMPLE = "exercises:\n  ex01: hello.py\n  ex02: {path: greet/, min_score: 5}"


# -- minimum scores -------------------------------------------------------------------------


@dataclass(frozen=True)
class MinScore:
    """Points an exercise needs: absolute, or a percentage of its maximum."""

    value: float
    percent: bool = False

    def points(self, max_score: float) -> float:
        return round(max_score * self.value / 100, 2) if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"


def parse_min_score(text: str) -> MinScore:
    """``5``, ``4.5`` or ``80%``; ValueError says what is wrong."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of points or a percentage "
                         "(e.g. 5 or 80%)") from None
    if not value >= 0 or (percent and value > 100):
        raise ValueError(f"{text!r} must be between 0 and {'100%' if percent else 'the maximum'}")
    return MinScore(value, percent)


def min_score_option(ctx: click.Context, param: click.Parameter, value: str | None
                     ) -> MinScore | None:
    """Click callback for ``--min-score``: reject bad input with a clear message."""
    if value is None:
        return None
    try:
        return parse_min_score(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from e


# -- the config file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """One exercise of the repository: which one, where, and what it needs."""

    exercise: str
    path: Path  # absolute
    min_score: MinScore | None
    line: int  # of the path, in the config file
    given: str = ""  # the path as written there


@dataclass(frozen=True)
class CheckConfig:
    path: Path
    assignments: tuple[Assignment, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent


def find_config(given: Path | None) -> Path:
    """The config file: *given*, else grade.yaml (or grade.yml) in the current folder."""
    if given is not None:
        if not given.is_file():
            raise SubmissionPathError(f"{given}: no such config file. {_config_help()}")
        return given
    for name in CONFIG_NAMES:
        if Path(name).is_file():
            return Path(name)
    raise SubmissionPathError(f"no {CONFIG_NAMES[0]} in {Path.cwd()}. {_config_help()}")


def _config_help() -> str:
    return ("`grade check` reads a config file in your repository that says which exercise "
            f"lives where, for example:\n\n{EXAMPLE}\n\nCreate grade.yaml at the top of the "
            "repository, or pass --config PATH.")


def load_config(path: Path) -> CheckConfig:
    """Parse the config file; every problem is reported as ``file:line: field: problem``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SubmissionPathError(f"{path}: cannot be read ({e}).") from e
    top = load_document(text, str(path)).mapping(_CONFIG_TOP)
    default = _min_score(top.get("min_score"))
    entries = top.require("exercises").mapping()
    if not entries.items:
        raise entries.field.fail(f"lists no exercise; for example:\n{EXAMPLE}")
    assignments = []
    for ex_id, entry in entries:
        if not EXERCISE_ID.match(ex_id):
            raise entry.fail("exercise ids are lowercase letters, digits, - and _ (e.g. ex01)")
        if isinstance(entry.node.value, str):
            where, needs = entry, default
        else:
            m = entry.mapping(_ENTRY)
            where = m.require("path")
            needs = _min_score(m.get("min_score")) or default
        given = where.string()
        assignments.append(Assignment(ex_id, _inside(repository_root(path), path, given, where),
                                      needs, where.line, given))
    return CheckConfig(path, tuple(assignments))


def repository_root(config: Path) -> Path:
    """The repository the config belongs to: the CI checkout holding it, else its git
    top level, else its own folder. Only what lies inside is graded."""
    folder = config.resolve().parent
    for var in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        if value := os.environ.get(var):
            workspace = Path(value).resolve()
            if folder.is_relative_to(workspace):
                return workspace
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def _inside(root: Path, config: Path, given: str, where: Field) -> Path:
    """*given* (relative to the config file) resolved, refused if it leaves *root*."""
    if rooted(given) or given.startswith("~"):
        raise where.fail(f"{given!r} must be a path relative to the config file, inside "
                         "the repository")
    try:
        resolved = (config.resolve().parent / given).resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop, a name too long, ...
        raise where.fail(f"{given!r} cannot be resolved ({type(e).__name__}); fix the path "
                         "or the symlinks on it") from e
    if not resolved.is_relative_to(root):
        raise where.fail(f"{given!r} leaves the repository (through '..' or a symlink); "
                         "only files inside the repository are graded")
    return resolved


def _min_score(f: Field | None) -> MinScore | None:
    if f is None:
        return None
    if not isinstance(f.node.value, str):  # a list or mapping, maybe of aliases
        raise f.fail("must be a number of points or a percentage, such as 5 or 80%")
    try:
        return parse_min_score(f.node.value)
    except ValueError as e:
        raise f.fail(str(e)) from e


def check_paths(config: CheckConfig) -> None:
    """Every path must exist; all missing ones are named at once."""
    missing = [f"{config.path}:{a.line}: {a.exercise}: {a.given} does not exist ({a.path})"
               for a in config.assignments if not a.path.exists()]
    if missing:
        raise SubmissionPathError("\n".join(missing) + "\nFix the paths in the config file "
                                  "(they are relative to it), or add the missing files.")
