"""Staging a submission: what is copied, what is dropped, and what is refused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from grader.errors import SubmissionPathError, UsageError
from grader.grading import staging as submission
from grader.grading.staging import stage


def make_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


APP = {
    "app.py": "from flask import Flask\napp = Flask(__name__)\n",
    "helpers.py": "X = 1\n",
    "pkg/__init__.py": "",
    "templates/base.html": "<html>{% block b %}{% endblock %}</html>",
    "templates/pages/index.html": "{% extends 'base.html' %}",
    "static/style.css": "body {}",
}


def staged_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_stage_a_single_file(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"hello.py": "print('hi')\n", "other.py": "x"})
    staged = stage(src / "hello.py", tmp_path / "dest")
    assert staged.files == ("hello.py",)
    assert staged.folder == tmp_path / "dest" and staged.source == src / "hello.py"
    assert staged_files(tmp_path / "dest") == ["hello.py"]  # only that file
    assert (tmp_path / "dest" / "hello.py").read_text() == "print('hi')\n"


def test_stage_a_folder(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", APP)
    staged = stage(src, tmp_path / "dest")
    assert list(staged.files) == sorted(APP)
    assert staged_files(tmp_path / "dest") == sorted(APP)
    for rel, content in APP.items():
        assert (tmp_path / "dest" / rel).read_text() == content


@pytest.mark.parametrize("junk", [
    "__pycache__/app.cpython-311.pyc",  # bytecode caches
    "app.pyc",  # stray bytecode
    ".git/config",  # version control
    "venv/lib/site.py",  # a virtualenv
    ".venv/bin/python.py",  # another one
    "node_modules/x/index.js",  # front-end dependencies
    "instance/app.db",  # Flask's instance folder
    "data.db",  # a SQLite file
    ".DS_Store",  # macOS litter
    "templates/.DS_Store",  # at any depth
    "exercise.yaml",  # the spec, never
    "sub/exercise.yaml",  # not even nested
])
def test_junk_is_skipped(tmp_path: Path, junk: str) -> None:
    src = make_tree(tmp_path / "src", {"app.py": "x", junk: "junk"})
    staged = stage(src, tmp_path / "dest")
    assert staged.files == ("app.py",)
    assert staged_files(tmp_path / "dest") == ["app.py"]


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"secret.py": "SECRET = 1\n"})
    src = make_tree(tmp_path / "src", {"app.py": "x"})
    (src / "passwd.py").symlink_to("/etc/passwd")
    (src / "secret.py").symlink_to(outside / "secret.py")
    (src / "linked_dir").symlink_to(outside, target_is_directory=True)
    (src / "dangling.py").symlink_to(tmp_path / "nothing-here")
    staged = stage(src, tmp_path / "dest")
    assert staged.files == ("app.py",)
    assert staged_files(tmp_path / "dest") == ["app.py"]
    for p in (tmp_path / "dest").rglob("*"):
        assert not p.is_symlink()
        if p.is_file():
            assert b"root:" not in p.read_bytes()


@pytest.mark.parametrize(("files", "path", "problem"), [
    ({}, "missing.py", "no such file or folder"),  # nothing there
    ({"notes.txt": "x"}, "notes.txt", "not a Python file"),  # a single non-.py file
    ({"app.PY": "x"}, "app.PY", "not a Python file"),  # the suffix is case-sensitive
])
def test_bad_paths(tmp_path: Path, files: dict[str, str], path: str, problem: str) -> None:
    src = make_tree(tmp_path / "src", files)
    with pytest.raises(SubmissionPathError, match=problem) as info:
        stage(src / path, tmp_path / "dest")
    assert str(src / path) in str(info.value)
    assert isinstance(info.value, UsageError)


@pytest.mark.parametrize(("count", "ok"), [
    (3, True),  # at the limit
    (4, False),  # one over
])
def test_too_many_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int,
                        ok: bool) -> None:
    monkeypatch.setattr(submission, "MAX_FILES", 3)
    src = make_tree(tmp_path / "src", {f"m{i}.py": "x" for i in range(count)})
    if ok:
        assert len(stage(src, tmp_path / "dest").files) == count
    else:
        with pytest.raises(SubmissionPathError, match="more than 3 files"):
            stage(src, tmp_path / "dest")


@pytest.mark.parametrize(("size", "ok"), [
    (100, True),  # exactly the limit
    (101, False),  # one byte over
])
def test_too_many_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int,
                        ok: bool) -> None:
    monkeypatch.setattr(submission, "MAX_BYTES", 100)
    src = make_tree(tmp_path / "src", {"a.py": "a" * 60, "b.py": "b" * (size - 60)})
    if ok:
        stage(src, tmp_path / "dest")
    else:
        with pytest.raises(SubmissionPathError, match="MiB of files"):
            stage(src, tmp_path / "dest")


def test_a_too_big_single_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "MAX_BYTES", 10)
    src = make_tree(tmp_path / "src", {"app.py": "x" * 11})
    with pytest.raises(SubmissionPathError):
        stage(src / "app.py", tmp_path / "dest")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_an_unreadable_file(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"app.py": "x", "locked.py": "y"})
    (src / "locked.py").chmod(0)
    try:
        with pytest.raises(SubmissionPathError, match="locked.py: cannot be read"):
            stage(src, tmp_path / "dest")
    finally:
        (src / "locked.py").chmod(0o644)


def test_a_fifo_does_not_hang_staging(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"app.py": "x"})
    fifo = src / "pipe.py"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(stage(src, tmp_path / "dest"))
        except SubmissionPathError as e:
            outcome.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(1.0)
    hung = worker.is_alive()
    if hung:  # unblock the reader so the thread ends
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(2.0)
    assert not hung, "stage() blocked on a named pipe"


def digest(tmp_path: Path, name: str, files: dict[str, str]) -> str:
    src = make_tree(tmp_path / f"src-{name}", files)
    return stage(src, tmp_path / f"dest-{name}").sha256


def test_sha256_is_stable_and_follows_content(tmp_path: Path) -> None:
    base = digest(tmp_path, "a", APP)
    assert digest(tmp_path, "b", APP) == base  # same files, same digest
    assert digest(tmp_path, "c", dict(reversed(list(APP.items())))) == base  # any order
    assert digest(tmp_path, "d", APP | {"helpers.py": "X = 2\n"}) != base  # an edit
    renamed = {("util.py" if k == "helpers.py" else k): v for k, v in APP.items()}
    assert digest(tmp_path, "e", renamed) != base  # a rename
    assert digest(tmp_path, "f", APP | {"new.py": ""}) != base  # an added empty file
    assert digest(tmp_path, "g", APP | {"__pycache__/x.pyc": "z"}) == base  # skipped junk


def test_staged_files_are_readable_by_all_and_writable_by_none_else(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", APP)
    (src / "app.py").chmod(0o600)
    (src / "helpers.py").chmod(0o666)
    (src / "templates").chmod(0o700)
    staged = stage(src, tmp_path / "dest")
    paths = [staged.folder, *staged.folder.rglob("*")]
    for p in paths:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & stat.S_IROTH, f"{p} is not world-readable"
        assert not mode & stat.S_IWOTH, f"{p} is world-writable"
        assert not mode & stat.S_IWGRP, f"{p} is group-writable"
        if p.is_dir():
            assert mode & stat.S_IXOTH, f"{p} cannot be entered"
        else:
            assert not mode & stat.S_IXUSR, f"{p} is executable"


def test_the_destination_must_be_new(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"app.py": "x"})
    (tmp_path / "dest").mkdir()
    with pytest.raises(FileExistsError):
        stage(src, tmp_path / "dest")


def test_remove(tmp_path: Path) -> None:
    staged = stage(make_tree(tmp_path / "src", APP), tmp_path / "dest")
    submission.remove(staged.folder)
    assert not staged.folder.exists()
    submission.remove(staged.folder)  # twice is fine


_STAGE_AND_MEASURE = """
import sys
from pathlib import Path
from grader.errors import SubmissionPathError
from grader.grading.staging import stage
try:
    stage(Path(sys.argv[1]), Path(sys.argv[2]))
except SubmissionPathError as e:
    print("REFUSED:", e)
# VmHWM, the peak of this process's own memory: ru_maxrss would carry over the
# peak of the (large) pytest process that forked it, across exec.
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print("PEAK_KB:", peak.split()[1])
"""


@pytest.mark.parametrize("size", ["2G", "40G"])
def test_a_huge_sparse_file_is_refused_with_flat_memory(tmp_path: Path, size: str) -> None:
    # Staging once read each file whole before checking the cap: a sparse 40 GB file
    # was a MemoryError, a 2 GB one cost 2.1 GB. Measured in a fresh process, so the
    # peak is this staging's alone (about 40 MB here, mostly the interpreter).
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "app.py").write_text("x = 1\n", encoding="utf-8")
    subprocess.run(["truncate", "-s", size, str(folder / "data.bin")], check=True)
    done = subprocess.run([sys.executable, "-c", _STAGE_AND_MEASURE, str(folder),
                           str(tmp_path / "staged")], capture_output=True, text=True,
                          timeout=120, check=True)
    assert "REFUSED:" in done.stdout and "more than 10 MiB of files" in done.stdout
    assert "data.bin" in done.stdout  # names the file it stopped at
    peak_mb = int(done.stdout.split("PEAK_KB: ")[1]) / 1024
    assert peak_mb < 150, f"staging peaked at {peak_mb:.0f} MB"
