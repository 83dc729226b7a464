"""Where ``grade check`` takes its exercises from, and the proof that they are the instructor's.

The checks never come from the student's repository. They come from the
installed grade package, or from a catalogue folder or URL the instructor
names on the command line (``--exercises``, or ``GRADE_EXERCISES``), laid out
as ``<catalogue>/<id>/exercise.yaml``. A spec from anywhere but the package must
match a sha256 the instructor published: ``--spec-sha256 ID=HEX`` or a hashes
file (``--hashes FILE|URL``, the output of ``sha256sum */exercise.yaml``) that
does not live in the student's repository.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.common.data_files import data_path
from grader.errors import InfraError, SpecError, UsageError
from grader.spec import catalog
from grader.spec.exercise import EXERCISE_ID, SPEC_FILENAME, Exercise

MAX_DOWNLOAD = 2 << 20
DOWNLOAD_TIMEOUT = 30.0
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SpecSource:
    """A catalogue (None: the installed package) and the published hashes to hold it to."""

    location: str | None = None
    pins: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return self.location or "the installed grade package"


def parse_pin(text: str) -> tuple[str, str]:
    """``ex02=<sha256>`` -> (id, hex); ValueError says what is wrong."""
    ex_id, sep, digest = text.partition("=")
    ex_id, digest = ex_id.strip(), digest.strip().lower()
    if not sep or not EXERCISE_ID.match(ex_id):
        raise ValueError(f"{text!r} is not ID=SHA256 (e.g. ex02=9f86d0…)")
    if not _HEX.match(digest):
        raise ValueError(f"{text!r}: the hash must be 64 hexadecimal digits, as sha256sum "
                         "prints it")
    return ex_id, digest


def read_hashes(location: str, repositories: Iterable[Path]) -> dict[str, str]:
    """Parse a published hashes file: ``<sha256>  <id>/exercise.yaml`` (or ``<id>``) lines."""
    path = _local_path(location)
    if path is not None:
        for repo in repositories:
            if path.resolve().is_relative_to(repo.resolve()):
                raise UsageError(
                    f"{location}: the hashes file is inside the repository being graded "
                    f"({repo}), where whoever edits the code could edit it too. Pass a file "
                    "or URL the instructor controls.")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{location}: cannot read the hashes file ({e.strerror})") from e
    else:
        text = fetch(location).decode("utf-8", "replace")
    pins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        parts = [p for p in name.strip().lstrip("*").split("/") if p not in ("", ".")]
        if parts and parts[-1] == SPEC_FILENAME:
            parts = parts[:-1]
        if not _HEX.match(digest.lower()) or not parts or not EXERCISE_ID.match(parts[-1]):
            raise UsageError(f"{location}:{number}: expected '<sha256>  <id>/{SPEC_FILENAME}' "
                             f"(as `sha256sum */{SPEC_FILENAME}` prints), got {line[:80]!r}")
        pins[parts[-1]] = digest.lower()
    return pins


def load(source: SpecSource, ids: Iterable[str], cache: Path) -> dict[str, Exercise]:
    """The exercises *ids* from *source*, each verified against its published hash."""
    found: dict[str, Exercise] = {}
    for ex_id in ids:
        exercise = _load_one(source, ex_id, cache)
        pin = source.pins.get(ex_id)
        if pin is None and source.location is not None:
            raise UsageError(
                f"{ex_id}: its spec comes from {source.location}, not from the installed grade "
                f"package, so its sha256 must be pinned: pass --spec-sha256 {ex_id}=<sha256> or "
                f"--hashes FILE|URL with the hashes the instructor published "
                f"(`sha256sum */{SPEC_FILENAME}` in the catalogue).")
        if pin is not None and exercise.spec_sha256 != pin:
            raise SpecError(str(exercise.spec_path), None, "",
                            f"sha256 is {exercise.spec_sha256}, but the instructor published "
                            f"{pin} for {ex_id}. Refusing to grade with checks that are not the "
                            "instructor's; if the exercise really changed, publish its new hash.")
        found[ex_id] = exercise
    return found


def _load_one(source: SpecSource, ex_id: str, cache: Path) -> Exercise:
    if source.location is None:
        return catalog.find(ex_id, data_path("exercises"))
    local = _local_path(source.location)
    if local is not None:
        if not local.is_dir():
            raise UsageError(f"{source.location}: no such exercise catalogue folder (it should "
                             f"hold <id>/{SPEC_FILENAME})")
        return catalog.find(ex_id, local.resolve())
    return _download(source.location, ex_id, cache, source.pins.get(ex_id))


def _local_path(location: str) -> Path | None:
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https"):
        return None
    if len(parsed.scheme) > 1:  # not a Windows drive letter
        raise UsageError(f"{location}: only file://, http:// and https:// URLs or paths work here")
    return Path(location)


def _download(base: str, ex_id: str, cache: Path, pin: str | None) -> Exercise:
    """Fetch ``<base>/<id>/exercise.yaml`` into the cache (reused while it matches the pin)."""
    url = base.rstrip("/") + f"/{ex_id}/{SPEC_FILENAME}"
    folder = cache / hashlib.sha256(url.encode()).hexdigest()[:32] / ex_id
    spec = folder / SPEC_FILENAME
    cached = spec.read_bytes() if spec.is_file() else None
    if cached is None or pin is None or hashlib.sha256(cached).hexdigest() != pin:
        data = fetch(url)
        folder.mkdir(parents=True, exist_ok=True)
        _private(cache)
        tmp = spec.with_suffix(".part")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, spec)
        cached = data
    _placeholders(cached, folder)
    return catalog.find(str(spec))


def _placeholders(raw: bytes, folder: Path) -> None:
    """Empty stand-ins for the files a spec names: grading never reads them, the parser checks."""
    try:
        top = yaml.safe_load(raw)
    except yaml.YAMLError:
        return  # the parser reports it, with the line
    if not isinstance(top, dict):
        return
    for key in ("solution", "starter", "readme"):
        name = top.get(key)
        if not isinstance(name, str) or not name:
            continue
        target = (folder / name).resolve()
        if target.is_relative_to(folder.resolve()) and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"not downloaded: `grade check` needs only {SPEC_FILENAME}\n",
                              encoding="utf-8")


def fetch(url: str) -> bytes:
    """GET *url* (size-capped); a missing file is a usage error, an unreachable host infra."""
    request = urllib.request.Request(url, headers={"User-Agent": "grade"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
            data: bytes = response.read(MAX_DOWNLOAD + 1)
    except urllib.error.HTTPError as e:
        raise UsageError(f"{url}: the server answered {e.code} {e.reason}; check the URL the "
                         "instructor published") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise InfraError(f"{url}: cannot download ({reason}); check the network") from e
    if len(data) > MAX_DOWNLOAD:
        raise UsageError(f"{url}: larger than {MAX_DOWNLOAD >> 20} MiB; not a spec")
    return data


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/grade/specs`` (default ``~/.cache``), private to this user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grade" / "specs"


def _private(folder: Path) -> None:
    # The sandbox user of `--sandbox process` must not read downloaded (hidden) checks.
    for path in (folder, *folder.rglob("*")):
        if path.is_dir():
            os.chmod(path, 0o700)
