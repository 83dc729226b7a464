"""A web or API upload, through the same intake rules as `grade batch`.

One .py file, one .zip, or several files (a folder's contents, flat). The
bytes are written under a private work folder with names checked here, then
batch.intake unpacks (zip-slip, links, bombs and sizes refused with a reason)
and staging copies exactly what is graded and hashes it. Nothing is executed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from grader.batch import intake
from grader.batch.intake import Entry
from grader.batch.names import shown
from grader.batch.unzip import MAX_UPLOAD, Rejected, mib
from grader.grading.staging import stage

MAX_FILES = 200  # files in one upload of several files
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Received:
    folder: Path  # the staged submission: exactly what is graded
    sha256: str  # staging's hash of it (the job key's first part)
    label: str  # what the student uploaded, safe to show ("app.py", "3 files")


def receive(files: Iterable[tuple[str, BinaryIO]], work: Path) -> Received:
    """Stage the uploaded (name, stream) pairs into ``work/staged``; Rejected says why not.

    *work* must be a new, private, empty folder; the caller removes it.
    """
    upload = work / "upload"
    upload.mkdir(parents=True)
    names: list[str] = []
    total = 0
    for raw_name, stream in files:
        name = _file_name(raw_name)
        if name in names:
            raise Rejected(f"{shown(name)}: uploaded twice; send each file once")
        if len(names) >= MAX_FILES:
            raise Rejected(f"more than {MAX_FILES} files in one upload; zip your app's "
                           "folder instead")
        total += _save(stream, upload / name, name, MAX_UPLOAD - total)
        names.append(name)
    if not names:
        raise Rejected("no file was uploaded: choose your app's .py file, a .zip, or "
                       "several files")
    if len(names) == 1:
        path = upload / names[0]
        lower = names[0].lower()
        kind: intake.Kind = ("zip" if lower.endswith(".zip") else
                             "archive" if lower.endswith(intake.OTHER_ARCHIVES) else "file")
        if kind == "file" and not lower.endswith(".py"):
            raise Rejected(f"{shown(names[0])}: not a .py file or a .zip; upload your app's "
                           ".py file, a .zip of its folder, or several files")
        label = names[0]
    else:
        path, kind, label = upload, "folder", f"{len(names)} files"
    source = intake.unpack(Entry(student=label, slug="upload", path=path, kind=kind), work)
    staged = stage(source, work / "staged")
    return Received(staged.folder, staged.sha256, shown(label))


def keep(received: Received, dest: Path) -> None:
    """Move the staged files to *dest* (DATA/uploads/<id>), where they stay for regrades."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(received.folder), str(dest))


def _file_name(raw: str) -> str:
    """The upload's base name, if it is a plain one; browsers may send a path."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if (not name or name in (".", "..") or "\0" in name or len(name.encode("utf-8",
            "surrogateescape")) > 200 or any(ord(c) < 32 for c in name)):
        raise Rejected(f"{shown(raw)!r}: not a file name the grader accepts; rename the file "
                       "(letters, digits, dots, dashes, underscores)")
    return name


def _save(stream: BinaryIO, target: Path, name: str, budget: int) -> int:
    size = 0
    with open(target, "xb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > budget:
                raise Rejected(f"{shown(name)}: the upload is more than {mib(MAX_UPLOAD)} in "
                               "all; submit only your app's code and templates")
            out.write(chunk)
    return size
