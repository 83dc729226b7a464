"""Hostile class folders: every student gets one row, every output stays in --out.

Issue 10, the `grade batch` half. Archives are built here for real: damaged
ones, bombs whose headers lie (bzip2, LZMA, deflate), FIFOs and sockets named
like uploads, symlink loops, names the file system cannot hold, names made to
collide, names holding line breaks and formula starts. Most tests need no
sandbox: a refused upload never reaches one (``grade_entry`` with no engine).
Memory is measured in a child process (VmHWM), not with ru_maxrss, which a
child inherits from pytest's own peak.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.batch import names
from grader.batch.intake import Rejected, discover, unpack
from grader.batch.progress import BatchProgress
from grader.batch.run import find_students, rebuild
from grader.batch.worker import grade_entry
from grader.reports import html as report
from grader.reports.gradebook import SLUG, cell
from grader.sandbox import ImageRef
from grader.spec import catalog

from .helpers import EXERCISES, ROOT

APP = "from flask import Flask\napp = Flask(__name__)\n"
SOLUTION = (EXERCISES / "ex02" / "solution.py").read_text(encoding="utf-8")
GIB = 1 << 30


# -- building hostile archives ------------------------------------------------------------


def zeros_member(path: Path, method: int, size: int, declared: int | None = None) -> Path:
    """A zip holding app.py and ``bomb.bin`` (*size* zeros), its size header set to *declared*."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("app.py", APP)
        info = zipfile.ZipInfo("bomb.bin")
        info.compress_type = method
        with zf.open(info, "w", force_zip64=False) as raw:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                raw.write(chunk)
    if declared is not None:
        set_declared_size(path, "bomb.bin", size, declared)
    return path


def set_declared_size(path: Path, member: str, real: int, declared: int) -> None:
    """Make the local and central headers of *member* lie about its size."""
    data = bytearray(path.read_bytes())
    old, new = real.to_bytes(4, "little"), declared.to_bytes(4, "little")
    name = member.encode()
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        head, name_at = (30, 26) if sig == b"PK\x03\x04" else (46, 28)
        at = 0
        while (at := data.find(sig, at)) >= 0:
            n = int.from_bytes(data[at + name_at:at + name_at + 2], "little")
            if data[at + head:at + head + n] == name:
                assert data[at + offset:at + offset + 4] == old
                data[at + offset:at + offset + 4] = new
            at += 4
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Members declaring 2,000 bytes that hold far more zeros, one per method."""
    d = tmp_path_factory.mktemp("bombs")
    return {
        "bzip2": zeros_member(d / "bzip2.zip", zipfile.ZIP_BZIP2, GIB, 2000),
        "lzma": zeros_member(d / "lzma.zip", zipfile.ZIP_LZMA, GIB // 4, 2000),
        "deflate": zeros_member(d / "deflate.zip", zipfile.ZIP_DEFLATED, GIB // 16, 2000),
    }


PEAK_SCRIPT = """
import sys
from pathlib import Path
from grader.batch import unzip
def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
before = hwm()
try:
    unzip.unzip(Path(sys.argv[1]), Path(sys.argv[2]))
    message = "unpacked"
except unzip.Rejected as e:
    message = str(e)
print(before, hwm(), message)
"""


def peak_unzip(archive: Path, work: Path) -> tuple[int, str]:
    """Unzip *archive* in a fresh process: (peak memory growth in KiB, the outcome)."""
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(archive), str(work)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after, message = done.stdout.strip().split(" ", 2)
    return int(after) - int(before), message


@pytest.mark.parametrize("method", ["bzip2", "lzma", "deflate"])
def test_a_bomb_whose_header_lies_is_refused_with_bounded_memory(
        bombs: dict[str, Path], tmp_path: Path, method: str) -> None:
    grown, message = peak_unzip(bombs[method], tmp_path / "work")
    assert "holds more than the 2000 bytes its header declares" in message
    # zipfile alone took 2.1 GiB on the bzip2 bomb; bounded reads stay within a few MiB.
    assert grown < 32 << 10, f"{method} bomb: memory grew {grown} KiB"
    written = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert written < 1 << 20


def test_a_bomb_under_the_declared_cap_stops_at_the_cap(tmp_path: Path) -> None:
    # Declared 9 MiB (no ratio check below 1 MiB... so declare the truth minus the tail):
    # stored data, so only the running total can stop it.
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("app.py", APP)
        zf.writestr("a.bin", os.urandom(6 << 20))
        zf.writestr("b.bin", os.urandom(6 << 20))
    set_declared_size(z, "b.bin", 6 << 20, 1 << 20)
    grown, message = peak_unzip(z, tmp_path / "work")
    assert "holds more than" in message or "unpacks to more than" in message
    assert grown < 32 << 10


# -- damaged archives: each one is its student's error, whatever raises ---------------------


def damaged(path: Path, method: int, how: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("app.py", APP + "# padding " * 400)
    data = bytearray(path.read_bytes())
    start = 30 + len("app.py")
    if how == "corrupt":  # the compressed data itself
        for i in range(start + 8, start + 40):
            data[i] ^= 0x5A
    elif how == "truncated":  # cut inside the member, the directory kept
        central = data.index(b"PK\x01\x02")
        data = data[:start + 20] + data[central:]
    elif how == "method":  # an unknown compression method (deflate64)
        data[8:10] = (9).to_bytes(2, "little")
        at = data.index(b"PK\x01\x02")
        data[at + 10:at + 12] = (9).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


DAMAGED = [(m, h) for m in ("deflate", "bzip2", "lzma") for h in ("corrupt", "truncated")]
METHODS = {"deflate": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2,
           "lzma": zipfile.ZIP_LZMA, "stored": zipfile.ZIP_STORED}


@pytest.mark.parametrize(("method", "how"), [*DAMAGED, ("deflate", "method")],
                         ids=[f"{m}-{h}" for m, h in [*DAMAGED, ("deflate", "method")]])
def test_a_damaged_archive_is_the_students_error(tmp_path: Path, method: str, how: str) -> None:
    z = damaged(tmp_path / "class" / "eve.zip", METHODS[method], how)
    (entry,) = discover(z.parent).entries
    with pytest.raises(Rejected, match=r"^eve\.zip: "):
        unpack(entry, tmp_path / "work")


def test_an_lzma_member_asking_for_a_huge_dictionary_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "class" / "eve.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_LZMA) as zf:
        zf.writestr("app.py", APP)
    data = bytearray(z.read_bytes())
    props = 30 + len("app.py") + 4
    data[props + 1:props + 5] = (4 << 30).__sub__(1).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    with pytest.raises(Rejected, match="LZMA dictionary"):
        unpack(discover(z.parent).entries[0], tmp_path / "work")


def test_a_central_directory_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    z = tmp_path / "class" / "eve.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        for i in range(30000):
            zf.writestr(f"{i}", b"")
    with pytest.raises(Rejected, match="30000 entries"):
        unpack(discover(z.parent).entries[0], tmp_path / "work")


# -- file types and links -------------------------------------------------------------------


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging forever if something waits on a FIFO."""
    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("waited on a FIFO")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("name", ["eve.zip", "eve.py"])
def test_a_fifo_named_like_an_upload_is_refused_at_once(tmp_path: Path, alarm: None,
                                                       name: str) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    os.mkfifo(cls / name)
    (entry,) = discover(cls).entries
    assert (entry.student, entry.kind) == ("eve", "special")
    with pytest.raises(Rejected, match=r"not a regular file \(a FIFO\)"):
        unpack(entry, tmp_path / "work")


def test_a_socket_and_a_fifo_inside_a_folder_are_never_opened(tmp_path: Path,
                                                              alarm: None) -> None:
    cls = tmp_path / "class"
    (cls / "eve").mkdir(parents=True)
    (cls / "fay").mkdir()
    os.mkfifo(cls / "eve" / "upload.zip")  # the LMS layout: one .zip in the folder
    os.mkfifo(cls / "fay" / "app.py")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(cls / "gus.zip"))
    try:
        entries = {e.student: e for e in discover(cls).entries}
        assert entries["gus"].kind == "special"
        with pytest.raises(Rejected, match="a socket"):
            unpack(entries["gus"], tmp_path / "w1")
        for student in ("eve", "fay"):
            with pytest.raises(Rejected, match="no .py file"):
                unpack(entries[student], tmp_path / student)
    finally:
        sock.close()


def test_symlink_loops_are_data(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    (cls / "eve").mkdir(parents=True)
    (cls / "eve" / "app.py").write_text(APP)
    os.symlink("b", cls / "eve" / "a")  # a loop inside a student's folder
    os.symlink("a", cls / "eve" / "b")
    os.symlink("loop", cls / "loop")  # a loop at the top of the class folder
    os.symlink("x2", cls / "x1")
    os.symlink("x1", cls / "x2")
    entries = {e.student: e for e in discover(cls, skip=[cls / "out"]).entries}
    assert {k: e.kind for k, e in entries.items()} == {
        "eve": "folder", "loop": "link", "x1": "link", "x2": "link"}
    assert unpack(entries["eve"], tmp_path / "w") == cls / "eve"
    with pytest.raises(Rejected, match="a symbolic link"):
        unpack(entries["loop"], tmp_path / "w2")


# -- names -----------------------------------------------------------------------------------


def slug_ok(slug: str) -> bool:
    b = slug.encode("utf-8")
    return (len(b) <= 255 and b"/" not in b and b"\0" not in b and slug not in (".", "..")
            and SLUG.fullmatch(slug) is not None)


@given(st.lists(st.text(max_size=300), min_size=1, max_size=8, unique=True))
def test_the_name_to_folder_mapping_is_injective_and_safe(students: list[str]) -> None:
    slugs = [names.slug_for(s) for s in students]
    assert all(slug_ok(s) for s in slugs)
    # Injective even on a case-insensitive, normalisation-insensitive file system.
    folded = {unicodedata.normalize("NFC", s).casefold() for s in slugs}
    assert len(folded) == len(students)
    assert [names.slug_for(s) for s in students] == slugs  # the same on every run
    shown = names.display_names(students, slugs)
    assert len(set(shown)) == len(shown)
    assert not any(c in s for s in shown for c in "\r\n\x00\x1b\u2028\u202e")


@pytest.mark.parametrize("name", [".", "..", "..!", "/", "a/b", "a\0b", "A" * 300,
                                  "é" * 200, "\udcff\udcfe", "con", "-rf", "~"])
def test_awkward_names_map_to_one_safe_component(name: str) -> None:
    assert slug_ok(names.slug_for(name))


def test_names_made_to_collide_get_their_own_folders(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    nfc = unicodedata.normalize("NFC", "josé")
    nfd = unicodedata.normalize("NFD", "josé")
    folders = ["a b", names.slug_for("a b"), "a_b", "Alice", "alice", nfc, nfd, "!..",
               "x" * 250, "x" * 249 + "y", "r\r=HYPERLINK(1)", "n\n@SUM(1)"]
    for f in folders:
        (cls / f).mkdir(parents=True)  # every one an empty folder: refused, with a row
    (cls / "alice.py").write_text(APP)  # the same stem as the folder
    (cls / "alice.py.py").write_text(APP)  # ... whose full name is another's stem
    (cls / "..!").mkdir()  # hidden, like .Trashes: listed as not a submission
    listing = find_students(cls, tmp_path / "out")
    entries = listing.entries
    assert listing.skipped == ("..!",)
    assert len(entries) == len(folders) + 2
    assert len({e.slug.casefold() for e in entries}) == len(entries)
    assert len({e.student for e in entries}) == len(entries)
    out = tmp_path / "out"
    ex = catalog.find("ex02", EXERCISES)
    no_engine = SimpleNamespace(image=ImageRef("img:1", "sha256:1"), client=None)
    env = report.environment()
    for e in entries:
        if e.kind == "file":
            continue  # would need a sandbox; their folders are checked by the names
        row = grade_entry(e, ex, no_engine, out, False, env).row  # type: ignore[arg-type]
        assert (row.status, row.student, row.slug) == ("error", e.student, e.slug)
    created = sorted(p.name for p in (out / "students").iterdir())
    assert len(created) == len(entries) - 2
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    assert not (out / "grade.json").exists()
    rebuild(out, ex, no_engine.image, entries, env)
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text)))
    assert len(records) == 1 + len(entries) - 2  # the header, and one record per row
    assert len(text.splitlines()) == len(records)  # no line breaks inside a cell either
    for record in records[1:]:
        assert not record[0].lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    data = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    assert len({r["slug"] for r in data}) == len(data)


@pytest.mark.parametrize(("text", "expected"), [
    ("=1+1", "'=1+1"), ("\r=1+1", "\\x0d=1+1"), ("  @SUM(A1)", "'  @SUM(A1)"),
    ("a\nb", "a\\x0ab"), ("\t-1", "\\x09-1"), ("alice", "alice"),
])
def test_csv_cells_hold_one_line_and_no_formula(text: str, expected: str) -> None:
    assert cell(text) == expected


def test_progress_lines_stay_one_line_per_student() -> None:
    stream = io.StringIO()
    progress = BatchProgress(2, stream, live=False)
    progress.note("not submissions, skipped: a\n::error::x")
    progress.finished(names.shown("eve\n[2/2] mallory: 7/7 passed"), "error", 0, 7, 0.0,
                      False)
    progress.finished("bob\r\x1b[2Kfake", "error", 0, 7, 0.0, False)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert not any("\x1b" in line or "\r" in line for line in lines)
    assert lines[1].startswith("[1/2] eve\\x0a[2/2] mallory")


# -- end to end ------------------------------------------------------------------------------


def test_a_hostile_class_finishes_with_one_row_per_student(
        bombs: dict[str, Path], tmp_path: Path) -> None:
    """`grade batch --sandbox process` on everything above at once: exit 0, all under --out."""
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "alice.py").write_text(SOLUTION)  # an honest student among them
    damaged(cls / "bob.zip", zipfile.ZIP_DEFLATED, "corrupt")  # raised zlib.error once
    (cls / "carol.zip").write_bytes(bombs["bzip2"].read_bytes())  # took 2.1 GiB once
    os.mkfifo(cls / "eve.zip")  # hung the batch once
    (cls / "loop").mkdir()  # a loop inside a folder, and one at the top
    (cls / "loop" / "app.py").write_text(SOLUTION)
    os.symlink("b", cls / "loop" / "a")
    os.symlink("a", cls / "loop" / "b")
    os.symlink("top", cls / "top")
    for c in "xy":  # two 250-byte names: "File name too long" once
        (cls / (c * 246 + ".zip")).write_bytes(b"PK\x05\x06" + bytes(18))
    first = "a b"
    (cls / first).mkdir()  # and one named like the first one's folder
    (cls / names.slug_for(first)).mkdir()
    (cls / "!..").mkdir()  # became ".." once, and wrote to the top of --out
    (cls / "r\r=cmd|' -C calc'!A0").mkdir()
    (cls / "marked").mkdir()
    (cls / "marked" / ".grade-batch.json").write_text("{}")
    (cls / "sparse").mkdir()
    (cls / "sparse" / "app.py").write_text(SOLUTION)
    with open(cls / "sparse" / "data.bin", "wb") as fh:
        fh.truncate(2 * GIB)  # no disk used; staging stops at its cap
    out = tmp_path / "out"
    env = {**os.environ, "GRADE_SANDBOX": "process", "GRADE_EXERCISES": str(EXERCISES),
           "DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "batch", "ex02", str(cls),
                           "--out", str(out), "--jobs", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    students = 14
    data = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    assert len(data) == students
    assert len({r["slug"] for r in data}) == students
    by_name = {r["student"]: r for r in data}
    assert by_name["alice"]["status"] == "passed"
    assert by_name["loop"]["status"] == "passed"
    for name in ("bob", "carol", "eve", "top", "marked", "sparse"):
        assert by_name[name]["status"] == "error", name
    assert "declares" in by_name["carol"]["problem"]["message"]
    assert "FIFO" in by_name["eve"]["problem"]["message"]
    assert "more than 10 MiB" in by_name["sparse"]["problem"]["message"]
    assert "grade-batch.json" in by_name["marked"]["problem"]["message"]
    records = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))
    assert len(records) == students + 1
    assert not any(r[0].startswith(("=", "@", "+", "-")) for r in records)
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
    assert {p.name for p in out.iterdir()} <= {"gradebook.csv", "gradebook.json",
                                               "class.html", "students", ".grade-batch.json",
                                               ".grade-batch.lock"}
    lines = done.stderr.splitlines()
    assert sum(line.startswith("[") for line in lines) == students  # one line each
    assert "r\\x0d=cmd" in done.stderr
    assert not any("\r" in line for line in done.stdout.splitlines() + lines)
    # Resume: the same command again finds every student's folder.
    again = subprocess.run([sys.executable, "-m", "grader.cli", "batch", "ex02", str(cls),
                            "--out", str(out), "--jobs", "2"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "graded now 12 · already graded 2" in again.stdout  # errors: checked again
    assert len(list((out / "students").iterdir())) == students
