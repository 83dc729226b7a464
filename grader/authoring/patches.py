"""Mutants written as small patches (unified diffs) against the reference solution.

A mutant that changes one line is easier to read, and stays in step with the
solution, as a three-line diff than as a full copy. ``mutants/no_bang.diff``::

    --- solution.py
    +++ solution.py
    @@ -6,2 +6,2 @@
     def home():
    -    return 'Hello from ex09!'
    +    return 'Hello from ex09'

The file names in the headers are paths inside the solution: the solution
file's own name, or a file of a folder solution (``a/`` and ``b/`` prefixes,
as git writes them, are dropped). A hunk must match the solution where it
says, or near it; otherwise the patch does not apply and validate says so.
The mutant is the solution with the patch applied, written to a fresh folder
under the same file names, so it is graded like any submission.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

PATCH_SUFFIXES = (".diff", ".patch")
MAX_PATCH = 256 * 1024  # characters: a mutant's patch is a few lines
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    """A patch that does not parse or does not apply; *line* is in the patch file."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Hunk:
    line: int  # of its @@ header in the patch file
    old_start: int
    old: tuple[str, ...]  # context and removed lines, as in the solution
    new: tuple[str, ...]  # context and added lines, as in the mutant


@dataclass(frozen=True)
class FilePatch:
    path: str  # inside the solution, '/'-separated
    line: int
    hunks: tuple[Hunk, ...]


def is_patch(path: Path) -> bool:
    return path.suffix in PATCH_SUFFIXES


def parse(text: str) -> tuple[FilePatch, ...]:
    """The files of a unified diff, each with its hunks."""
    if len(text) > MAX_PATCH:
        raise PatchError(1, f"is larger than {MAX_PATCH >> 10} KiB; a mutant's patch is a "
                            "few lines")
    lines = text.splitlines()
    files: list[FilePatch] = []
    n = 0
    while n < len(lines):
        if not lines[n].startswith("--- "):
            n += 1
            continue
        if n + 1 >= len(lines) or not lines[n + 1].startswith("+++ "):
            raise PatchError(n + 1, "a '--- FILE' line must be followed by '+++ FILE'")
        path, start = _name(lines[n + 1][4:], n + 2), n + 1
        n += 2
        hunks: list[Hunk] = []
        while n < len(lines) and (found := _HUNK.match(lines[n])):
            hunk, n = _hunk(lines, n, found)
            hunks.append(hunk)
        if not hunks:
            raise PatchError(n + 1 if n < len(lines) else n, f"no '@@ -L,N +L,N @@' hunk for "
                                                              f"{path}")
        files.append(FilePatch(path, start, tuple(hunks)))
    if not files:
        raise PatchError(1, "is not a unified diff: no '--- FILE' and '+++ FILE' lines. Make "
                            "one with `diff -u solution.py mutant.py`")
    return tuple(files)


def _name(raw: str, line: int) -> str:
    name = raw.split("\t")[0].strip()
    if name.startswith(("a/", "b/")):
        name = name[2:]
    parts = name.split("/")
    if not name or name.startswith("/") or ".." in parts or name == "/dev/null":
        raise PatchError(line, f"names {name!r}; a mutant's patch changes files of the "
                               "solution, named by their path inside it")
    return name


def _hunk(lines: list[str], n: int, found: re.Match[str]) -> tuple[Hunk, int]:
    header = n + 1
    old_count = int(found.group(2)) if found.group(2) is not None else 1
    new_count = int(found.group(4)) if found.group(4) is not None else 1
    old: list[str] = []
    new: list[str] = []
    n += 1
    while n < len(lines) and (len(old) < old_count or len(new) < new_count):
        text = lines[n]
        mark, body = (text[:1], text[1:]) if text else (" ", "")
        if mark == " ":
            old.append(body)
            new.append(body)
        elif mark == "-":
            old.append(body)
        elif mark == "+":
            new.append(body)
        elif mark != "\\":  # "\ No newline at end of file"
            raise PatchError(n + 1, "a hunk's lines start with ' ', '-' or '+'")
        n += 1
    if len(old) != old_count or len(new) != new_count:
        raise PatchError(header, f"the hunk promises {old_count} old and {new_count} new "
                                 f"lines but holds {len(old)} and {len(new)}")
    while n < len(lines) and lines[n].startswith("\\"):
        n += 1
    return Hunk(header, int(found.group(1)), tuple(old), tuple(new)), n


def apply(original: str, patch: FilePatch) -> str:
    """*original* with *patch*'s hunks applied, each where it matches nearest."""
    lines = original.splitlines()
    shift = 0
    for hunk in patch.hunks:
        at = _locate(lines, hunk, max(hunk.old_start - 1 + shift, 0))
        if at is None:
            raise PatchError(hunk.line, f"does not apply to {patch.path}: the lines of this "
                                        "hunk are not in the solution (was it changed after "
                                        "the patch was made?)")
        lines[at:at + len(hunk.old)] = hunk.new
        shift += len(hunk.new) - len(hunk.old)
    return "\n".join(lines) + ("\n" if original.endswith("\n") or not original else "")


def _locate(lines: list[str], hunk: Hunk, near: int) -> int | None:
    size = len(hunk.old)
    for distance in range(len(lines) + 1):
        for at in (near - distance, near + distance):
            if 0 <= at <= len(lines) - size and tuple(lines[at:at + size]) == hunk.old:
                return at
    return None


def check(patch_file: Path, solution: Path) -> None:
    """Raise PatchError unless *patch_file* applies to *solution* (a .py file or folder)."""
    for fp in parse(patch_file.read_text(encoding="utf-8")):
        apply(_target(solution, fp).read_text(encoding="utf-8"), fp)


def materialize(patch_file: Path, solution: Path, into: Path) -> Path:
    """Write the mutant (the solution, patched) under *into*; return the submission."""
    files = parse(patch_file.read_text(encoding="utf-8"))
    if solution.is_dir():
        submission = into / solution.name
        shutil.copytree(solution, submission, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        submission = into / solution.name
        shutil.copyfile(solution, submission)
    for fp in files:
        source = _target(solution, fp)
        written = submission if not solution.is_dir() else submission / fp.path
        written.write_text(apply(source.read_text(encoding="utf-8"), fp), encoding="utf-8")
    return submission


def _target(solution: Path, fp: FilePatch) -> Path:
    if solution.is_dir():
        target = (solution / fp.path).resolve()
        if not target.is_relative_to(solution.resolve()) or not target.is_file():
            raise PatchError(fp.line, f"changes {fp.path!r}, which is not a file of the "
                                      f"solution {solution.name}/")
        return target
    if Path(fp.path).name != solution.name:
        raise PatchError(fp.line, f"changes {fp.path!r}, but the solution is the one file "
                                  f"{solution.name}; name it in the '---' and '+++' lines")
    return solution
