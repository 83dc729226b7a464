"""Unpack one student's .zip upload, bounded by the bytes actually produced.

An upload is hostile data: its headers may lie about sizes, its compressed
data may be damaged or built to expand a millionfold, and the "file" may be a
FIFO that never answers. Python's zipfile trusts the declared sizes and
decompresses a bzip2 or LZMA member without bound in one call (a 2,000-byte
member holding 1 GiB of zeros took the grader to 2.1 GiB), so members are
read here with decompressors that are asked for at most :data:`CHUNK` bytes
per call, and the copy stops as soon as a member passes its declared size or
the archive passes :data:`MAX_UNPACKED`. zipfile only parses the central
directory, after a check of its size. Every failure is a :class:`Rejected`
with a reason the student can act on.
"""

from __future__ import annotations

import bz2
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from grader.batch.names import shown
from grader.common.text import rooted
from grader.errors import SubmissionPathError
from grader.grading.staging import MAX_BYTES

MAX_UPLOAD = 20 << 20  # bytes of one uploaded .zip or .py file
MAX_UNPACKED = MAX_BYTES  # bytes once unpacked; the same cap staging applies
MAX_ENTRIES = 2000  # members of one .zip (staging itself keeps at most 500 files)
MAX_CENTRAL = 2 << 20  # bytes of the central directory zipfile parses into objects
MAX_RATIO = 100  # uncompressed / compressed size of one member ...
RATIO_FLOOR = 1 << 20  # ... checked only for members larger than this
MAX_LINK = 4096  # bytes of a symlink target stored in a .zip
MAX_LZMA_DICT = 64 << 20  # an LZMA member's dictionary (7-Zip's "ultra" uses 64 MiB)
CHUNK = 1 << 16  # bytes read, and produced by one decompressor call, at a time
JUNK = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", ".git", ".svn",
                  ".hg", ".idea", ".vscode", "__pycache__"})
# What a damaged or forged archive may raise from zipfile, struct or a decompressor.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, OSError,
              EOFError, ValueError, NotImplementedError, RuntimeError, struct.error,
              OverflowError, KeyError, IndexError)


class Rejected(SubmissionPathError):
    """One student's upload is refused; the batch records the reason and goes on."""


def is_junk(name: str) -> bool:
    """Operating-system and editor leftovers, never part of a submission."""
    return name in JUNK or name.startswith(("._", "~$"))


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


# -- opening an upload -----------------------------------------------------------


def open_upload(path: Path) -> BinaryIO:
    """*path* opened for reading if it is a regular file within :data:`MAX_UPLOAD`.

    Never follows a symlink and never waits on a FIFO: O_NONBLOCK makes opening
    one return at once, and the type is checked on the open file, so nothing
    can be swapped in between.
    """
    label = shown(path.name)
    try:
        mode = path.lstat().st_mode
    except OSError as e:
        raise Rejected(f"{label}: cannot be read ({e.strerror}); upload it again") from e
    if not stat.S_ISREG(mode):  # say what it is; opening a socket fails with ENXIO
        raise Rejected(f"{label}: not a regular file ({_file_type(mode)}); upload a .zip, "
                       "a .py file or a folder")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise Rejected(f"{label}: cannot be opened ({e.strerror}); upload a regular "
                       ".zip or .py file") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Rejected(f"{label}: not a regular file ({_file_type(st.st_mode)}); upload "
                           "a .zip, a .py file or a folder")
        if st.st_size > MAX_UPLOAD:
            raise Rejected(f"{label}: the upload is {mib(st.st_size)}, more than the "
                           f"{mib(MAX_UPLOAD)} limit; submit only your app's code and "
                           "templates")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a file"


# -- the archive -----------------------------------------------------------------


def unzip(archive: Path, dest: Path) -> Path:
    """Unpack *archive* into the new folder *dest*, refusing anything unsafe."""
    label = shown(archive.name)
    with open_upload(archive) as fh:
        try:
            _check_central_directory(fh, label)
            zf = zipfile.ZipFile(fh)
        except Rejected:
            raise
        except ZIP_ERRORS as e:
            raise Rejected(f"{label}: not a readable .zip archive ({_why(e)}); upload it "
                           "again") from e
        with zf:
            members = zf.infolist()
            if len(members) > MAX_ENTRIES:
                raise Rejected(f"{label}: {len(members)} entries, more than {MAX_ENTRIES}; "
                               "this looks like a zip bomb. Zip only your app's code and "
                               "templates.")
            plan = _plan(fh, members, label)
            dest.mkdir(parents=True)
            budget = MAX_UNPACKED
            for info, rel in plan:
                target = dest.joinpath(*rel.parts)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise Rejected(f"{label}: {shown(info.filename)} cannot be unpacked "
                                   f"({e.strerror}); a file and a folder share its path"
                                   ) from e
                budget -= _copy_member(fh, info, target, budget, label)
    return dest


def _check_central_directory(fh: BinaryIO, label: str) -> None:
    """Refuse a central directory too large to parse: zipfile keeps an object per entry.

    The entry count is checked again once parsed; the directory's declared size
    bounds how much zipfile reads, so checking it bounds the objects made.
    """
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - (1 << 16) - 22))
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return  # not a zip: zipfile says so
    count, central = struct.unpack("<HI", tail[at + 10:at + 16])
    locator = tail[at - 20:at] if at >= 20 else b""
    if locator[:4] == b"PK\x06\x07":  # ZIP64: the real counts are in another record
        (offset,) = struct.unpack("<Q", locator[8:16])
        fh.seek(offset)
        record = fh.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            count, central = struct.unpack("<QQ", record[32:48])
    if count > MAX_ENTRIES or central > MAX_CENTRAL:
        raise Rejected(f"{label}: {count} entries in a {mib(central)} directory, more than "
                       f"{MAX_ENTRIES}; this looks like a zip bomb. Zip only your app's code "
                       "and templates.")


def _plan(fh: BinaryIO, members: list[zipfile.ZipInfo], label: str
          ) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The regular files to unpack; refuses the whole archive on the first unsafe member."""
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    declared = 0
    for info in members:
        rel = member_path(info.filename, label)
        if rel is None or info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise Rejected(f"{label}: {shown(info.filename)} is password-protected; upload "
                           "an unencrypted .zip")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            _check_link(fh, info, rel, label)
            continue  # a link inside the submission: staging would drop it anyway
        declared += info.file_size
        if declared > MAX_UNPACKED:
            raise Rejected(f"{label}: unpacks to more than {mib(MAX_UNPACKED)}; this looks "
                           "like a zip bomb or an oversized upload. Zip only your app's code "
                           "and templates.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise Rejected(f"{label}: {shown(info.filename)} expands {ratio:.0f} times "
                           f"({mib(info.file_size)}); this looks like a zip bomb")
        plan.append((info, rel))
    return plan


def member_path(name: str, label: str) -> PurePosixPath | None:
    """A member's safe relative path, None for junk; refuses paths that escape (zip-slip)."""
    if "\0" in name:
        raise Rejected(f"{label}: an entry name holds a NUL byte; the archive is damaged or "
                       "forged")
    parts = name.replace("\\", "/").split("/")
    if rooted(name) or ".." in parts:
        raise Rejected(f"{label}: the entry {shown(name)!r} would be written outside the "
                       "folder it is unpacked into (zip-slip); the archive is refused")
    parts = [p for p in parts if p not in ("", ".")]
    if not parts or any(is_junk(p) for p in parts):
        return None
    return PurePosixPath(*parts)


def _check_link(fh: BinaryIO, info: zipfile.ZipInfo, rel: PurePosixPath,
                label: str) -> None:
    if info.file_size > MAX_LINK:
        raise Rejected(f"{label}: {shown(info.filename)} is a symbolic link with a "
                       f"{info.file_size}-byte target; the archive is damaged or forged")
    data = b"".join(_read_member(fh, info, MAX_LINK, label))
    target = data.decode("utf-8", "replace")
    root = "/submission"
    resolved = os.path.normpath(os.path.join(root, rel.parent.as_posix(), target))
    if target.startswith("/") or not f"{resolved}/".startswith(f"{root}/"):
        raise Rejected(f"{label}: {shown(info.filename)} is a symbolic link to "
                       f"{shown(target)}, outside the submission; zip real files only")


def _copy_member(fh: BinaryIO, info: zipfile.ZipInfo, target: Path, budget: int,
                 label: str) -> int:
    """Copy one member, counting real bytes: the sizes in a zip's headers may lie."""
    written = 0
    try:
        with open(target, "xb") as out:
            for chunk in _read_member(fh, info, budget, label):
                written += len(chunk)
                out.write(chunk)
    except FileExistsError as e:
        raise Rejected(f"{label}: {shown(info.filename)} appears twice in the archive") from e
    except OSError as e:
        raise Rejected(f"{label}: {shown(info.filename)} cannot be unpacked ({e.strerror})"
                       ) from e
    return written


# -- reading one member, bounded -------------------------------------------------


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Stored:
    eof = False
    needs_input = True

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return data


class _Deflated:
    """zlib's raw inflater with the interface bz2 and lzma share."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(-zlib.MAX_WBITS)

    @property
    def eof(self) -> bool:
        return self._z.eof

    @property
    def needs_input(self) -> bool:
        return not self._z.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._z.decompress(self._z.unconsumed_tail + data, max(max_length, 0))


def _read_member(fh: BinaryIO, info: zipfile.ZipInfo, budget: int, label: str
                 ) -> Iterator[bytes]:
    """The member's bytes, at most :data:`CHUNK` produced per decompressor call.

    Stops with :class:`Rejected` once the member passes its declared size (so
    no more than the declared total is ever produced) or *budget*, and checks
    the CRC at the end.
    """
    name = shown(info.filename)
    produced = 0
    crc = 0
    try:
        left = _seek_data(fh, info)
        dec, left = _decompressor(fh, info, left, label)
        while not dec.eof:
            data = b""
            if dec.needs_input:
                if left <= 0:
                    break
                data = fh.read(min(CHUNK, left))
                if not data:
                    raise EOFError("the archive ends inside this entry")
                left -= len(data)
            out = dec.decompress(data, CHUNK)
            if not out and not data:
                raise EOFError("the compressed data makes no progress")
            produced += len(out)
            if produced > budget:
                raise Rejected(f"{label}: unpacks to more than {mib(MAX_UNPACKED)}; this "
                               "looks like a zip bomb. Zip only your app's code and "
                               "templates.")
            if produced > info.file_size:
                raise Rejected(f"{label}: {name} holds more than the {info.file_size} bytes "
                               "its header declares; this looks like a zip bomb or a forged "
                               "archive")
            crc = zlib.crc32(out, crc)
            yield out
    except Rejected:
        raise
    except ZIP_ERRORS as e:
        raise Rejected(f"{label}: {name} cannot be unpacked ({_why(e)}); the archive is "
                       "damaged: upload it again") from e
    if produced != info.file_size or crc != info.CRC:
        raise Rejected(f"{label}: {name} cannot be unpacked (its size or checksum does not "
                       "match its header); the archive is damaged: upload it again")


def _seek_data(fh: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Position *fh* at the member's data; its compressed size."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("no local header where the directory points")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    return info.compress_size


def _decompressor(fh: BinaryIO, info: zipfile.ZipInfo, left: int, label: str
                  ) -> tuple[_Decompressor, int]:
    method = info.compress_type
    if method == zipfile.ZIP_STORED:
        return _Stored(), left
    if method == zipfile.ZIP_DEFLATED:
        return _Deflated(), left
    if method == zipfile.ZIP_BZIP2:
        return bz2.BZ2Decompressor(), left
    if method == zipfile.ZIP_LZMA:
        # zip's LZMA: version (2 bytes), properties size (2), properties (5), raw data.
        head = fh.read(4)
        if len(head) != 4:
            raise EOFError("the archive ends inside an LZMA header")
        (size,) = struct.unpack("<H", head[2:4])
        props = fh.read(size)
        if size != 5 or len(props) != 5:
            raise ValueError("malformed LZMA properties")
        d, dict_size = props[0], int.from_bytes(props[1:5], "little")
        if d >= 9 * 5 * 5 or dict_size > MAX_LZMA_DICT:
            raise Rejected(f"{label}: {shown(info.filename)} asks for a {mib(dict_size)} LZMA "
                           "dictionary; zip it again with ordinary settings")
        lzma_filter = {"id": lzma.FILTER_LZMA1, "lc": d % 9, "lp": d // 9 % 5, "pb": d // 45,
                       "dict_size": dict_size}
        return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter]), left - 4 - size
    raise Rejected(f"{label}: {shown(info.filename)} uses compression method {method}, which "
                   "the grader does not open; zip it again with ordinary (deflate) compression")


def _why(e: BaseException) -> str:
    return shown(f"{type(e).__name__}: {e}" if not str(e) else str(e))[:300]
