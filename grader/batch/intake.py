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

import hashlib
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from grader.common.text import safe_text
from grader.errors import SubmissionPathError
from grader.grading.staging import MAX_BYTES, SKIP_DIRS
from grader.reports.html import safe_name

MAX_UPLOAD = 20 << 20  # bytes of one uploaded .zip or .py file
MAX_UNPACKED = MAX_BYTES  # bytes once unpacked; the same cap staging applies
MAX_ENTRIES = 2000  # members of one .zip (staging itself keeps at most 500 files)
MAX_RATIO = 100  # uncompressed / compressed size of one member ...
RATIO_FLOOR = 1 << 20  # ... checked only for members larger than this
MAX_LINK = 4096  # bytes of a symlink target stored in a .zip
JUNK = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", ".git", ".svn",
                  ".hg", ".idea", ".vscode", "__pycache__"})
BATCH_MARKER = ".grade-batch.json"  # marks a batch's output folder: never a student
UNZIPPED = "unzipped"  # the folder under unpack()'s *work* that archives go into
OTHER_ARCHIVES = (".rar", ".7z", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst")

Kind = Literal["folder", "file", "zip", "archive", "link"]


class Rejected(SubmissionPathError):
    """One student's upload is refused; the batch records the reason and goes on."""


@dataclass(frozen=True)
class Entry:
    """One student's upload, as found; nothing is unpacked yet."""

    student: str  # the name shown in the gradebook
    slug: str  # a file-system-safe, unique name for the student's results
    path: Path
    kind: Kind


@dataclass(frozen=True)
class Listing:
    entries: tuple[Entry, ...]
    skipped: tuple[str, ...]  # names that are not submissions (notes, CSV exports, ...)


def discover(root: Path, skip: Iterable[Path] = ()) -> Listing:
    """List the students in *root*, sorted by name; never reads their files."""
    if not root.is_dir():
        raise SubmissionPathError(
            f"{root}: not a folder. Pass the folder that holds one subfolder, .py file or "
            ".zip file per student (as exported from your LMS).")
    ignored = {p.resolve() for p in skip}
    found: list[tuple[str, Path, Kind]] = []
    skipped: list[str] = []
    try:
        children = sorted(root.iterdir(), key=lambda p: p.name)
    except OSError as e:
        raise SubmissionPathError(f"{root}: cannot be read ({e.strerror}); check its "
                                  "permissions") from e
    for path in children:
        name = path.name
        if _hidden(name) or path.resolve() in ignored or (path / BATCH_MARKER).exists():
            continue
        suffix = path.suffix.lower()
        if path.is_symlink():
            found.append((name, path, "link"))
        elif path.is_dir():
            found.append((name, path, "folder"))
        elif suffix == ".py":
            found.append((path.stem, path, "file"))
        elif suffix == ".zip":
            found.append((path.stem, path, "zip"))
        elif name.lower().endswith(OTHER_ARCHIVES):
            found.append((name, path, "archive"))
        else:
            skipped.append(name)
    return Listing(_name(found), tuple(skipped))


def is_junk(name: str) -> bool:
    """Operating-system and editor leftovers, never part of a submission."""
    return name in JUNK or name.startswith(("._", "~$"))


def _hidden(name: str) -> bool:
    return is_junk(name) or name.startswith(".")


def _name(found: list[tuple[str, Path, Kind]]) -> tuple[Entry, ...]:
    """Unique student names and slugs: ``alice.py`` next to ``alice/`` keeps its suffix."""
    counts: dict[str, int] = {}
    for student, _, _ in found:
        counts[student] = counts.get(student, 0) + 1
    entries: list[Entry] = []
    slugs: set[str] = set()
    for student, path, kind in found:
        if counts[student] > 1:
            student = path.name
        # A name that is not UTF-8 holds surrogate escapes: hash its real bytes, and
        # show it with U+FFFD, which every report and terminal can carry.
        raw = student.encode("utf-8", "surrogateescape")
        student = safe_text(unicodedata.normalize("NFC", student), 200)
        slug = safe_name(student)
        if slug in slugs:
            slug = f"{slug}-{hashlib.sha256(raw).hexdigest()[:8]}"
        slugs.add(slug)
        entries.append(Entry(student, slug, path, kind))
    return tuple(sorted(entries, key=lambda e: e.student.lower()))


def unpack(entry: Entry, work: Path) -> Path:
    """The .py file or folder to grade for *entry*; archives are unpacked under *work*."""
    path = entry.path
    if entry.kind == "link":
        raise Rejected(f"{path.name}: a symbolic link; the grader takes only real files and "
                       "folders. Copy the submission in instead.")
    if entry.kind == "archive":
        raise Rejected(f"{path.name}: a {_archive_type(path.name)} archive, which the grader "
                       "does not open; upload a .zip, a .py file or a folder")
    if entry.kind == "file":
        size = _check_upload(path)
        if size == 0:
            raise Rejected(f"{path.name}: the file is empty; submit your app's code")
        return path
    if entry.kind == "zip":
        return _located(unzip(path, work / UNZIPPED), path.name)
    reject_links_outside(path)
    children = _listdir(path)
    zips = [c for c in children if c.suffix.lower() == ".zip" and c.is_file()]
    if (len(zips) == 1 and not any(c.is_dir() for c in children)
            and not any(c.suffix == ".py" for c in children)):
        # LMS exports put the uploaded file in the student's folder: grade the .zip in it.
        return _located(unzip(zips[0], work / UNZIPPED), f"{path.name}/{zips[0].name}")
    return _located(path, path.name)


def _located(folder: Path, label: str) -> Path:
    """*folder*, or its only subfolder when the app is nested one level deeper."""
    children = _listdir(folder)
    if not any(c.suffix == ".py" and c.is_file() for c in children):
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
        raise Rejected(f"{folder.name}: cannot be read ({e.strerror}); check its "
                       "permissions") from e


def _has_python(folder: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not _hidden(d)]
        if any(f.endswith(".py") for f in filenames):
            return True
    return False


def _archive_type(name: str) -> str:
    lower = name.lower()
    return next((s[1:] for s in OTHER_ARCHIVES if lower.endswith(s)), "compressed")


def _check_upload(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise Rejected(f"{path.name}: cannot be read ({e.strerror}); check its "
                       "permissions") from e
    if size > MAX_UPLOAD:
        raise Rejected(f"{path.name}: the upload is {_mib(size)}, more than the "
                       f"{_mib(MAX_UPLOAD)} limit; submit only your app's code and templates")
    return size


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


# -- symlinks ------------------------------------------------------------------


def reject_links_outside(root: Path) -> None:
    """Refuse *root* if a symlink in it points outside it (staging drops the others)."""
    top = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinks
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                continue
            target = path.resolve()
            if target != top and top not in target.parents:
                rel = path.relative_to(root).as_posix()
                raise Rejected(f"{root.name}: {rel} is a symbolic link to "
                               f"{os.readlink(path)}, outside the submission; submit real "
                               "files only")


# -- zip files -----------------------------------------------------------------


def unzip(archive: Path, dest: Path) -> Path:
    """Unpack *archive* into the new folder *dest*, refusing anything unsafe."""
    _check_upload(archive)
    label = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Rejected(f"{label}: not a readable .zip archive ({e}); upload it again") from e
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ENTRIES:
            raise Rejected(f"{label}: {len(members)} entries, more than {MAX_ENTRIES}; this "
                           "looks like a zip bomb. Zip only your app's code and templates.")
        plan = _plan(zf, members, label)
        dest.mkdir(parents=True)
        top = dest.resolve()
        budget = MAX_UNPACKED
        for info, rel in plan:
            target = dest.joinpath(*rel.parts)
            if top not in target.resolve().parents:  # _plan already refused this
                raise Rejected(f"{label}: {info.filename!r} would be written outside the "
                               "folder it is unpacked into (zip-slip)")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise Rejected(f"{label}: {info.filename} cannot be unpacked ({e.strerror}); "
                               "a file and a folder share its path") from e
            budget -= _copy_member(zf, info, target, budget, label)
    return dest


def _plan(zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], label: str
          ) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The regular files to unpack; refuses the whole archive on the first unsafe member."""
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    declared = 0
    for info in members:
        rel = member_path(info.filename, label)
        if rel is None or info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise Rejected(f"{label}: {info.filename} is password-protected; upload an "
                           "unencrypted .zip")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            _check_link(zf, info, rel, label)
            continue  # a link inside the submission: staging would drop it anyway
        declared += info.file_size
        if declared > MAX_UNPACKED:
            raise Rejected(f"{label}: unpacks to more than {_mib(MAX_UNPACKED)}; this looks "
                           "like a zip bomb or an oversized upload. Zip only your app's code "
                           "and templates.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise Rejected(f"{label}: {info.filename} expands {ratio:.0f} times "
                           f"({_mib(info.file_size)}); this looks like a zip bomb")
        plan.append((info, rel))
    return plan


_DRIVE = re.compile(r"^[A-Za-z]:")


def member_path(name: str, label: str) -> PurePosixPath | None:
    """A member's safe relative path, None for junk; refuses paths that escape (zip-slip)."""
    if "\0" in name:
        raise Rejected(f"{label}: an entry name holds a NUL byte; the archive is damaged or "
                       "forged")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
        raise Rejected(f"{label}: the entry {name!r} would be written outside the folder it "
                       "is unpacked into (zip-slip); the archive is refused")
    parts = [p for p in parts if p not in ("", ".")]
    if not parts or any(is_junk(p) for p in parts):
        return None
    return PurePosixPath(*parts)


def _check_link(zf: zipfile.ZipFile, info: zipfile.ZipInfo, rel: PurePosixPath,
                label: str) -> None:
    if info.file_size > MAX_LINK:
        raise Rejected(f"{label}: {info.filename} is a symbolic link with a {info.file_size}"
                       "-byte target; the archive is damaged or forged")
    try:
        target = zf.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Rejected(f"{label}: {info.filename} cannot be read ({e})") from e
    root = "/submission"
    resolved = os.path.normpath(os.path.join(root, rel.parent.as_posix(), target))
    if target.startswith("/") or not f"{resolved}/".startswith(f"{root}/"):
        raise Rejected(f"{label}: {info.filename} is a symbolic link to {target}, outside "
                       "the submission; zip real files only")


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int,
                 label: str) -> int:
    """Copy one member, counting real bytes: the sizes in a zip's headers may lie."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "xb") as out:
            while chunk := src.read(1 << 16):
                written += len(chunk)
                if written > budget:
                    raise Rejected(f"{label}: unpacks to more than {_mib(MAX_UNPACKED)}; "
                                   "this looks like a zip bomb. Zip only your app's code "
                                   "and templates.")
                out.write(chunk)
    except FileExistsError as e:
        raise Rejected(f"{label}: {info.filename} appears twice in the archive") from e
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as e:
        raise Rejected(f"{label}: {info.filename} cannot be unpacked ({e}); upload the "
                       "archive again") from e
    return written
