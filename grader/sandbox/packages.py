"""The sandbox's Python packages: the pinned list grade ships, and a catalogue's extras.

``sandbox/requirements.txt`` pins every package of the image. A catalogue may add
more without editing grade: a ``sandbox-requirements.txt`` beside its exercise
folders, each line one ``name==version`` with at least one ``--hash=sha256:``.
Its wheels are downloaded on the host with ``--only-binary :all:
--require-hashes``, so nothing runs at install time and nothing unpinned gets in;
its content is folded into the image's tag, so an image (and every result
graded in it) names the extra packages it holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.common.data_files import data_path
from grader.errors import UsageError

EXTRA_FILENAME = "sandbox-requirements.txt"
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PIN = re.compile(r"^(?P<name>[^=<>!~\s;\[]+)\s*==\s*(?P<version>[A-Za-z0-9.+!_-]+)$")
_HASH = re.compile(r"^--hash[= ]sha256:(?P<hex>[0-9a-f]{64})$")
_IMPORT = re.compile(r"#\s*import:\s*(?P<module>[A-Za-z_][A-Za-z0-9_.]*)")
_HOW = ("Generate the file with `pip-compile --generate-hashes` (pip-tools) or write "
        "`name==version --hash=sha256:HEX` lines, HEX from `pip hash WHEEL`")


@dataclass(frozen=True)
class Pin:
    """One pinned package: what pip installs and the module an app imports."""

    name: str  # normalised: lower case, "-" between words
    version: str
    module: str  # the top-level import name
    line: int
    hashes: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class ExtraRequirements:
    """A catalogue's extra packages, checked: every line pinned and hashed."""

    path: Path
    content: bytes  # the file as written: what the image tag hashes
    pins: tuple[Pin, ...]

    def plain(self) -> bytes:
        """The same pins without hashes, for the offline install from checked wheels."""
        return "".join(f"{p.requirement}\n" for p in self.pins).encode()

    def line_of(self, name: str) -> Pin | None:
        wanted = normalise(name)
        return next((p for p in self.pins if p.name == wanted), None)


def normalise(name: str) -> str:
    """PEP 503's form of a distribution name: ``Flask_WTF`` -> ``flask-wtf``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sandbox_pins(sandbox_dir: Path | None = None) -> tuple[Pin, ...]:
    """The packages grade itself puts in the image (sandbox/requirements.txt)."""
    path = (data_path("sandbox") if sandbox_dir is None else sandbox_dir) / "requirements.txt"
    return tuple(_pins(path, path.read_text(encoding="utf-8"), need_hashes=False))


def read_extra(path: Path, base: Iterable[Pin] = ()) -> ExtraRequirements:
    """Parse and check a catalogue's extra requirements; UsageError names the line and fix."""
    try:
        content = path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read the catalogue's extra requirements: "
                         f"{e.strerror}") from e
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text; save it as UTF-8") from e
    pins = list(_pins(path, text, need_hashes=True))
    shipped = {p.name: p for p in base}
    kept = []
    for pin in pins:
        already = shipped.get(pin.name)
        if already is None:
            kept.append(pin)
        elif already.version != pin.version:
            raise UsageError(
                f"{path}:{pin.line}: {pin.requirement} conflicts with the sandbox's own "
                f"{already.requirement} (sandbox/requirements.txt). Pin {already.requirement} "
                "or remove the line: the sandbox already has it")
    return ExtraRequirements(path, content, tuple(kept))


def catalogue_requirements(directories: Iterable[Path]) -> Path | None:
    """The one extra-requirements file of the catalogue holding these exercise folders.

    Exercises from two catalogues with different extra packages cannot share
    an image; that is a UsageError.
    """
    found: dict[bytes | None, Path] = {}
    for directory in directories:
        candidate = directory.parent / EXTRA_FILENAME
        key = candidate.read_bytes() if candidate.is_file() else None
        found.setdefault(key, candidate)
    if len(found) > 1:
        names = ", ".join(str(p) if k is not None else f"{p} (absent)" for k, p in found.items())
        raise UsageError(f"these exercises come from catalogues with different extra packages "
                         f"({names}); grade the catalogues one at a time, or give them the same "
                         f"{EXTRA_FILENAME}")
    return next((p for k, p in found.items() if k is not None), None)


def flask_extensions(pins: Iterable[Pin]) -> list[str]:
    """``module (Package version)`` for each Flask extension among *pins*, by module."""
    found = {p.module: f"{p.module} ({p.name} {p.version})" for p in pins
             if "flask" in p.name and p.name != "flask"}
    return [found[m] for m in sorted(found)]


def _pins(path: Path, text: str, *, need_hashes: bool) -> Iterator[Pin]:
    for number, line, comment in _logical_lines(text):
        words = line.split()
        requirement, options = words[0], words[1:]
        if requirement.startswith("-"):
            raise UsageError(f"{path}:{number}: {requirement} is not allowed here: only "
                             f"`name==version --hash=sha256:HEX` lines. {_HOW}")
        found = _PIN.match(requirement)
        if found is None or not _NAME.match(found["name"]):
            raise UsageError(f"{path}:{number}: {requirement!r} does not pin one version; "
                             "write name==version (no ranges, extras, URLs or markers). "
                             + _HOW)
        hashes = []
        for option in _options(options):
            matched = _HASH.match(option)
            if matched is None:
                raise UsageError(f"{path}:{number}: {option!r} is not allowed here; only "
                                 f"--hash=sha256:HEX (64 lower-case hex digits). {_HOW}")
            hashes.append(matched["hex"])
        if need_hashes and not hashes:
            raise UsageError(f"{path}:{number}: {requirement} has no --hash; the sandbox "
                             "installs extra packages only from wheels whose sha256 the file "
                             f"names. {_HOW}")
        module = _IMPORT.search(comment)
        name = normalise(found["name"])
        yield Pin(name, found["version"], module["module"] if module else name.replace("-", "_"),
                  number, tuple(hashes))


def _options(words: list[str]) -> Iterator[str]:
    """``--hash X`` and ``--hash=X`` both as ``--hash=X``."""
    i = 0
    while i < len(words):
        if words[i] == "--hash" and i + 1 < len(words):
            yield f"--hash={words[i + 1]}"
            i += 2
        else:
            yield words[i]
            i += 1


def _logical_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line number, requirement text, comment) with ``\\`` continuations joined."""
    pending, start, comment = "", 0, ""
    for number, raw in enumerate(text.splitlines(), start=1):
        body, hash_mark, note = raw.partition(" #")
        if raw.lstrip().startswith("#"):
            body, hash_mark, note = "", "#", raw
        if not pending:
            start, comment = number, ""
        comment += hash_mark + note
        body = body.strip()
        if body.endswith("\\"):
            pending += body[:-1] + " "
            continue
        whole = (pending + body).strip()
        pending = ""
        if whole:
            yield start, whole, comment
    if pending.strip():
        yield start, pending.strip(), comment
