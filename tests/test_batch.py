"""Batch grading on the real Docker engine: layouts, verdicts, resume, regrades, failures.

Each test grades a copy of ex02 under a unique exercise id, so the sandbox
containers it creates (labelled ``grade.exercise=<id>``) can be told apart from
those of other test runs sharing the engine.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker
import pytest

from grader.batch.run import BatchOptions, OutputFolder, find_students, run_batch
from grader.batch.worker import grade_entry
from grader.errors import UsageError
from grader.grading.pytest_plugin import GradingContext, run_checks
from grader.grading.run import grade
from grader.grading.scoring import GradeResult
from grader.grading.staging import stage
from grader.reports import html as report
from grader.reports.gradebook import save
from grader.sandbox import ImageRef, SandboxFactory
from grader.sandbox.agent_client import AgentGone
from grader.spec import catalog
from grader.spec.exercise import Exercise

from .helpers import EXERCISES, ROOT, SUBMISSIONS

SOLUTION = (EXERCISES / "ex02" / "solution.py").read_text(encoding="utf-8")
STARTER = (EXERCISES / "ex02" / "starter.py").read_text(encoding="utf-8")
HARDCODED = SOLUTION.replace('f"Hello, {name}!"', '"Hello, Alice!"')
BROKEN = "from flask import Flask\napp = Flask(__name__)\n\ndef greet(name)\n    pass\n"


def slow(seconds: float, n: int) -> str:
    """The solution, after *seconds* of loading; *n* makes each file unique."""
    return f"import time\ntime.sleep({seconds})\n{SOLUTION}# {n}\n"


CHECKS = ["greets Alice", "greets a name with a space", "greets a non-ASCII name",
          "greets any name (hidden)", "/greet/ without a name is 404"]
SUBMIT_FIELDS = {"exercise", "status", "score", "max_score", "checks", "report", "problem",
                 "spec_sha256", "image", "timings"}


@dataclass(frozen=True)
class Course:
    """A private copy of ex02 and the environment that makes `grade` use it."""

    exercises: Path
    id: str

    @property
    def spec(self) -> Path:
        return self.exercises / self.id / "exercise.yaml"

    def exercise(self) -> Exercise:
        return catalog.find(self.id, self.exercises)

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "GRADE_EXERCISES": str(self.exercises), "GRADE_SANDBOX": "docker",
                **extra}


@pytest.fixture
def course(tmp_path: Path, docker_client: docker.DockerClient,
           sandbox_image: ImageRef) -> Iterator[Course]:
    ex_id = f"batch-{uuid.uuid4().hex[:8]}"
    shutil.copytree(EXERCISES / "ex02", tmp_path / "exercises" / ex_id)
    spec = tmp_path / "exercises" / ex_id / "exercise.yaml"
    spec.write_text(spec.read_text().replace("id: ex02", f"id: {ex_id}"), encoding="utf-8")
    yield Course(tmp_path / "exercises", ex_id)
    # Workers of a killed batch remove their own sandboxes within a second or so.
    deadline = time.monotonic() + 10
    while (left := _containers(docker_client, ex_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"sandbox containers left behind: {left}"


def _containers(client: docker.DockerClient, ex_id: str) -> list[str]:
    return [c.name for c in client.containers.list(
        all=True, ignore_removed=True, filters={"label": f"grade.exercise={ex_id}"})]


def grade_cli(course: Course, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT,
                          env=env or course.env(), capture_output=True, text=True,
                          timeout=300)


def start_batch(course: Course, cls: Path, out: Path, *extra: str,
                env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "grader.cli", "batch", course.id, str(cls),
                             "--out", str(out), "--jobs", "2", *extra],
                            cwd=ROOT, env=env or course.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def write_class(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def rows(out: Path) -> dict[str, dict[str, object]]:
    data = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    return {r["student"]: r for r in data}


def stored(out: Path) -> dict[str, dict[str, object]]:
    """The per-student rows on disk (what a killed batch leaves)."""
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
            for p in (out / "students").glob("*/grade.json")}


def wait_for(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- layouts and verdicts ----------------------------------------------------------


@pytest.mark.docker
def test_every_layout_graded_as_submit_grades_it(course: Course, tmp_path: Path,
                                                 docker_client: docker.DockerClient,
                                                 docker_sandboxes: SandboxFactory) -> None:
    cls = write_class(tmp_path / "class", {
        "alice/app.py": SOLUTION,                        # one folder per student
        "bob.py": STARTER,                               # one .py file per student
        "__MACOSX/._bob.py": "junk", ".DS_Store": "junk", "notes.txt": "not a student",
        "frank/README.md": "forgot the code",            # nothing to grade
    })
    shutil.copytree(SUBMISSIONS / "ex02_blueprint", cls / "carol" / "carol-final")  # nested
    with zipfile.ZipFile(cls / "dave.zip", "w") as zf:   # a .zip, nested, with junk
        zf.writestr("dave/app.py", HARDCODED)
        zf.writestr("__MACOSX/dave/._app.py", "junk")
    (cls / "erin").mkdir()
    with zipfile.ZipFile(cls / "erin" / "erin.zip", "w") as zf:  # the upload in a folder
        zf.writestr("app.py", BROKEN)
    with zipfile.ZipFile(cls / "gina.zip", "w") as zf:   # zip-slip
        zf.writestr("app.py", SOLUTION)
        zf.writestr("../../outside.py", "x = 1")
    out = tmp_path / "out"

    done = grade_cli(course, "batch", course.id, str(cls), "--out", str(out), "--jobs", "3")

    assert done.returncode == 0, done.stderr
    assert "7 submissions" in done.stdout and "notes.txt" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table == [
        ["student", "score", "max", "status", *CHECKS],
        ["alice", "7", "7", "passed", "2", "1", "1", "2", "1"],
        ["bob", "0", "7", "failed", "0", "0", "0", "0", "0"],  # its 404 is guarded
        ["carol", "7", "7", "passed", "2", "1", "1", "2", "1"],
        ["dave", "3", "7", "failed", "2", "0", "0", "0", "1"],
        ["erin", "0", "7", "error", "0", "0", "0", "0", "0"],
        ["frank", "0", "7", "error", "0", "0", "0", "0", "0"],
        ["gina", "0", "7", "error", "0", "0", "0", "0", "0"],
    ]
    got = rows(out)
    assert all(SUBMIT_FIELDS <= set(r) for r in got.values())
    assert "zip-slip" in str(got["gina"]["problem"])
    assert "no .py file" in str(got["frank"]["problem"])
    assert "SyntaxError" in str(got["erin"]["problem"])
    assert not (tmp_path / "outside.py").exists()
    for student in got:
        folder = out / "students" / student
        assert {"report.html", "results.json", "grade.json"} <= {p.name for p in
                                                                  folder.iterdir()}
        assert json.loads((folder / "results.json").read_text())["score"] == got[student][
            "score"]
    page = (out / "class.html").read_text(encoding="utf-8")
    assert all(f'href="students/{s}/report.html"' in page for s in got)

    # The same verdicts as `grade submit` (which calls grade() once per submission).
    ex = course.exercise()
    for student, path in [("alice", cls / "alice"), ("carol", cls / "carol" / "carol-final")]:
        direct = grade(ex, path, docker_sandboxes).to_json()
        for key in ("status", "score", "max_score", "checks", "problem", "spec_sha256"):
            assert got[student][key] == direct[key], (student, key)
    submit = grade_cli(course, "submit", course.id, str(cls / "bob.py"), "--json",
                       "--report-dir", str(tmp_path / "single"))
    single = json.loads(submit.stdout)
    for key in ("status", "score", "max_score", "checks", "problem", "spec_sha256", "image"):
        assert got["bob"][key] == single[key], key


# -- resuming, regrading --------------------------------------------------------------


@pytest.mark.docker
def test_rerun_skips_what_is_graded_and_force_regrades(course: Course,
                                                       tmp_path: Path) -> None:
    cls = write_class(tmp_path / "class", {"alice.py": SOLUTION, "bob.py": STARTER,
                                           "carl.py": BROKEN})
    out = tmp_path / "out"
    args = ("batch", course.id, str(cls), "--out", str(out), "--jobs", "2")
    first = grade_cli(course, *args)
    assert first.returncode == 0, first.stderr
    assert "graded now 3 · already graded 0" in first.stdout
    before = stored(out)

    again = grade_cli(course, *args)
    assert again.returncode == 0, again.stderr
    assert "graded now 0 · already graded 3" in again.stdout
    assert stored(out) == before  # untouched

    (cls / "bob.py").write_text(SOLUTION + "# resubmitted\n", encoding="utf-8")
    changed = grade_cli(course, *args)
    assert "graded now 1 · already graded 2" in changed.stdout
    assert rows(out)["bob"]["score"] == 7 and rows(out)["bob"]["previous"] is None

    forced = grade_cli(course, *args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "graded now 3 · already graded 0" in forced.stdout
    assert "changed" not in forced.stdout  # same verdicts
    after = stored(out)
    assert after["alice"]["graded_at"] >= before["alice"]["graded_at"]
    assert after["alice"]["previous"]["score"] == 7  # type: ignore[index]


@pytest.mark.docker
def test_spec_change_reports_whose_score_changed(course: Course, tmp_path: Path) -> None:
    cls = write_class(tmp_path / "class", {"alice.py": SOLUTION, "bob.py": STARTER,
                                           "dave.py": HARDCODED})
    out = tmp_path / "out"
    args = ("batch", course.id, str(cls), "--out", str(out), "--jobs", "3")
    assert grade_cli(course, *args).returncode == 0
    text = course.spec.read_text(encoding="utf-8")
    # "greets Alice" now weighs 4 points: alice and dave pass it, bob does not.
    course.spec.write_text(text.replace("  - name: greets Alice\n    points: 2",
                                        "  - name: greets Alice\n    points: 4"),
                           encoding="utf-8")

    done = grade_cli(course, *args)

    assert done.returncode == 0, done.stderr
    assert "graded now 3 · already graded 0" in done.stdout
    assert "alice: 7 → 9 (the spec changed)" in done.stdout
    assert "dave: 3 → 5 (the spec changed)" in done.stdout
    assert "bob:" not in done.stdout  # 1 → 1
    got = rows(out)
    assert got["alice"]["max_score"] == 9
    assert got["alice"]["previous"]["score"] == 7  # type: ignore[index]
    page = (out / "class.html").read_text(encoding="utf-8")
    assert "Scores that changed when graded again" in page


# -- interruptions -----------------------------------------------------------------------


def _descendants(pid: int) -> set[int]:
    """The processes *pid* started, and theirs (from /proc)."""
    parents: dict[int, int] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path("/proc", entry, "stat").read_text(encoding="utf-8")
        except OSError:
            continue  # gone
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        at = todo.pop()
        children = {child for child, parent in parents.items() if parent == at}
        todo += children - found
        found |= children
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path("/proc", str(pid), "stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.docker
def test_resume_after_the_grader_is_killed(course: Course, tmp_path: Path) -> None:
    cls = write_class(tmp_path / "class", {f"s{i}.py": slow(1.0, i) for i in range(6)})
    out = tmp_path / "out"
    proc = start_batch(course, cls, out)
    workers: set[int] = set()
    try:
        wait_for(lambda: len(stored(out)) >= 2, 60, "two results")
        workers = _descendants(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    # Orphaned workers stop on their own (a grading in progress is cancelled, not
    # stored); what is stored is known only once they are gone.
    wait_for(lambda: not any(map(_running, workers)), 30, "the orphaned workers to stop")
    finished = stored(out)
    assert 2 <= len(finished) < 6, "the batch was not killed mid-way"
    for path in out.rglob("*.json"):  # nothing half-written
        json.loads(path.read_text(encoding="utf-8"))

    done = grade_cli(course, "batch", course.id, str(cls), "--out", str(out), "--jobs", "2")

    assert done.returncode == 0, done.stderr
    assert f"already graded {len(finished)}" in done.stdout
    after = stored(out)
    assert sorted(after) == [f"s{i}" for i in range(6)]
    assert all(r["status"] == "passed" for r in after.values())
    for student, row in finished.items():
        assert after[student]["graded_at"] == row["graded_at"]  # kept, not regraded


@pytest.mark.docker
def test_ctrl_c_stops_cleanly_and_resume_completes(course: Course, tmp_path: Path) -> None:
    cls = write_class(tmp_path / "class", {f"s{i}.py": slow(2.0, i) for i in range(4)})
    out = tmp_path / "out"
    proc = start_batch(course, cls, out)
    wait_for(lambda: (out / "gradebook.csv").exists() or proc.poll() is not None, 60,
             "the batch to start")
    time.sleep(1.0)  # grading the first two now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    done = grade_cli(course, "batch", course.id, str(cls), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert len(stored(out)) == 4


class EngineProxy:
    """A socket in front of the real Docker engine that can die the way an engine does."""

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self._socks: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def kill(self) -> None:
        for s in [self._listener, *self._socks]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.path.unlink()


@pytest.mark.docker
def test_engine_dying_stops_the_batch_and_resume_completes(course: Course,
                                                            tmp_path: Path) -> None:
    real = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not real.startswith("unix://"):
        pytest.skip("the engine proxy needs a unix socket")
    proxy = EngineProxy(tmp_path / "docker.sock", real.removeprefix("unix://"))
    cls = write_class(tmp_path / "class", {f"s{i}.py": slow(1.0, i) for i in range(6)})
    out = tmp_path / "out"
    proc = start_batch(course, cls, out,
                       env=course.env(DOCKER_HOST=f"unix://{tmp_path / 'docker.sock'}"))
    try:
        wait_for(lambda: len(stored(out)) >= 2, 60, "two results")
    finally:
        proxy.kill()
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 3, err
    assert "Docker engine stopped answering" in err
    assert "repeat the same command" in err and "Traceback" not in err
    assert 2 <= len(stored(out)) < 6

    done = grade_cli(course, "batch", course.id, str(cls), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(stored(out)) == [f"s{i}" for i in range(6)]
    assert all(r["status"] == "passed" for r in stored(out).values())


# -- in process: the API, and pytest never runs in the grader's own threads -------------


@pytest.mark.docker
def test_run_batch_keeps_pytest_out_of_the_main_process(course: Course, tmp_path: Path,
                                                        docker_sandboxes: SandboxFactory
                                                        ) -> None:
    cls = write_class(tmp_path / "class", {"alice.py": SOLUTION, "bob.py": STARTER,
                                           "carl.py": HARDCODED})
    hooks = (sys.unraisablehook, threading.excepthook, os.environ.copy())
    stream = io.StringIO()
    summary = run_batch(course.exercise(), find_students(cls, tmp_path / "out"),
                        docker_sandboxes, BatchOptions(tmp_path / "out", jobs=3), stream)
    # pytest.main in threads of this process would leave its hooks and variables behind.
    assert (sys.unraisablehook, threading.excepthook, os.environ.copy()) == hooks
    assert (summary.total, summary.graded, summary.skipped, summary.jobs) == (3, 3, 0, 3)
    assert summary.by_status == {"passed": 1, "failed": 2}
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("[") for line in lines)


def test_output_folder_belongs_to_one_exercise_and_one_batch(tmp_path: Path) -> None:
    ex2, ex1 = catalog.find("ex02", EXERCISES), catalog.find("ex01", EXERCISES)
    with OutputFolder(tmp_path, ex2):
        with pytest.raises(UsageError, match="another `grade batch` is writing there"):
            with OutputFolder(tmp_path, ex2):
                pass
    with OutputFolder(tmp_path, ex2):  # the lock was released
        pass
    with pytest.raises(UsageError, match="holds results of ex02 exercise, not ex01"):
        with OutputFolder(tmp_path, ex1):
            pass


@pytest.mark.parametrize(("args", "message"), [
    (["batch", "ex02", "{tmp}/missing"], "no such folder"),
    (["batch", "nope", "{tmp}"], "unknown exercise 'nope'"),
    (["batch", "ex02", "{tmp}/empty"], "no submissions found"),
])
def test_usage_errors_exit_2_without_traceback(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    done = subprocess.run([sys.executable, "-m", "grader.cli",
                           *(a.format(tmp=tmp_path) for a in args), "--out",
                           str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "GRADE_EXERCISES": str(EXERCISES)})
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


# -- a worker's decisions that need no engine -------------------------------------------


def test_refusal_found_while_staging_names_the_upload(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    with zipfile.ZipFile(cls / "many.zip", "w") as zf:
        for i in range(501):  # staging keeps at most 500 files
            zf.writestr(f"m{i}.py", "")
    (entry,) = find_students(cls, tmp_path / "out").entries
    ex = catalog.find("ex02", EXERCISES)
    no_engine = SimpleNamespace(image=ImageRef("img:1", "sha256:1"), client=None)
    outcome = grade_entry(entry, ex, no_engine, tmp_path / "out",  # type: ignore[arg-type]
                          False, report.environment())
    row = outcome.row
    assert (row.status, row.score, outcome.skipped) == ("error", 0.0, False)
    assert row.problem is not None and row.problem.kind == "Rejected"
    assert row.problem.message.startswith("many.zip: more than 500 files")
    assert row.key is None  # checked again on every run
    assert (tmp_path / "out" / "students" / "many" / "report.html").is_file()


def test_a_result_with_the_same_key_is_reused(tmp_path: Path) -> None:
    cls = write_class(tmp_path / "class", {"alice.py": SOLUTION})
    (entry,) = find_students(cls, tmp_path / "out").entries
    ex = catalog.find("ex02", EXERCISES)
    image = ImageRef("img:1", "sha256:1")
    digest = stage(cls / "alice.py", tmp_path / "staged").sha256
    result = GradeResult(ex.id, ex.title, "passed", 7.0, 7.0, (), str(cls / "alice.py"),
                         ex.spec_sha256, "img:1", graded_at="2024-05-01T10:00:00+00:00")
    kept = save(tmp_path / "out", result, "alice", "alice", digest, image.id, None,
                report.environment())
    # No engine is needed (the client is None): the stored result still holds.
    no_engine = SimpleNamespace(image=image, client=None)
    outcome = grade_entry(entry, ex, no_engine, tmp_path / "out",  # type: ignore[arg-type]
                          False, report.environment())
    assert outcome.skipped and outcome.row == kept


class PausingTarget:
    """A submission that is gone, whose first request waits for the test to say go."""

    def __init__(self, entered: threading.Event, go: threading.Event) -> None:
        self.entered = entered
        self.go = go

    def new_client(self, timeout: float) -> Any:
        self.entered.set()
        assert self.go.wait(30), "the other run never got this far"
        raise AgentGone("not a real app")

    @property
    def agent(self) -> Any:
        raise AgentGone("not a real app")

    def left_out(self, table: str) -> str | None:
        return None

    def database_copy(self, timeout: float, file: str | None = None) -> Path:
        raise AgentGone("not a real app")


def test_why_workers_are_processes_pytest_main_is_not_thread_safe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two grade()s in threads of one process: each restores globals the other set."""
    ex = catalog.find("ex02", EXERCISES)
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    saved = (os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"), sys.unraisablehook,
             threading.excepthook)
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()

    def checks(target: PausingTarget, done: threading.Event | None = None) -> None:
        run_checks(GradingContext(ex, target, time.monotonic() + 60))
        if done is not None:
            done.set()

    # Run A starts; run B starts while A runs its checks; A ends first, then B.
    a = threading.Thread(target=checks, args=(PausingTarget(a_in, b_in), a_done))
    b = threading.Thread(target=checks, args=(PausingTarget(b_in, a_done),))
    try:
        a.start()
        assert a_in.wait(30)
        b.start()
        a.join(60)
        b.join(60)
        leaked = (os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"), sys.unraisablehook)
    finally:
        os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        if saved[0] is not None:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved[0]
        sys.unraisablehook, threading.excepthook = saved[1], saved[2]
    # B restored what it saw at its start: A's value, long after A ended, so plugin
    # autoloading stays off for the whole process.
    assert leaked[0] == "1"


# -- the other sandbox ---------------------------------------------------------------------


def test_a_class_graded_with_the_process_sandbox(tmp_path: Path) -> None:
    """`grade batch --sandbox process` grades with no Docker engine involved at all."""
    cls = write_class(tmp_path / "class", {"alice.py": SOLUTION, "bob/app.py": STARTER,
                                           "carol.py": "def broken(:\n"})
    out = tmp_path / "out"
    # An unreachable engine: any attempt to use Docker would fail loudly.
    env = {**os.environ, "GRADE_SANDBOX": "process",
           "DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "batch", "ex02", str(cls),
                           "--out", str(out), "--jobs", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "isolates less than Docker" in done.stderr
    got = {name: (row["status"], row["score"]) for name, row in rows(out).items()}
    ex = catalog.find("ex02", EXERCISES)
    assert got["alice"] == ("passed", ex.max_score)
    # bob hands in the starter: its one passing check is guarded by "greets Alice"
    assert got["bob"] == ("failed", 0.0)
    assert got["carol"] == ("error", 0.0)
    assert all(str(r["image"]).startswith("process sandbox") for r in rows(out).values())
