"""What ``--sandbox process`` may do on this machine, found out once by trying.

Used by grader/sandbox/process.py. Every probe runs the real thing (the sandbox
user importing Flask, ``unshare`` making namespaces) rather than guessing from
versions or permissions.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import pwd
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.common.data_files import data_path
from grader.errors import SandboxError

# uids handed to sandboxes when the grader is root: systemd's range for dynamic
# users, minus nobody; one is only taken when no account and no process has it.
UID_RANGE = (61184, 65519)
WEAKER = "isolates less than Docker"


@dataclass(frozen=True)
class Isolation:
    """What this machine lets ``--sandbox process`` do, probed once."""

    python: str  # an interpreter the sandbox user can run
    site: Path  # the sandbox's only site-packages: links to the Flask packages
    drop: bool  # the grader is root: each sandbox runs as its own uid
    unshare: tuple[str, ...]  # command prefix making the namespaces, () if none
    mounts: bool  # root in a private mount namespace: tmpfs home, frozen /tmp
    pdeathsig: tuple[str, ...]  # prefix killing the sandbox if the grader dies
    missing: tuple[str, ...]  # sandbox packages the grader's Python lacks
    notes: tuple[str, ...]  # what could not be set up here, in words

    def describe(self) -> str:
        """The plain warning ``grade`` prints before grading in this mode."""
        who = ("a separate uid per submission, no groups" if self.drop
               else f"YOUR OWN user ({_user_name(os.getuid())}): it can read and change "
                    "whatever you can")
        nets = "no network (own network namespace)" if self.unshare else "THE NETWORK IS OPEN"
        lines = [f"--sandbox process {WEAKER}: the submission runs as {who}; {nets}; "
                 "resource limits; it can read every file that all users may read, "
                 "including the exercise specs installed with grade (docs/ci.md)."]
        lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)


def probe(site: Path) -> Isolation:
    """Fill *site* with the sandbox's packages and find out what this machine allows."""
    missing = link_packages(site, copy=False)
    if "flask" in missing:
        raise SandboxError("--sandbox process needs Flask in the grader's Python "
                           f"({sys.executable}); install it with `pip install "
                           "'grade[process]'`")
    root = os.geteuid() == 0
    try:
        python, notes = find_python(site, root)
    except SandboxError:
        if not root:
            raise
        # e.g. grade in a venv under /root: give the sandbox user its own copies
        shutil.rmtree(site)
        link_packages(site, copy=True)
        python, notes = find_python(site, root)
        notes.append("grade's packages are not readable by other users; the sandbox uses "
                     "copies of them")
    if missing:
        notes.append(f"not installed, so exercises using them fail to load: "
                     f"{', '.join(missing)} (pip install 'grade[process]')")
    unshare, mounts = find_namespaces(python, root, notes)
    pdeathsig: tuple[str, ...] = ()
    setpriv = shutil.which("setpriv")
    if setpriv is not None and _works([setpriv, "--pdeathsig", "KILL", "--", python, "-c", ""]):
        pdeathsig = (setpriv, "--pdeathsig", "KILL", "--")
    else:
        notes.append("no `setpriv --pdeathsig` (util-linux): if grade itself is killed with "
                     "SIGKILL, a sandbox may outlive it")
    if not root:
        notes.append("not root: processes, limits and the socket folder belong to your "
                     "user, so a determined submission can escape the clean-up; run as "
                     "root in a throwaway CI container, or use Docker")
    return Isolation(python, site, root, unshare, mounts, pdeathsig, tuple(missing),
                     tuple(notes))


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _requirements() -> list[str]:
    names = []
    text = (data_path("sandbox") / "requirements.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split("==", 1)[0].split(">", 1)[0].split("<", 1)[0].strip())
    return names


def link_packages(site: Path, *, copy: bool) -> list[str]:
    """Link (or copy) the sandbox image's packages, only those, into *site*.

    Returns the names of those the grader's Python lacks.
    """
    site.mkdir(mode=0o755)
    missing = []
    for name in _requirements():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        for top in _top_level(dist):
            target = Path(str(dist.locate_file(top)))
            if not target.exists():
                continue
            link = site / top
            if link.exists():
                continue
            if not copy:
                link.symlink_to(target)
            elif target.is_dir():
                shutil.copytree(target, link, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copyfile(target, link)
    if copy:
        for dirpath, _, filenames in os.walk(site):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
    return missing


def _top_level(dist: metadata.Distribution) -> set[str]:
    """The importable names a distribution installs, plus its .dist-info folder."""
    tops: set[str] = set()
    for f in dist.files or ():
        parts = f.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".pth"):
            continue
        if len(parts) == 1 and not parts[0].endswith((".py", ".so")):
            continue
        tops.add(parts[0])
    return tops


def _probe_as_sandbox_user(cmd: list[str], root: bool) -> subprocess.CompletedProcess[str]:
    uid = free_uid() if root else None
    try:
        return subprocess.run(cmd, user=uid, group=uid, extra_groups=[] if root else None,
                              capture_output=True, text=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return subprocess.CompletedProcess(cmd, 127, "", str(e))


def find_python(site: Path, root: bool) -> tuple[str, list[str]]:
    """An interpreter of our Python version that the sandbox user can run with *site*."""
    notes: list[str] = []
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [sys.executable, f"/usr/local/bin/python{version}", f"/usr/bin/python{version}"]
    if (found := shutil.which(f"python{version}")) is not None:
        candidates.append(found)
    probe = f"import sys; sys.path[:0] = [{str(site)!r}]; import flask, werkzeug"
    first_error = ""
    for python in dict.fromkeys(candidates):
        if not os.path.isfile(python):
            continue
        done = _probe_as_sandbox_user([python, "-I", "-S", "-c", probe], root)
        if done.returncode == 0:
            if python != sys.executable:
                notes.append(f"the grader's Python ({sys.executable}) is not readable by the "
                             f"sandbox user; using {python} with the grader's packages")
            return python, notes
        first_error = first_error or (done.stderr.strip().splitlines() or ["failed"])[-1]
    raise SandboxError(
        f"--sandbox process: the sandbox user cannot run Python {version} with Flask "
        f"({sys.executable}: {first_error}). Every user must be able to read the interpreter "
        "and grade's packages: install grade in a virtual environment made from a Python "
        "outside your home folder (e.g. `python3 -m venv /opt/grade`), or use Docker.")


def find_namespaces(python: str, root: bool, notes: list[str]
                     ) -> tuple[tuple[str, ...], bool]:
    unshare = shutil.which("unshare")
    if unshare is None:
        notes.append("no `unshare` (util-linux): the network is not cut off and processes "
                     "share the host's PID namespace")
        return (), False
    common = ("--net", "--pid", "--fork", "--kill-child", "--mount-proc")
    options: list[tuple[str, ...]]
    if root:
        options = [(unshare, *common, "--propagation", "private")]
    else:
        options = [(unshare, "--map-current-user", *common),
                   (unshare, "--user", *common), (unshare, "--user", "--net")]
    error = ""
    for prefix in options:
        try:
            done = subprocess.run([*prefix, python, "-I", "-S", "-c", "pass"],
                                  capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            error = str(e)
            continue
        if done.returncode == 0:
            if "--pid" not in prefix:
                notes.append("no PID namespace: a daemon that leaves the session may survive")
            return prefix, root
        error = error or done.stderr.strip()[-300:]
    notes.append(f"namespaces are not permitted here ({error or 'unshare failed'}): the "
                 "network is NOT cut off and the processes share the host's PID namespace")
    return (), False


def free_uid() -> int:
    """An unused uid: no account, and no running process has it."""
    busy = _uids_in_use()
    for _ in range(200):
        uid = random.randint(*UID_RANGE)
        if uid == 65534 or uid in busy:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise SandboxError(f"no free uid in {UID_RANGE[0]}-{UID_RANGE[1]} for the sandbox")


def _uids_in_use() -> set[int]:
    return {uid for _, uid, _ in processes()}


def processes() -> list[tuple[int, int, str]]:
    """(pid, real uid, state) of every process on the machine.

    From /proc/PID/status: the owner of /proc/PID is root for a process that
    changed its uid without exec'ing, as the sandbox's agent does.
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # gone
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            uid = int(fields["Uid"].split()[0])
        except (KeyError, ValueError, IndexError):
            continue
        found.append((int(entry), uid, fields.get("State", "?").strip()[:1]))
    return found


def processes_of(uid: int) -> list[int]:
    """Live (not zombie) processes whose real uid is *uid*."""
    return [pid for pid, owner, state in processes() if owner == uid and state != "Z"]


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
