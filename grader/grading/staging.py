"""Stage a student's submission: copy exactly what is graded into a private folder.

Only this copy is mounted into the sandbox, read-only. Staging drops symlinks,
caches and virtualenvs, caps sizes, and never copies a spec file, so a
submission that sits next to an exercise's spec cannot see it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionPathError
from grader.spec.exercise import SPEC_FILENAME

MAX_FILES = 500
MAX_BYTES = 10 << 20
SKIP_DIRS = frozenset({".git", ".hg", "__pycache__", ".venv", "venv", "env", "node_modules",
                       "instance", "__MACOSX", ".pytest_cache", ".mypy_cache", ".idea",
                       ".vscode"})
SKIP_FILES = frozenset({".DS_Store", "Thumbs.db", SPEC_FILENAME})


@dataclass(frozen=True)
class Staged:
    source: Path
    folder: Path
    sha256: str
    files: tuple[str, ...]


def stage(source: Path, dest: Path) -> Staged:
    """Copy the .py file or folder *source* into the new folder *dest*."""
    if not source.exists():
        raise SubmissionPathError(f"{source}: no such file or folder. Pass your app's .py file "
                                  "or the folder that holds it.")
    dest.mkdir(parents=True)
    if source.is_file():
        if source.suffix != ".py":
            raise SubmissionPathError(f"{source}: not a Python file. Pass a .py file or a folder.")
        files = [(source, source.name)]
    elif source.is_dir():
        files = list(_walk(source))
    else:
        raise SubmissionPathError(f"{source}: not a regular file or folder")
    digest = hashlib.sha256()
    total = 0
    for path, rel in sorted(files, key=lambda f: f[1]):
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SubmissionPathError(f"{path}: cannot be read ({e.strerror}); check its "
                                      "permissions") from e
        total += len(data)
        if total > MAX_BYTES:
            raise SubmissionPathError(f"{source}: more than {MAX_BYTES >> 20} MiB of files; "
                                      "submit only your app's code and templates")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    _open_up(dest)
    return Staged(source, dest, digest.hexdigest(), tuple(sorted(r for _, r in files)))


def _walk(root: Path) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinks
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                             and not os.path.islink(os.path.join(dirpath, d)))
        for name in filenames:
            path = Path(dirpath) / name
            if name in SKIP_FILES or name.endswith((".pyc", ".db")):
                continue
            if not stat.S_ISREG(path.lstat().st_mode):
                continue  # symlinks, FIFOs, sockets, devices: never followed or read
            found.append((path, path.relative_to(root).as_posix()))
            if len(found) > MAX_FILES:
                raise SubmissionPathError(f"{root}: more than {MAX_FILES} files; submit only "
                                          "your app's code and templates")
    return found


def _open_up(folder: Path) -> None:
    """Readable by the sandbox user, writable by nobody but the grader."""
    os.chmod(folder, 0o755)
    for dirpath, dirnames, filenames in os.walk(folder):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
