"""Stage a student's submission: copy exactly what is graded into a private folder.

Only this copy goes into the sandbox. Staging drops symlinks, caches,
virtualenvs and SQLite files, caps sizes, and never copies a spec file, so a
submission that sits next to an exercise's spec cannot see it. It keeps what
`flask run` would read: ``.env``, ``.flaskenv`` and ``instance/``. A folder
whose only content is one sub-folder (``Zoë Lefèvre/app.py``) is staged from
inside that sub-folder, as the student's app sees it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from grader.common.text import safe_text
from grader.errors import SubmissionPathError
from grader.spec.exercise import SPEC_FILENAME

MAX_FILES = 500
MAX_BYTES = 10 << 20
_CHUNK = 1 << 16  # bytes copied at a time
SKIP_DIRS = frozenset({".git", ".hg", "__pycache__", ".venv", "venv", "env", "node_modules",
                       "__MACOSX", ".pytest_cache", ".mypy_cache", ".idea",
                       ".vscode"})
SKIP_FILES = frozenset({".DS_Store", "Thumbs.db", SPEC_FILENAME})


@dataclass(frozen=True)
class Staged:
    source: Path
    folder: Path
    sha256: str
    files: tuple[str, ...]
    inside: str = ""  # the lone sub-folder of *source* that was staged, if any


def stage(source: Path, dest: Path) -> Staged:
    """Copy the .py file or folder *source* into the new folder *dest*."""
    if not source.exists():
        raise SubmissionPathError(f"{source}: no such file or folder. Pass your app's .py file "
                                  "or the folder that holds it.")
    dest.mkdir(parents=True)
    inner = source
    if source.is_file():
        if source.suffix != ".py":
            raise SubmissionPathError(f"{source}: not a Python file. Pass a .py file or a folder.")
        files = [(source, source.name)]
    elif source.is_dir():
        inner = _lone_folder(source)
        files = list(_walk(inner))
    else:
        raise SubmissionPathError(f"{source}: not a regular file or folder")
    digest = hashlib.sha256()
    budget = MAX_BYTES
    names: dict[str, str] = {}
    for path, rel in sorted(files, key=lambda f: f[1]):
        rel = _normal_name(rel, names, source)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        file_digest, size = _copy(path, target, budget, source)
        budget -= size
        # Names that are not UTF-8 arrive as surrogate escapes: hash their real bytes.
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + file_digest)
    _open_up(dest)
    inside = inner.relative_to(source).as_posix() if inner != source else ""
    return Staged(source, dest, digest.hexdigest(), tuple(sorted(names)),
                  unicodedata.normalize("NFC", inside))


def _lone_folder(folder: Path) -> Path:
    """*folder*, or its only sub-folder when *folder* holds no .py file beside it.

    A package (a sub-folder with ``__init__.py``) is imported from *folder*, so
    it is never stepped into.
    """
    try:
        children = [c for c in folder.iterdir() if c.name not in SKIP_DIRS
                    and c.name not in SKIP_FILES and not c.name.startswith(".")]
    except OSError as e:
        raise SubmissionPathError(f"{safe_text(str(folder), 500)}: cannot be read "
                                  f"({e.strerror}); check its permissions") from e
    dirs = [c for c in children if stat.S_ISDIR(c.lstat().st_mode)]
    if len(dirs) != 1 or any(c.suffix == ".py" for c in children) \
            or (dirs[0] / "__init__.py").exists():
        return folder
    return dirs[0]


def _normal_name(rel: str, seen: dict[str, str], source: Path) -> str:
    """*rel* in NFC, the form source code spells names in.

    macOS zips and folders store names decomposed (NFD), and its file systems
    match either form, so ``render_template("café.html")`` worked for the
    student; on Linux it would not find ``cafe\u0301.html`` without this.
    """
    normal = unicodedata.normalize("NFC", rel)
    if normal in seen:
        raise SubmissionPathError(
            f"{source}: {safe_text(seen[normal], 200)!r} and {safe_text(rel, 200)!r} are "
            "the same name written two ways (Unicode normalization); keep only one")
    seen[normal] = rel
    return normal


def _copy(path: Path, target: Path, budget: int, source: Path) -> tuple[bytes, int]:
    """Copy *path* to *target* in chunks, stopping once *budget* bytes are passed.

    Memory stays flat whatever the file's size (a sparse 40 GB file once made
    staging run out of memory); returns the file's sha256 and its size.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        # O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a FIFO since the walk
        # is refused at once instead of followed or waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as src, open(target, "xb") as out:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SubmissionPathError(f"{safe_text(str(path), 500)}: not a regular file; "
                                          "submit real files only")
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                if size > budget:
                    raise SubmissionPathError(
                        f"{source}: more than {MAX_BYTES >> 20} MiB of files (stopped at "
                        f"{safe_text(path.name, 200)!r}); submit only your app's code and "
                        "templates")
                digest.update(chunk)
                out.write(chunk)
    except OSError as e:
        raise SubmissionPathError(f"{safe_text(str(path), 500)}: cannot be read "
                                  f"({e.strerror}); check its permissions") from e
    return digest.digest(), size


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
