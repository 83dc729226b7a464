"""Download the image's wheels on the host, once per set of inputs, for an offline build.

pip and the network are trusted here, and nothing runs at download time:
``--only-binary :all:`` takes wheels only. A catalogue's extra requirements are
downloaded apart, with ``--require-hashes --no-deps``, and pip's refusal of one
of them is turned into a message naming the file's line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from grader.errors import ImageBuildError, UsageError
from grader.sandbox.packages import ExtraRequirements, normalise

Progress = Callable[[str], None]
Refusal = UsageError | ImageBuildError

_NO_WHEEL = re.compile(r"No matching distribution found for ([A-Za-z0-9._-]+)")
_FIX = ("Check that this machine reaches your package index (pip config list), "
        "or copy a complete cache into GRADE_CACHE_DIR")


def download(final: Path, requirements: bytes, options: Iterable[str], what: str,
             progress: Progress) -> Path:
    """*final*, holding every wheel of *requirements*; reused when it exists.

    *options* are pip download's platform flags and any extra requirement
    (such as pip's own wheel).
    """
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    # Download beside the final name and rename it into place only on success,
    # so an interrupted download is never mistaken for a complete one.
    partial = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent)).resolve()
    try:
        (partial / "requirements.txt").write_bytes(requirements)
        fixed = "download --only-binary=:all: --implementation cp --progress-bar off"
        argv = [sys.executable, "-m", "pip", *fixed.split(), *options, "--dest", str(partial)]
        argv += ["-r", str(partial / "requirements.txt")]
        progress(f"downloading {what} to {final}")
        started = time.monotonic()
        # In the download's own folder: `python -m` puts the working folder first on
        # pip's path, and ours may be a student's repository (`grade check`).
        run(argv, "pip download", _FIX, progress, lambda line: line.startswith("ERROR"),
            cwd=partial)
        (partial / "requirements.txt").unlink()
        progress(f"wheel download took {time.monotonic() - started:.0f} s")
        partial.chmod(0o755)  # mkdtemp made it private; the wheels are public anyway
        try:
            partial.rename(final)
        except OSError:
            if not final.is_dir():  # not a concurrent download that won the race
                raise
    finally:
        if partial.exists():
            remove_tree(partial, progress)
    return final


def download_extra(final: Path, extra: ExtraRequirements, platform: Iterable[str],
                   where: str, progress: Progress) -> Path:
    """The extra packages' wheels, each checked against its hash in the file."""
    options = [*platform, "--require-hashes", "--no-deps"]
    try:
        return download(final, extra.content, options, f"the wheels {extra.path} adds", progress)
    except ImageBuildError as e:
        raise extra_failure(str(e), extra, where) from e


def extra_failure(output: str, extra: ExtraRequirements, where: str) -> Refusal:
    """pip's refusal of a catalogue's extra requirement, as the line and the fix."""
    missing = _NO_WHEEL.search(output)
    pin = extra.line_of(missing.group(1).split("==")[0]) if missing else None
    if pin is not None:
        return UsageError(
            f"{extra.path}:{pin.line}: {pin.requirement} has no wheel for {where}; the sandbox "
            "installs wheels only (--only-binary :all:). Pick a version that publishes a "
            "py3-none-any or manylinux wheel for it, or another package")
    if "DO NOT MATCH THE HASHES" in output or "hash" in output.lower() and "expected" in output:
        return UsageError(
            f"{extra.path}: a downloaded wheel does not match the --hash the file gives for it "
            f"(pip said:\n{_tail(output)}\n). Regenerate the hashes with "
            "`pip-compile --generate-hashes` or `pip hash WHEEL`")
    return ImageBuildError(f"downloading the wheels of {extra.path} failed:\n{_tail(output)}")


def missing_dependencies(wheels: Path, known: Iterable[str]) -> list[tuple[str, str]]:
    """(package, dependency) pairs where a wheel in *wheels* needs something not *known*.

    Only unconditional requirements count: those behind an extra or an
    environment marker are the package's own business.
    """
    have = {normalise(n) for n in known}
    found = []
    for wheel in sorted(wheels.glob("*.whl")):
        for need in _requires(wheel):
            if normalise(need) not in have:
                found.append((wheel.name.split("-")[0], need))
    return found


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next((n for n in archive.namelist()
                         if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            return []
        text = archive.read(metadata).decode("utf-8", "replace")
    needs = []
    for line in text.split("\n\n", 1)[0].splitlines():
        if line.startswith("Requires-Dist:") and ";" not in line:
            found = re.match(r"\s*([A-Za-z0-9._-]+)", line.split(":", 1)[1])
            if found:
                needs.append(found.group(1))
    return needs


def _tail(output: str) -> str:
    return "\n".join(output.strip().splitlines()[-12:])


def run(argv: list[str], what: str, fix: str, progress: Progress,
        show: Callable[[str], bool], *, cwd: Path | None = None) -> None:
    """Run *argv* (never through a shell, in *cwd*), forwarding the lines *show* picks."""
    tail: deque[str] = deque(maxlen=30)
    try:
        pipe, out = subprocess.PIPE, subprocess.STDOUT
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=pipe, stderr=out, errors="replace", cwd=cwd
        )
    except OSError as e:
        raise ImageBuildError(f"{what}: cannot run {argv[0]}: {e}. {fix}") from e
    with proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail.append(line)
            if show(line):
                progress(line)
    if proc.returncode != 0:
        raise ImageBuildError(
            f"{what} failed with exit status {proc.returncode}:\n  {' '.join(argv)}\n"
            + "\n".join(tail)
            + f"\n{fix}"
        )


def remove_tree(path: Path, progress: Progress) -> None:
    """Remove a temp tree, but never descend into something still mounted there."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        mounts = []
    busy = [m for line in mounts for m in line.split()[1:2] if m.startswith(f"{path}/")]
    if busy:
        progress(f"warning: not removing {path}: {', '.join(busy)} still mounted; umount it first")
        return
    try:
        shutil.rmtree(path)
    except OSError as e:
        progress(f"warning: could not remove {path}: {e}")
