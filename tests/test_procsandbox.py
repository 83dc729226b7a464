"""``--sandbox process``: the hostile cases again, without Docker, and what this mode contains.

The table reuses the hostile cases and honest scores of tests/helpers.py. Where process
mode differs from Docker the difference is written down here (and in
docs/ci.md), so a change in either shows up as a failure, not a surprise.
Slow cases run with shorter limits: the same mechanism stops them, sooner.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest

from grader.grading.run import grade
from grader.grading.scoring import GradeResult
from grader.sandbox import SandboxFactory, SandboxPlan, open_sandbox
from grader.sandbox import process_probe as procprobe
from grader.sandbox.process import ProcessSandbox
from grader.spec import catalog
from grader.spec.exercise import Exercise, Limits

from .helpers import (
    CASES,
    DAEMON_MARKER,
    EXERCISES,
    HOSTILE,
    ROOT,
    Case,
    known_bug,
    printed,
    shared_folders,
)

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="measures the root mode (uid per sandbox)")

Verify = Callable[[GradeResult, Path], None]


def _privileges_stay_dropped(result: GradeResult, tmp_path: Path) -> None:
    out = printed(result)
    assert "SETUID-DENIED" in out and "SETUID-OK" not in out
    assert "PASSWD-DENIED" in out and "SECRET-FILE:" not in out
    uid = int(out.split("IDS: uid=", 1)[1].split()[0])
    assert procprobe.UID_RANGE[0] <= uid <= procprobe.UID_RANGE[1]
    assert os.environ["GRADE_HOSTILE_CANARY"] not in out  # the grader's environment stays out


# What differs from Docker, per case: (problem kind, verify) overrides.
PROCESS_PROBLEM = {
    # RLIMIT_AS makes the allocation fail inside Python instead of the kernel's OOM kill
    "memory_bomb": "MemoryError",
}
PROCESS_VERIFY: dict[str, Verify | None] = {
    # Docker checks uid 10001; here each sandbox has its own uid from UID_RANGE
    "privileges": _privileges_stay_dropped,
}
SKIPPED = {
    # walks the host's whole file system (150 000 files, 26 s here) and finds the
    # world-readable specs: see test_world_readable_specs_are_readable instead
    "find_specs": "measured by test_world_readable_specs_are_readable",
}
# Shorter limits for the slow cases; the honest scores do not depend on them.
FAST = {"loop_at_import": {"startup": 3.0}, "loop_in_view": {"check": 2.0},
        "slow_headers": {"check": 2.0}}


@pytest.fixture(scope="module")
def backend() -> Iterator[SandboxFactory]:
    with open_sandbox("process") as made:
        assert made.plan.isolation is not None
        if "flask-sqlalchemy" in made.plan.isolation.missing:
            pytest.skip("the grader's Python lacks Flask-SQLAlchemy: pip install 'grade[process]'")
        yield made


@pytest.fixture
def boxes(backend: SandboxFactory) -> tuple[list[ProcessSandbox], Recording]:
    """A sandbox factory that remembers what it made."""
    factory = Recording(backend.plan)
    return factory.made, factory


class Recording(SandboxFactory):
    """Process sandboxes, each remembered for the test to inspect."""

    def __init__(self, plan: SandboxPlan) -> None:
        super().__init__(plan)
        self.made: list[ProcessSandbox] = []

    def __call__(self, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> ProcessSandbox:
        box = super().__call__(submission, limits, labels)
        assert isinstance(box, ProcessSandbox)
        self.made.append(box)
        return box


def _faster(exercise: Exercise, startup: float | None = None, check: float | None = None
            ) -> Exercise:
    limits = exercise.limits
    if startup is not None:
        limits = dataclasses.replace(limits, startup=startup)
    checks = exercise.checks
    if check is not None:
        checks = tuple(dataclasses.replace(c, timeout=min(c.timeout, check)) for c in checks)
    return dataclasses.replace(exercise, limits=limits, checks=checks)


def _planted_by(uid: int) -> list[Path]:
    """Files the sandbox uid left in the host's world-writable folders."""
    found = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            entries = list(Path(folder).iterdir())
        except OSError:
            continue
        found += [p for p in entries if _owner(p) == uid]
    return found


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:
        return None


def _at(case: Case, step: str) -> AbstractContextManager[None]:
    return known_bug(case.bug) if case.bug and case.bug_at == step else nullcontext()


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_submission_in_process_mode(
    name: str, backend: SandboxFactory,
    boxes: tuple[list[ProcessSandbox], Recording],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if name in SKIPPED:
        pytest.skip(SKIPPED[name])
    iso = backend.plan.isolation
    if name == "forged_results" and not (iso.mounts or iso.drop):
        pytest.skip("as your own user without a mount namespace, /tmp is writable (docs/ci.md)")
    if name == "privileges" and not iso.drop:
        pytest.skip("as your own user: see test_as_another_user_it_runs_as_that_user")
    _grade_case(name, *boxes, tmp_path, monkeypatch)


# Root without namespaces, as in GitLab's job containers: the uid, limits and clean-up
# still hold; the network does not (so the network case is left out: it would depend on
# whether this machine is online).
WITHOUT_NAMESPACES = ["daemon", "fork_bomb", "memory_bomb", "forged_results", "privileges",
                      "exit_at_import"]


@needs_root
@pytest.mark.parametrize("name", WITHOUT_NAMESPACES)
def test_hostile_submission_as_root_without_namespaces(
    name: str, backend: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert backend.plan.isolation is not None
    iso = dataclasses.replace(backend.plan.isolation, unshare=(), mounts=False)
    assert "THE NETWORK IS OPEN" in iso.describe()
    factory = Recording(dataclasses.replace(backend.plan, isolation=iso))
    _grade_case(name, factory.made, factory, tmp_path, monkeypatch)


def _grade_case(name: str, made: list[ProcessSandbox], factory: Recording,
                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Grade one hostile case; assert its honest grade, the clean-up and the verdict."""
    with shared_folders(CASES[name]):
        _grade_case_now(name, made, factory, tmp_path, monkeypatch)


def _grade_case_now(name: str, made: list[ProcessSandbox], factory: Recording,
                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    exercise = _faster(catalog.find(case.exercise, EXERCISES), **FAST.get(name, {}))
    monkeypatch.setenv("GRADE_HOSTILE_CANARY", f"canary-{os.getpid()}-{time.time_ns()}")
    folder = tmp_path / "submission"
    folder.mkdir()
    submission = folder / (case.submit_as or case.file)
    shutil.copyfile(HOSTILE / case.file, submission)

    started = time.monotonic()
    result = grade(exercise, submission, factory)
    elapsed = time.monotonic() - started

    shown = f"{result.score}/{result.status} {result.problem}\noutput: {result.output[:800]!r}"
    assert elapsed < case.seconds, f"grading took {elapsed:.1f} s\n{shown}"
    (box,) = made
    assert box.folder is not None and not box.folder.exists()
    if box.isolation.drop:  # as your own user, every process and file of yours would count
        assert not procprobe.processes_of(box.uid), "a process of the sandbox outlived it"
        assert not _planted_by(box.uid), "the sandbox left files in a shared folder"
    want = PROCESS_PROBLEM.get(name, case.problem)
    if want is None:
        assert result.problem is None, shown
    elif want == "*":
        assert result.problem is not None, shown
    else:
        assert result.problem is not None and result.problem.kind == want, shown
    with _at(case, "score"):
        assert (result.score, result.status) == (case.score, case.status), shown
    verify = PROCESS_VERIFY.get(name, case.verify)
    if verify is not None:
        with _at(case, "verify"):
            verify(result, tmp_path)


# -- what the mode contains, one property at a time ----------------------------------------

PROBE_APP = """
import os, sys
from flask import Flask

def attempt(label, action):
    try:
        action()
    except (OSError, ImportError) as e:
        print(f"{{label}}: DENIED ({{e}})", flush=True)
    else:
        print(f"{{label}}: ALLOWED", flush=True)

def write(folder):
    return lambda: open(os.path.join(folder, "planted.txt"), "w").close()

attempt("sock", write(os.environ["GRADE_SOCK_DIR"]))
attempt("site", write(sys.path[1]))
attempt("tmp", write("/tmp"))
attempt("home", write(os.environ["HOME"]))
attempt("chmod-sock", lambda: os.chmod(os.environ["GRADE_SOCK_DIR"], 0o777))
attempt("spec", lambda: open({spec!r}).read())
attempt("private", lambda: open({private!r}).read())
attempt("pytest", lambda: __import__("pytest"))
print("UID", os.getuid(), "GROUPS", os.getgroups(), flush=True)

app = Flask(__name__)
"""


@needs_root
def test_shared_folders_stay_read_only_and_private_files_unreadable(
    backend: SandboxFactory, boxes: tuple[list[ProcessSandbox], Recording],
    tmp_path: Path,
) -> None:
    made, factory = boxes
    private = Path(tempfile.mkdtemp(prefix="grade-test-private-"))  # 0700, like the spec cache
    try:
        (private / "exercise.yaml").write_text("hidden: true\n", encoding="utf-8")
        spec = EXERCISES / "ex01" / "exercise.yaml"
        app = tmp_path / "app.py"
        app.write_text(PROBE_APP.format(spec=str(spec), private=str(private / "exercise.yaml")),
                       encoding="utf-8")
        result = grade(catalog.find("ex01", EXERCISES), app, factory)
    finally:
        shutil.rmtree(private)
    out = printed(result)
    for label in ("sock", "site", "chmod-sock", "private"):
        assert f"{label}: DENIED" in out, out
    assert ("tmp: DENIED" in out) == backend.plan.isolation.mounts, out
    assert "home: ALLOWED" in out
    assert "pytest: DENIED" in out or "No module named 'pytest'" in out
    assert f"UID {made[0].uid} GROUPS []" in out
    # The documented limit: files every user may read are readable, the shipped specs too.
    assert "spec: ALLOWED" in out


@needs_root
def test_world_readable_specs_are_readable(
    boxes: tuple[list[ProcessSandbox], Recording], tmp_path: Path,
) -> None:
    """What find_specs would find: a spec under a world-readable path (docs/ci.md)."""
    _, factory = boxes
    app = tmp_path / "app.py"
    spec = EXERCISES / "ex01" / "exercise.yaml"
    app.write_text(f"from flask import Flask\nprint('HIDDEN' if 'hidden: true' in "
                   f"open({str(spec)!r}).read() else 'NOT-FOUND', flush=True)\n"
                   "app = Flask(__name__)\n", encoding="utf-8")
    result = grade(catalog.find("ex01", EXERCISES), app, factory)
    assert "HIDDEN" in printed(result)


@needs_root
def test_each_sandbox_runs_as_its_own_uid(
    boxes: tuple[list[ProcessSandbox], Recording],
) -> None:
    made, factory = boxes
    ex = catalog.find("ex01", EXERCISES)
    for _ in range(2):
        grade(ex, EXERCISES / "ex01" / "solution.py", factory)
    uids = {b.uid for b in made}
    assert len(uids) == 2 and 0 not in uids and os.getuid() not in uids


def test_reference_solutions_get_full_marks(
    boxes: tuple[list[ProcessSandbox], Recording],
) -> None:
    _, factory = boxes
    for ex_id in ("ex01", "ex02", "ex03", "ex04"):
        result = grade(catalog.find(ex_id, EXERCISES), EXERCISES / ex_id / "solution.py",
                       factory)
        failed = [(c.name, c.message) for c in result.checks if c.status != "passed"]
        assert result.status == "passed", (ex_id, result.problem, failed)


@needs_root
def test_copies_of_the_packages_serve_when_links_would_not_be_readable() -> None:
    folder = Path(tempfile.mkdtemp(prefix="grade-test-site-"))
    try:
        os.chmod(folder, 0o755)
        missing = procprobe.link_packages(folder / "site", copy=True)
        assert "flask" not in missing and not (folder / "site" / "flask").is_symlink()
        python, _ = procprobe.find_python(folder / "site", root=True)
        assert python
    finally:
        shutil.rmtree(folder)


def test_it_says_it_isolates_less_than_docker(backend: SandboxFactory) -> None:
    text = backend.plan.isolation.describe()
    assert "isolates less than Docker" in text
    assert ("no network" in text) == bool(backend.plan.isolation.unshare)


# -- not root: the same user, measured ---------------------------------------------------------

NOBODY = 65534
AS_NOBODY = """
import json, shutil, sys, tempfile
from pathlib import Path
from grader.spec import catalog
from grader.grading.run import grade
from grader.sandbox import open_sandbox
out = {}
with open_sandbox("process") as backend:
    out["describe"] = backend.plan.isolation.describe()
    for name, file in json.loads(sys.argv[1]).items():
        folder = Path(tempfile.mkdtemp())
        shutil.copyfile(Path(sys.argv[2]) / file, folder / "app.py")
        r = grade(catalog.find("ex01", Path(sys.argv[3])), folder / "app.py", backend)
        printed = r.output + r.hidden_output
        out[name] = {"score": r.score, "status": r.status, "output": printed[:4000]}
print(json.dumps(out))
"""


@needs_root
def test_as_another_user_it_runs_as_that_user(backend: SandboxFactory) -> None:
    """Grade as nobody: namespaces if permitted, but the student is the grader's user."""
    cases = {n: CASES[n].file for n in ("network", "daemon", "forged_results")}
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    work = Path(tempfile.mkdtemp(prefix="grade-test-nobody-"))
    os.chmod(work, 0o777)
    # It plants /tmp/results.json (as nobody, like another run of this test would).
    with shared_folders():
        _grade_as_nobody(backend, cases, paths, work)


def _grade_as_nobody(backend: SandboxFactory, cases: dict[str, str], paths: list[str],
                     work: Path) -> None:
    try:
        done = subprocess.run(
            [backend.plan.isolation.python, "-I", "-c",
             "import sys; sys.path[:0] = sys.argv[4].split(':'); exec(sys.argv[5])",
             json.dumps(cases), str(HOSTILE), str(EXERCISES), ":".join([str(ROOT), *paths]),
             AS_NOBODY],
            user=NOBODY, group=NOBODY, extra_groups=[], cwd=work, capture_output=True,
            text=True, timeout=90,
            env={"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work)})
    finally:
        planted = [p for p in _planted_by(NOBODY) if p.name in
                   ("results.json", "grade-result.json", "report.html", "junit.xml",
                    "evil.sock", "daemon.log")]
        for p in planted:
            p.unlink()
        shutil.rmtree(work, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert "YOUR OWN user" in out["describe"]
    for name in cases:
        assert (out[name]["score"], out[name]["status"]) == (CASES[name].score,
                                                             CASES[name].status), name
    daemons = [p for p in procprobe.processes_of(NOBODY) if DAEMON_MARKER.encode() in _cmdline(p)]
    assert not daemons, "the daemon outlived its sandbox"
    if "no network" in out["describe"]:
        assert "TCP to 1.1.1.1:53 failed" in out["network"]["output"]
    # Measured, and documented: the grader's own user may write the host's /tmp.
    assert "WROTE:/tmp/results.json" in out["forged_results"]["output"]
    assert any(p.name == "results.json" for p in planted)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
