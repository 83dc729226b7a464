"""Find or build the sandbox image, fully offline once its inputs are cached.

The image is tagged by a hash of the sandbox/ files that go into it, so editing
any of them forces a rebuild. Building needs a Python 3 base image: the official
``python:3.11-slim`` when it is present or can be pulled, otherwise a local
Debian made with debootstrap (for machines that reach a Debian mirror but no
container registry). Wheels are downloaded on the host, where pip and the
network are trusted, and the build itself runs with no network at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.utils import parse_repository_tag

from grader.common.data_files import data_path
from grader.common.filelock import exclusive
from grader.errors import ImageBuildError, UsageError
from grader.sandbox import wheels
from grader.sandbox.container import managed_labels
from grader.sandbox.packages import ExtraRequirements, sandbox_pins

Progress = Callable[[str], None]

REPOSITORY = "grade-sandbox"
SANDBOX_FILES = ("Dockerfile", "requirements.txt", "agent.py", "relay.py")
OFFICIAL_BASE = "python:3.11-slim"
LOCAL_BASE_REPOSITORY = "grade-base"
DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# pip only runs at build time, straight from its wheel; it is not in the image.
PIP_REQUIREMENT = "pip==26.3"
IMAGE_LABEL = "grade.sandbox"  # on every sandbox image grade builds
BASE_LABEL = "grade.sandbox.base"
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))

_PROBE = (
    "import platform, sys; "
    "print('%d.%d' % sys.version_info[:2], platform.machine(), platform.libc_ver()[1] or '-')"
)
# Docker mounts its own /dev, /proc, /sys, hostname and resolv.conf; apt's
# downloads, lists, manuals and translations are dead weight in a sandbox.
_TAR_EXCLUDES = tuple(
    "./dev/* ./proc/* ./sys/* ./run/* ./tmp/* ./etc/hostname ./etc/resolv.conf "
    "./var/cache/apt/archives/*.deb ./var/cache/apt/*.bin ./var/lib/apt/lists/* "
    "./usr/share/man/* ./usr/share/info/* ./usr/share/locale/*".split()
)
_IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
_DEBOOTSTRAP_SHOWN = tuple(
    "I: Retrieving InRelease|I: Resolving|I: Installing|I: Unpacking the|I: Configuring the"
    "|I: Base system|W:|E:".split("|")
)


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    id: str
    base: str


@dataclass(frozen=True)
class PythonTarget:
    """The interpreter inside a base image, which the wheels must match."""

    version: str  # "3.11"
    machine: str  # "x86_64", "aarch64"
    glibc: str  # "2.36"

    def platforms(self) -> tuple[str, ...]:
        """pip --platform tags this glibc accepts, oldest first."""
        major, _, minor = self.glibc.partition(".")
        newest = int(minor) if major == "2" and minor.isdigit() else 17
        tags = [f"manylinux2014_{self.machine}"]
        tags += [f"manylinux_2_{m}_{self.machine}" for m in range(17, max(newest, 17) + 1)]
        return tuple(tags)


def image_tag(sandbox_dir: Path | None = None, extra: bytes | None = None) -> str:
    """The sandbox image's tag: a hash of the files that go into it.

    *extra* is a catalogue's extra requirements file, as written: with it, the
    tag names those packages too (and is the same tag without it as before).
    """
    folder = data_path("sandbox") if sandbox_dir is None else sandbox_dir
    digest = hashlib.sha256()
    for name in SANDBOX_FILES:
        path = folder / name
        data = path.read_bytes() if path.is_file() else b""
        digest.update(f"{name}\0{len(data) if path.is_file() else -1}\0".encode())
        digest.update(data)
    if extra is not None:
        digest.update(f"extra\0{len(extra)}\0".encode() + extra)
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def find_image(
    client: docker.DockerClient, extra: ExtraRequirements | None = None
) -> ImageInfo | None:
    """The current sandbox image if it is present locally; never builds."""
    return _find(client, image_tag(extra=None if extra is None else extra.content))


def ensure_image(
    client: docker.DockerClient,
    progress: Progress,
    *,
    rebuild: bool = False,
    base: str | None = None,
    extra: ExtraRequirements | None = None,
) -> ImageInfo:
    """Return the sandbox image, building it (and its base) when needed.

    *extra*: a catalogue's extra packages (packages.read_extra), in the image too.
    """
    env = os.environ
    folder = data_path("sandbox")
    tag = image_tag(folder, None if extra is None else extra.content)
    wanted = base or env.get("GRADE_BASE_IMAGE") or None
    existing = _find(client, tag)
    if existing is not None and not rebuild and wanted in (None, existing.base):
        return existing
    missing = [name for name in SANDBOX_FILES if not (folder / name).is_file()]
    if missing:
        raise ImageBuildError(
            f"cannot build {tag}: {', '.join(missing)} missing from {folder}; "
            "reinstall grade or restore the sandbox/ folder of the checkout"
        )
    with _build_lock(tag, env, progress):
        # Graders started together wait here for the first one's build, then use it.
        done = None if rebuild else _find(client, tag)
        if done is not None and wanted in (None, done.base):
            return done
        chosen = wanted or _default_base(client, env, progress)
        if chosen.startswith(f"{LOCAL_BASE_REPOSITORY}:"):
            _ensure_debian_base(client, chosen, env, progress)
        else:
            _ensure_present(client, chosen, progress)
        target = _probe_python(client, chosen)
        progress(f"base {chosen}: Python {target.version} {target.machine} glibc {target.glibc}")
        found = [_wheel_cache((folder / "requirements.txt").read_bytes(), target, env, progress)]
        if extra is not None:
            found.append(_extra_wheels(extra, target, env, progress))
        started = time.monotonic()
        info = _build(client, folder, found, tag, chosen, progress, fresh=rebuild,
                      extra=b"" if extra is None else extra.plain())
        progress(f"built {info.tag} ({info.id[:19]}) in {time.monotonic() - started:.0f} s")
    if existing is not None and existing.id != info.id:
        _remove_quietly(client, existing.id, progress)
    return info


@contextlib.contextmanager
def _build_lock(tag: str, env: Mapping[str, str], progress: Progress) -> Iterator[None]:
    """One build of *tag* at a time among this user's graders on this machine.

    Two at once would remove intermediate images the other may use as cache.
    """
    path = cache_root(env, Path.home()) / "locks" / f"{tag.replace(':', '_')}.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as e:
        raise ImageBuildError(f"cannot create the build lock {path}: {e.strerror}; set "
                              "GRADE_CACHE_DIR to a folder you may write") from e
    with exclusive(path, lambda: progress(f"waiting for another grader building {tag}")):
        yield


# --- pure helpers ---------------------------------------------------------


def parse_mirror(text: str) -> str | None:
    """The first archive URI of an apt sources file (deb822 or one-line format)."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        # "URIs: http://..." (deb822) or "deb [arch=amd64 signed-by=...] http://... suite"
        found = re.match(r"(?i:uris:)\s*(\S+)|deb\s+(?:\[[^\]]*\]\s*)?(\S+)", line)
        if found:
            return found.group(1) or found.group(2)
    return None


def debian_mirror(env: Mapping[str, str], sources: Sequence[Path] = APT_SOURCES) -> str:
    """GRADE_DEBIAN_MIRROR, else the host's own apt mirror, else deb.debian.org."""
    if env.get("GRADE_DEBIAN_MIRROR"):
        return env["GRADE_DEBIAN_MIRROR"]
    for path in sources:
        try:
            found = parse_mirror(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if found:
            return found
    return DEFAULT_MIRROR


def local_base_tag(env: Mapping[str, str]) -> str:
    return f"{LOCAL_BASE_REPOSITORY}:{env.get('GRADE_DEBIAN_SUITE') or DEFAULT_SUITE}"


def cache_root(env: Mapping[str, str], home: Path) -> Path:
    """GRADE_CACHE_DIR, else $XDG_CACHE_HOME/grade, else ~/.cache/grade."""
    if env.get("GRADE_CACHE_DIR"):
        return Path(env["GRADE_CACHE_DIR"])
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else home / ".cache") / "grade"


def wheel_cache_key(requirements: bytes, target: PythonTarget) -> str:
    """Names one complete wheel download; changes whenever its inputs do."""
    digest = hashlib.sha256(requirements)
    for part in (PIP_REQUIREMENT, target.version, target.machine, *target.platforms()):
        digest.update(b"\0" + part.encode())
    return f"cp{target.version.replace('.', '')}-{target.machine}-{digest.hexdigest()[:16]}"


def parse_probe(output: str, base: str) -> PythonTarget:
    words = output.split()
    if len(words) != 3 or words[2] == "-":
        raise ImageBuildError(
            f"base image {base} does not look like a glibc Linux with Python 3 "
            f"(probe printed {output.strip()!r}); set GRADE_BASE_IMAGE to a Debian- or "
            "Ubuntu-based python 3 image"
        )
    return PythonTarget(version=words[0], machine=words[1], glibc=words[2])


# --- base image -----------------------------------------------------------


def _find(client: docker.DockerClient, tag: str) -> ImageInfo | None:
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as e:
        raise ImageBuildError(f"cannot inspect image {tag}: {e.explanation or e}") from e
    labels = image.labels or {}
    return ImageInfo(tag=tag, id=str(image.id), base=labels.get(BASE_LABEL, "unknown"))


def _pull(client: docker.DockerClient, ref: str, progress: Progress) -> str | None:
    """Pull *ref*; on failure return the engine's reason instead of raising."""
    progress(f"pulling {ref}")
    repository, tag = parse_repository_tag(ref)
    try:
        client.images.pull(repository, tag=tag or "latest")
    except docker.errors.APIError as e:
        return str(e.explanation or e)
    return None


def _default_base(client: docker.DockerClient, env: Mapping[str, str], progress: Progress) -> str:
    if _find(client, OFFICIAL_BASE) is not None:
        return OFFICIAL_BASE
    reason = _pull(client, OFFICIAL_BASE, progress)
    if reason is None:
        return OFFICIAL_BASE
    local = local_base_tag(env)
    progress(
        f"cannot pull {OFFICIAL_BASE} ({reason}); using the local Debian base {local} "
        f"instead (set GRADE_BASE_IMAGE={local} to skip this pull)"
    )
    return local


def _ensure_present(client: docker.DockerClient, ref: str, progress: Progress) -> None:
    if _find(client, ref) is not None:
        return
    reason = _pull(client, ref, progress)
    if reason is not None:
        raise ImageBuildError(
            f"base image {ref} is neither present locally nor pullable: {reason}. "
            f"Load it with `docker load`, or unset GRADE_BASE_IMAGE to use "
            f"{OFFICIAL_BASE} or a local Debian base"
        )


def _ensure_debian_base(
    client: docker.DockerClient, tag: str, env: Mapping[str, str], progress: Progress
) -> None:
    """Build *tag* from debootstrap's minbase Debian plus python3, unless present."""
    if _find(client, tag) is not None:
        return
    fix = (
        "Install debootstrap (apt-get install debootstrap) and run `sudo grade image build`, "
        "or set GRADE_BASE_IMAGE to a python 3 image your engine can pull or already has"
    )
    debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin")
    if debootstrap is None:
        raise ImageBuildError(f"no {tag} image, and debootstrap to build it is missing. {fix}")
    if os.geteuid() != 0:
        raise ImageBuildError(f"building the Debian base {tag} needs root for debootstrap. {fix}")
    suite = tag.split(":", 1)[1]
    mirror = debian_mirror(env)
    workdir = Path(tempfile.mkdtemp(prefix="grade-debootstrap-"))
    try:
        rootfs, tarball = workdir / "rootfs", workdir / "base.tar"
        progress(f"bootstrapping Debian {suite} from {mirror} (about a minute)")
        started = time.monotonic()
        argv = [debootstrap, "--variant=minbase", "--include=python3", suite, str(rootfs), mirror]
        hint = (
            f"Check the suite (GRADE_DEBIAN_SUITE), the mirror (GRADE_DEBIAN_MIRROR) and that "
            f"{workdir.parent} allows exec and devices (else point TMPDIR elsewhere), or set "
            "GRADE_BASE_IMAGE to a python 3 image your engine can pull or already has"
        )
        shown = _DEBOOTSTRAP_SHOWN
        wheels.run(argv, "debootstrap", hint, progress, lambda line: line.startswith(shown))
        progress(f"debootstrap took {time.monotonic() - started:.0f} s")
        excludes = [f"--exclude={pattern}" for pattern in _TAR_EXCLUDES]
        tar = ["tar", "--numeric-owner", *excludes, "-C", str(rootfs), "-cf", str(tarball), "."]
        wheels.run(
            tar, "tar of the Debian root", "Check free space in /tmp.", progress, lambda line: True
        )
        progress(f"importing {tag} ({tarball.stat().st_size >> 20} MiB)")
        repository, _, version = tag.partition(":")
        try:
            client.api.import_image_from_file(
                str(tarball), repository=repository, tag=version, changes=list(_IMPORT_CHANGES)
            )
        except docker.errors.APIError as e:
            raise ImageBuildError(f"docker could not import {tarball} as {tag}: {e}") from e
    finally:
        wheels.remove_tree(workdir, progress)


def _probe_python(client: docker.DockerClient, base: str) -> PythonTarget:
    container: Any = None
    try:
        # The sandboxes' labels: the orphan sweep also finds a probe whose grader died.
        labels = managed_labels()
        command = ["python3", "-c", _PROBE]
        container = client.containers.create(base, command, network_mode="none", labels=labels)
        container.start()
        status = container.wait()
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    except docker.errors.DockerException as e:
        raise ImageBuildError(f"cannot run python3 in base image {base}: {e}") from e
    finally:
        if container is not None:
            _remove_container(container)
    if status.get("StatusCode") != 0:
        raise ImageBuildError(
            f"python3 failed in base image {base} (exit {status.get('StatusCode')}): "
            f"{output.strip()[-500:]}; set GRADE_BASE_IMAGE to an image with python3 on PATH"
        )
    return parse_probe(output, base)


def _remove_container(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        return  # already gone


# --- wheels and build -----------------------------------------------------


def _wheel_cache(
    requirements: bytes, target: PythonTarget, env: Mapping[str, str], progress: Progress
) -> Path:
    """A folder holding every wheel, downloaded once per key and reused offline."""
    final = cache_root(env, Path.home()) / "wheels" / wheel_cache_key(requirements, target)
    options = ["--python-version", target.version, *_flags("--platform", target.platforms())]
    what = f"wheels for CPython {target.version} {target.machine}"
    return wheels.download(final, requirements, [*options, PIP_REQUIREMENT], what, progress)


def _extra_wheels(
    extra: ExtraRequirements, target: PythonTarget, env: Mapping[str, str], progress: Progress
) -> Path:
    """The catalogue's extra wheels, hash-checked, and a check that nothing is left out."""
    key = wheel_cache_key(b"extra\0" + extra.content, target)
    final = cache_root(env, Path.home()) / "wheels" / key
    options = ["--python-version", target.version, *_flags("--platform", target.platforms())]
    where = f"CPython {target.version} on {target.machine} (glibc {target.glibc})"
    folder = wheels.download_extra(final, extra, options, where, progress)
    known = [p.name for p in (*sandbox_pins(), *extra.pins)]
    missing = wheels.missing_dependencies(folder, known)
    if missing:
        needs = ", ".join(f"{package} needs {dependency}" for package, dependency in missing)
        raise UsageError(f"{extra.path}: {needs}, which neither it nor sandbox/requirements.txt "
                         f"pins; add each with its version and --hash (pip-compile "
                         "--generate-hashes lists them all)")
    return folder


def _build(
    client: docker.DockerClient,
    folder: Path,
    downloads: Sequence[Path],
    tag: str,
    base: str,
    progress: Progress,
    *,
    fresh: bool,
    extra: bytes = b"",
) -> ImageInfo:
    context = Path(tempfile.mkdtemp(prefix="grade-build-"))
    try:
        for name in SANDBOX_FILES:
            shutil.copyfile(folder / name, context / name)
        (context / "extra-requirements.txt").write_bytes(extra)
        for download in downloads:
            shutil.copytree(download, context / "wheels", dirs_exist_ok=True)
        options: dict[str, Any] = dict(rm=True, forcerm=True, pull=False, decode=True)
        options.update(buildargs={"BASE_IMAGE": base}, labels={IMAGE_LABEL: "1", BASE_LABEL: base})
        # No network in the build: everything it needs is in the context.
        stream = client.api.build(
            path=str(context), tag=tag, network_mode="none", nocache=fresh, **options
        )
        stages = _follow_build(stream, tag, base, progress)
    except docker.errors.DockerException as e:
        raise ImageBuildError(f"docker build of {tag} from {base} failed: {e}") from e
    finally:
        wheels.remove_tree(context, progress)
    found = _find(client, tag)
    if found is None:
        raise ImageBuildError(f"docker build reported success but {tag} is missing; retry")
    for stage in stages:  # the wheel-installing stage: untagged, ~50 MB, never run
        _remove_quietly(client, stage, progress)
    return found


def _follow_build(
    stream: Iterable[dict[str, Any]], tag: str, base: str, progress: Progress
) -> list[str]:
    """Report each step; return the ids of the earlier stages' final images."""
    tail: deque[str] = deque(maxlen=25)
    stages: list[str] = []
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            message = str(chunk.get("error") or detail.get("message") or chunk).strip()
            progress(f"error: {message}")
            raise ImageBuildError(
                f"docker build of {tag} from {base} failed: {message}\n"
                + "\n".join(tail)
                + "\nFix sandbox/Dockerfile or sandbox/requirements.txt, or try another "
                "base with GRADE_BASE_IMAGE"
            )
        for line in str(chunk.get("stream", "")).splitlines():
            if line.strip():
                tail.append(line)
            if line.startswith("Step "):
                if " : FROM " in line and len(tail) > 1 and tail[-2].startswith(" ---> "):
                    stages.append(tail[-2].split()[-1])
                progress(line if len(line) <= 100 else line[:99] + "…")
    return stages


def _flags(flag: str, values: Iterable[str]) -> list[str]:
    return [item for value in values for item in (flag, value)]


def _remove_quietly(client: docker.DockerClient, image_id: str, progress: Progress) -> None:
    try:
        client.images.remove(image_id)
    except docker.errors.APIError as e:
        progress(f"note: could not remove the unused image {image_id[:19]}: {e.explanation or e}")
