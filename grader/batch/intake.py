"""Find the students in a class folder as an LMS exports it, and unpack each one safely.

Three layouts, also mixed: one subfolder per student (the app possibly one level
deeper, or a single .zip inside), one .py file per student, one .zip per
student. Uploads are as hostile as the code in them, so each of these is
refused *per student*, with a reason, and the batch goes on: zip entries that
escape the target folder (zip-slip), symlinks that point outside the
submission, zip bombs (too many entries, a suspicious compression ratio, too
many bytes once unpacked) and oversized uploads.

Nothing here runs student code; :func:`discover` only lists names and
:func:`unpack` only copies bytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.batch.names import display_names, shown, slug_for
from grader.batch.unzip import (
    MAX_ENTRIES,
    MAX_UNPACKED,
    MAX_UPLOAD,
    Rejected,
    is_junk,
    member_path,
    open_upload,
    unzip,
)
from grader.errors import SubmissionPathError
from grader.grading.staging import SKIP_DIRS

__all__ = ["BATCH_MARKER", "MAX_ENTRIES", "MAX_UNPACKED", "MAX_UPLOAD", "UNZIPPED", "Entry",
           "Listing", "Rejected", "discover", "is_junk", "member_path", "unpack", "unzip"]

BATCH_MARKER = ".grade-batch.json"  # marks a batch's output folder: never a student
UNZIPPED = "unzipped"  # the folder under unpack()'s *work* that archives go into
OTHER_ARCHIVES = (".rar", ".7z", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst")

# "special": a FIFO, socket or device named like an upload; "marked": a folder holding
# a batch's output marker. Both are refused as the student's row, never opened.
Kind = Literal["folder", "file", "zip", "archive", "link", "special", "marked"]


@dataclass(frozen=True)
class Entry:
    """One student's upload, as found; nothing is unpacked yet."""

    student: str  # the name shown in the gradebook, safe to print (names.shown)
    slug: str  # the student's one folder under students/ (names.slug_for)
    path: Path
    kind: Kind


@dataclass(frozen=True)
class Listing:
    entries: tuple[Entry, ...]
    skipped: tuple[str, ...]  # names that are not submissions (notes, CSV exports, ...)


def discover(root: Path, skip: Iterable[Path] = ()) -> Listing:
    """List the students in *root*, sorted by name; never reads their files.

    Only ``lstat`` is used on what the folder holds: a symlink (a loop too) is
    a student whose upload is refused, a FIFO named ``eve.zip`` is never opened.
    """
    if not root.is_dir():
        raise SubmissionPathError(
            f"{root}: not a folder. Pass the folder that holds one subfolder, .py file or "
            ".zip file per student (as exported from your LMS).")
    ignored = {ident for p in skip if (ident := _identity(p)) is not None}
    found: list[tuple[str, Path, Kind]] = []
    skipped: list[str] = []
    try:
        children = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError as e:
        raise SubmissionPathError(f"{root}: cannot be read ({e.strerror}); check its "
                                  "permissions") from e
    for path in children:
        name = path.name
        if is_junk(name) or (name.startswith(".") and name in SKIP_DIRS):
            continue
        try:
            mode = path.lstat().st_mode
        except OSError:
            skipped.append(shown(name))  # gone since it was listed
            continue
        if _identity(path) in ignored:
            continue  # the batch's own output folder
        suffix = path.suffix.lower()
        stem = path.stem if suffix in (".py", ".zip") else name
        if name.startswith("."):
            skipped.append(shown(name))  # .Trashes, .ipynb_checkpoints, ...: listed, not graded
        elif stat.S_ISLNK(mode):
            found.append((name, path, "link"))
        elif stat.S_ISDIR(mode):
            found.append((name, path, "marked" if _marked(path) else "folder"))
        elif suffix in (".py", ".zip") and not stat.S_ISREG(mode):
            found.append((stem, path, "special"))
        elif not stat.S_ISREG(mode):
            skipped.append(shown(name))
        elif suffix == ".py":
            found.append((stem, path, "file"))
        elif suffix == ".zip":
            found.append((stem, path, "zip"))
        elif name.lower().endswith(OTHER_ARCHIVES):
            found.append((name, path, "archive"))
        else:
            skipped.append(shown(name))
    return Listing(_name(found), tuple(skipped))


def _identity(path: Path) -> tuple[int, int] | None:
    """The folder *path* is (or points to), by device and inode; None if unreachable."""
    try:
        st = path.stat()
    except (OSError, RuntimeError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _marked(folder: Path) -> bool:
    return os.path.lexists(folder / BATCH_MARKER)


def _hidden(name: str) -> bool:
    return is_junk(name) or name.startswith(".")


def _name(found: list[tuple[str, Path, Kind]]) -> tuple[Entry, ...]:
    """One unique name, slug and shown name per student.

    ``alice.py`` next to ``alice/`` are two students, named by their full file
    names; this repeats until no two names are equal, because a full name may be
    another's stem (``alice.py`` the folder next to ``alice.py.py``). File names
    in one folder differ, so it ends.
    """
    full = [False] * len(found)
    while True:
        names = [path.name if full[i] else n for i, (n, path, _) in enumerate(found)]
        counts: dict[str, int] = {}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        clashing = [i for i, n in enumerate(names) if counts[n] > 1 and not full[i]]
        if not clashing:
            break
        for i in clashing:
            full[i] = True
    slugs = [slug_for(n) for n in names]
    shown_names = display_names(names, slugs)
    entries = [Entry(shown_names[i], slugs[i], path, kind)
               for i, (_, path, kind) in enumerate(found)]
    return tuple(sorted(entries, key=lambda e: (e.student.lower(), e.slug)))


def unpack(entry: Entry, work: Path) -> Path:
    """The .py file or folder to grade for *entry*; archives are unpacked under *work*."""
    path = entry.path
    label = shown(path.name)
    if entry.kind == "link":
        raise Rejected(f"{label}: a symbolic link; the grader takes only real files and "
                       "folders. Copy the submission in instead.")
    if entry.kind == "special":
        with open_upload(path):  # refuses it, saying what it is
            raise Rejected(f"{label}: not a regular file")
    if entry.kind == "marked":
        raise Rejected(f"{label}: holds {BATCH_MARKER}, the marker of a `grade batch` output "
                       "folder, so it is not graded. If it is a student's upload, remove that "
                       "file; if it is an earlier batch's results, move it out of the class "
                       "folder.")
    if entry.kind == "archive":
        raise Rejected(f"{label}: a {_archive_type(path.name)} archive, which the grader "
                       "does not open; upload a .zip, a .py file or a folder")
    if entry.kind == "file":
        with open_upload(path) as fh:
            if not fh.read(1):
                raise Rejected(f"{label}: the file is empty; submit your app's code")
        return path
    if entry.kind == "zip":
        return _located(unzip(path, work / UNZIPPED), label)
    reject_links_outside(path)
    children = _listdir(path)
    zips = [c for c in children if c.suffix.lower() == ".zip" and _is_regular(c)]
    if (len(zips) == 1 and not any(c.is_dir() for c in children)
            and not any(c.suffix == ".py" for c in children)):
        # LMS exports put the uploaded file in the student's folder: grade the .zip in it.
        return _located(unzip(zips[0], work / UNZIPPED), f"{label}/{shown(zips[0].name)}")
    return _located(path, label)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _located(folder: Path, label: str) -> Path:
    """*folder*, or its only subfolder when the app is nested one level deeper."""
    children = _listdir(folder)
    if not any(c.suffix == ".py" and _is_regular(c) for c in children):
        dirs = [c for c in children if c.is_dir() and not c.is_symlink()]
        if len(dirs) == 1:
            folder = dirs[0]
    if not _has_python(folder):
        raise Rejected(f"{label}: no .py file in the submission; submit your app's code "
                       "(a .py file, or a folder or .zip that holds it)")
    return folder


def _listdir(folder: Path) -> list[Path]:
    try:
        return sorted(c for c in folder.iterdir() if not _hidden(c.name))
    except OSError as e:
        raise Rejected(f"{shown(folder.name)}: cannot be read ({e.strerror}); check its "
                       "permissions") from e


def _has_python(folder: Path) -> bool:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not _hidden(d)]
        if any(f.endswith(".py") and _is_regular(Path(dirpath) / f) for f in filenames):
            return True
    return False


def _archive_type(name: str) -> str:
    lower = name.lower()
    return next((s[1:] for s in OTHER_ARCHIVES if lower.endswith(s)), "compressed")


# -- symlinks ------------------------------------------------------------------


def reject_links_outside(root: Path) -> None:
    """Refuse *root* if a symlink in it points outside it (staging drops the others).

    A link is judged by its text and by where it leads, both: an absolute one
    or one that climbs out is refused. A loop (``a -> b``, ``b -> a``) is just
    data, and must not raise: ``Path.resolve()`` raised RuntimeError on one.
    """
    top = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinks
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                continue
            try:
                target = os.readlink(path)
            except OSError:
                continue  # gone: staging skips it too
            rel = path.relative_to(root)
            inside = os.path.normpath(os.path.join("/submission", rel.parent.as_posix(),
                                                   target))
            real = os.path.realpath(path)  # a loop ends where it loops: no error
            if (target.startswith("/") or not f"{inside}/".startswith("/submission/")
                    or not f"{real}/".startswith(f"{top}/")):
                raise Rejected(f"{shown(root.name)}: {shown(rel.as_posix())} is a symbolic "
                               f"link to {shown(target)}, outside the submission; submit "
                               "real files only")
