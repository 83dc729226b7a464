"""Files written through a temporary name and renamed into place.

A crash, Ctrl-C or SIGKILL never leaves half a report or gradebook behind:
readers see the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO


class AtomicFile:
    """Open for writing; :meth:`commit` renames it into place, :meth:`abort` drops it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, self._tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        # mkstemp makes 0600; results should read like any file the user writes.
        os.fchmod(fd, 0o666 & ~_umask())
        # errors="replace": a lone surrogate that slipped past common.text.safe_text
        # becomes "?" rather than a UnicodeEncodeError that loses the whole file.
        self.fh: IO[str] = open(fd, "w", encoding="utf-8", errors="replace", newline="")

    def commit(self) -> None:
        self.fh.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass  # already renamed or removed


def atomic_write(path: Path, text: str) -> None:
    """Write *text* to *path* atomically."""
    out = AtomicFile(path)
    try:
        out.fh.write(text)
        out.commit()
    except BaseException:
        out.abort()
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
