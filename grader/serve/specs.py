"""Spec versions: each exercise folder is copied once under DATA/specs/<sha256>/ and kept.

The SHA-256 covers every file's relative path and bytes, so an edited README
or a new fixture file is a new version too. A stored folder is never changed:
a grading names the version it used, and a regrade can use any of them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from grader.errors import SpecError
from grader.spec.exercise import SPEC_FILENAME, Exercise, load_exercise

MAX_SPEC_FILES = 2000
MAX_SPEC_BYTES = 50 << 20
SKIP = frozenset({"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".DS_Store"})


def folder_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for rel, path in _files(folder):
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def store(specs_dir: Path, folder: Path) -> tuple[str, Path]:
    """Copy the exercise *folder* under *specs_dir*; returns (sha256, stored folder).

    Storing the same folder again changes nothing. The copy is made beside its
    final place and renamed into it, so a stored version is whole or absent.
    """
    if not (folder / SPEC_FILENAME).is_file():
        raise SpecError(str(folder), None, "", f"has no {SPEC_FILENAME}: an exercise folder "
                        "holds its spec file at the top")
    sha = folder_sha256(folder)
    final = specs_dir / sha
    if final.is_dir():
        return sha, final
    specs_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=specs_dir))
    try:
        for rel, path in _files(folder):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # another process stored the same version first: fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sha, final


def spec_path(specs_dir: Path, sha256: str) -> Path:
    return specs_dir / sha256 / SPEC_FILENAME


def load(specs_dir: Path, sha256: str) -> Exercise:
    return load_exercise(spec_path(specs_dir, sha256))


def _files(folder: Path) -> list[tuple[str, Path]]:
    """Regular files under *folder* (no links), sorted by relative path; size-capped."""
    found: list[tuple[str, Path]] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP
                             and not os.path.islink(os.path.join(dirpath, d)))
        for name in filenames:
            path = Path(dirpath) / name
            if name in SKIP or path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            found.append((path.relative_to(folder).as_posix(), path))
            if len(found) > MAX_SPEC_FILES or total > MAX_SPEC_BYTES:
                raise SpecError(str(folder), None, "", f"is too large to store (more than "
                                f"{MAX_SPEC_FILES} files or {MAX_SPEC_BYTES >> 20} MiB)")
    return sorted(found)
