"""The submission as one archive, for the agent to unpack inside the sandbox.

No folder of the host is shared with a sandbox, so the staged submission
travels over the agent's own connection (``AgentClient.receive``). The archive
holds only folders and regular files, with plain relative names and neutral
owners, times and modes: staging (grading/staging.py) has already refused
links and anything else.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path


def pack(folder: Path) -> bytes:
    """An uncompressed tar of *folder*'s folders and regular files, in a stable order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            dirnames.sort()
            here = Path(dirpath)
            for name in dirnames:
                path = here / name
                if not path.is_symlink():
                    tar.addfile(_member(path.relative_to(folder).as_posix(), tarfile.DIRTYPE))
            for name in sorted(filenames):
                path = here / name
                if path.is_symlink() or not path.is_file():
                    continue
                data = path.read_bytes()
                member = _member(path.relative_to(folder).as_posix(), tarfile.REGTYPE)
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _member(name: str, kind: bytes) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    member.mtime = 0
    return member
