"""Property tests: no byte sequence from a submission crashes the grader.

Every parser of untrusted input is fed generated data (Hypothesis, deterministic
profile in conftest.py). The property each time: the grader answers with a
verdict or one of its own domain errors, never another exception, and whatever
it keeps can be written as UTF-8 and is bounded in size.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.batch import intake
from grader.common import untrusted_json
from grader.common.text import VALUE_LIMIT, safe_text
from grader.errors import SubmissionPathError
from grader.grading import staging
from grader.grading.checks import run_check
from grader.grading.compare import Assertion, check_response, extract
from grader.grading.http_client import (
    AppClient,
    AppUnreachable,
    NotSendable,
    RequestTimeout,
    Response,
    unix_socket,
)
from grader.grading.outcome import CheckOutcome
from grader.grading.scoring import CheckResult, GradeResult, Problem, Timings
from grader.reports import github, gradebook, junit
from grader.reports.html import environment, write_report
from grader.reports.verdict import ExerciseVerdict
from grader.sandbox.agent_client import (
    AgentClient,
    AgentGone,
    AgentRefused,
    AgentTimeout,
    SocketChannel,
)
from grader.spec.exercise import Check, Expect, Extract, load_exercise

from .helpers import InProcessMatcher, serve_raw

# Any text Python can hold, lone surrogates and controls included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
SURROGATE_TEXT = st.text(st.sampled_from(["\ud800", "\udfff", "a", "é", "\x00", "\n", "<"]),
                         max_size=50)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20)


def encodable(text: str | None) -> None:
    if text is not None:
        text.encode("utf-8")  # raises on a lone surrogate


# -- safe text and the JSON door ---------------------------------------------------------------


@given(ANY_TEXT | SURROGATE_TEXT, st.integers(1, 500))
def test_safe_text_is_encodable_and_bounded(text: str, limit: int) -> None:
    out = safe_text(text, limit)
    encodable(out)
    assert len(out) <= limit + 40
    if len(text) <= limit and not any("\ud800" <= ch <= "\udfff" for ch in text):
        assert out == text  # short and encodable: unchanged


@given(st.binary(max_size=300))
def test_untrusted_json_raises_only_notjson(data: bytes) -> None:
    try:
        untrusted_json.loads(data)
    except untrusted_json.NotJSON:
        pass


@given(st.integers(1, 200_000), st.sampled_from(["[", "{\"a\":"]))
@settings(max_examples=15)
def test_deep_json_is_refused_not_a_crash(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    doc = opener * depth + "1" + closer * depth
    if depth <= untrusted_json.MAX_DEPTH:
        assert untrusted_json.loads(doc) is not None
    else:
        with pytest.raises(untrusted_json.NotJSON, match="nested"):
            untrusted_json.loads(doc)


# -- JSON comparison ---------------------------------------------------------------------------


def _expect(**fields: Any) -> Expect:
    base: dict[str, Any] = dict(status=None, body=None, contains=(), not_contains=(),
                                regex=None, json=None, has_json=False, headers=())
    base.update(fields)
    return Expect(**base)


@given(JSON_VALUES, st.binary(max_size=300) | JSON_VALUES.map(
    lambda v: json.dumps(v).encode("utf-8", "surrogatepass")))
def test_json_comparison_never_raises(expected: Any, body: bytes) -> None:
    resp = Response(200, (), body, 0.0)
    (a,) = check_response(_expect(json=expected, has_json=True), resp, InProcessMatcher())
    encodable(a.expected)
    encodable(a.actual)
    extract(Extract("x", "json", "a.0"), resp, {}, InProcessMatcher())


@given(st.integers(101, 100_000))
@settings(max_examples=5)
def test_a_deep_json_body_fails_the_json_check(depth: int) -> None:
    resp = Response(200, (), b"[" * depth + b"]" * depth, 0.0)
    (a,) = check_response(_expect(json=[], has_json=True), resp, InProcessMatcher())
    assert not a.passed and a.actual is not None and a.actual.startswith("(not JSON)")


# -- the HTTP client ---------------------------------------------------------------------------

HEADER_NAME = st.text(st.sampled_from("abcXYZ-_:; \t\x00\x7f\u00e9"), min_size=0, max_size=12)
HEADER_VALUE = st.binary(max_size=80)


@st.composite
def raw_responses(draw: st.DrawFn) -> bytes:
    """A response as a hostile app might write it: any status line, headers, body framing."""
    parts: list[bytes] = []
    for _ in range(draw(st.integers(0, 2))):  # interim 1xx responses first
        parts.append(b"HTTP/1.1 1%02d Info\r\n\r\n" % draw(st.integers(0, 99)))
    status = draw(st.one_of(st.integers(0, 1200).map(lambda n: str(n).encode()),
                            st.binary(max_size=8)))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9", b"", b"\xff"]))
    parts.append(version + b" " + status + b" " + draw(st.binary(max_size=20)) + b"\r\n")
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from([b"Set-Cookie", b"Content-Length", b"Transfer-Encoding",
                                     b"Location", b"X-A", b"\xff\xfe"]))
        parts.append(name + b": " + draw(HEADER_VALUE).replace(b"\n", b"") + b"\r\n")
    if draw(st.booleans()):
        parts.append(b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(draw(st.integers(0, 3))):
            size = draw(st.sampled_from([b"0", b"5", b"ffffffffffffffff", b"-1", b"zz",
                                         b"1;ext=\xff", b""]))
            parts.append(size + b"\r\n" + draw(st.binary(max_size=10)) + b"\r\n")
    else:
        parts.append(b"\r\n" + draw(st.binary(max_size=100)))
    return b"".join(parts)


class _Scripted:
    """A raw unix-socket server that answers each connection with the next script."""

    def __init__(self) -> None:
        self.reply = b""

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            conn.recv(65536)
            conn.sendall(self.reply)
        except OSError:
            pass  # the client may hang up first


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Scripted, str]]:
    server = _Scripted()
    with serve_raw(server.handle, tmp_path_factory.mktemp("raw") / "app.sock") as path:
        yield server, path


@given(raw_responses())
@settings(max_examples=80)
def test_any_response_is_a_response_or_a_domain_error(
        scripted: tuple[_Scripted, str], reply: bytes) -> None:
    server, path = scripted
    server.reply = reply
    client = AppClient(unix_socket(path), 2.0)
    try:
        resp = client.get("/")
    except (AppUnreachable, RequestTimeout):
        return
    for name, value in resp.headers:
        encodable(name)
        encodable(value)
    encodable(resp.text)
    # Whatever cookies it kept can be sent back.
    try:
        client.get("/again")
    except (AppUnreachable, RequestTimeout):
        pass


COOKIE_VALUE = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=30)


@given(st.lists(COOKIE_VALUE, min_size=1, max_size=3))
@settings(max_examples=40)
def test_any_cookie_the_app_sets_can_be_sent_back(
        scripted: tuple[_Scripted, str], values: list[str]) -> None:
    server, path = scripted
    from werkzeug.http import dump_cookie

    headers = b"".join(b"Set-Cookie: " + dump_cookie(f"c{i}", v).encode("latin-1", "replace")
                       + b"\r\n" for i, v in enumerate(values))
    server.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + headers + b"\r\nok"
    client = AppClient(unix_socket(path), 2.0)
    client.get("/")
    server.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    assert client.get("/again").status == 200  # never ValueError('Invalid header value')


def test_werkzeugs_escaped_newline_cookie_round_trips(scripted: tuple[_Scripted, str]) -> None:
    server, path = scripted
    server.reply = (b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n'
                    b'Set-Cookie: note="a\\012b"; Path=/\r\n\r\n')
    client = AppClient(unix_socket(path), 2.0)
    client.get("/")
    assert client.cookies == {"note": "a\nb"}  # the value the app meant
    server.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert client.get("/").status == 200


def test_an_unsendable_extracted_value_is_not_sendable(scripted: tuple[_Scripted, str]
                                                       ) -> None:
    _server, path = scripted
    with pytest.raises(NotSendable):
        AppClient(unix_socket(path), 2.0).get("/", headers={"X-Token": "a\r\nInjected: 1"})


# -- the control channel -----------------------------------------------------------------------


class _Canned:
    """A Channel whose every answer is the same envelope."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply

    def call(self, op: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        if not isinstance(self.reply, dict) or not isinstance(self.reply.get("ok"), bool):
            raise AgentGone(op)  # what SocketChannel does with a wrong shape
        return self.reply

    def close(self) -> None:
        pass


def _ask_everything(agent: AgentClient) -> None:
    for call in (lambda: agent.load(("app",), True, timeout=1),
                 lambda: agent.migrate(timeout=1),
                 lambda: agent.models(timeout=1),
                 lambda: agent.repr("User", {"a": 1}, timeout=1),
                 lambda: agent.dump_db(timeout=1)):
        try:
            call()
        except AgentRefused as e:
            encodable(safe_text(e.failure.short()))
            assert len(e.failure.message) <= 2100
        except (AgentGone, AgentTimeout):
            pass


ENVELOPES = st.fixed_dictionaries(
    {"ok": st.booleans()},
    optional={"result": JSON_VALUES | st.dictionaries(
                  st.sampled_from(["models", "repr", "data", "dialect"]), JSON_VALUES),
              "error": JSON_VALUES | st.dictionaries(
                  st.sampled_from(["type", "message", "file", "line", "text", "traceback"]),
                  JSON_VALUES)})


@given(ENVELOPES | JSON_VALUES)
def test_any_envelope_is_an_answer_or_a_domain_error(reply: Any) -> None:
    _ask_everything(AgentClient(_Canned(reply)))


@given(st.lists(st.binary(max_size=200) | ENVELOPES.map(
    lambda v: json.dumps(v).encode("utf-8", "surrogatepass")), min_size=1, max_size=5))
@settings(max_examples=40)
def test_any_bytes_on_a_real_socket_are_an_answer_or_a_domain_error(
        tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]) -> None:
    path = str(tmp_path_factory.mktemp("ctl") / "ctl.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def agent() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(2)
            try:
                for line in lines:
                    request = json.loads(conn.recv(65536))
                    conn.sendall(_answering(request.get("id"), line) + b"\n")
            except (OSError, ValueError):
                pass  # the client closed

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    client = AgentClient(SocketChannel.connect(path))
    try:
        _ask_everything(client)
    finally:
        client.close()
        listener.close()
        thread.join(5)


def _answering(request_id: Any, line: bytes) -> bytes:
    """*line* as the answer to the request: a JSON object gets the request's id."""
    try:
        value = json.loads(line)
    except ValueError:
        return line
    if not isinstance(value, dict):
        return line
    return json.dumps({**value, "id": request_id}).encode("utf-8", "surrogatepass")


def test_a_control_answer_nested_100000_deep_is_agent_gone(tmp_path: Path) -> None:
    a, b = socket.socketpair()
    channel = SocketChannel(a)
    b.sendall(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    with pytest.raises(AgentGone, match="not JSON"):
        AgentClient(channel).models(timeout=5)
    a.close()
    b.close()


# -- database inspection -----------------------------------------------------------------------


GOOD_DDL = "CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE NOT NULL)"


def _good_database(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute(GOOD_DDL)
    conn.executemany("INSERT INTO user (username) VALUES (?)", [(f"u{i}",) for i in range(300)])
    conn.execute("CREATE INDEX ix ON user (username, id)")
    conn.commit()
    conn.close()
    return path.read_bytes()


class _DbTarget:
    """A checks.Target with a given database file and a models answer naming it."""

    def __init__(self, workdir: Path, data: bytes) -> None:
        self.workdir = workdir
        self.data = data

    @property
    def agent(self) -> AgentClient:
        return AgentClient(_Canned({"ok": True, "result": {"models": {"User": {
            "table": "user", "columns": []}}}}))

    def new_client(self, timeout: float) -> AppClient:
        raise AssertionError("no HTTP here")

    def left_out(self, table: str) -> str | None:
        return None

    changes = 0

    def restart(self, timeout: float) -> None:
        raise AssertionError("no restart here")

    def database_copy(self, timeout: float, file: str | None = None) -> Path:
        path = self.workdir / "copy.sqlite"
        path.write_bytes(self.data)
        return path


@pytest.fixture(scope="module")
def db_checks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Check, ...]:
    spec = tmp_path_factory.mktemp("spec") / "exercise.yaml"
    spec.write_text("""id: ex
title: T
checks:
  - name: columns
    points: 1
    model: {name: User, columns: {username: {type: string, unique: true}}}
  - name: unique
    points: 1
    database: {model: User, insert: [{username: a}, {username: a}], expect: unique_violation}
  - name: accepts
    points: 1
    database: {table: user, insert: [{username: zz}], expect: ok}
""", encoding="utf-8")
    return load_exercise(spec).checks


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _good_database(tmp_path_factory.mktemp("db") / "good.sqlite")


@st.composite
def damaged(draw: st.DrawFn, good: bytes) -> bytes:
    kind = draw(st.sampled_from(["random", "truncated", "flipped"]))
    if kind == "random":
        return draw(st.binary(max_size=4096))
    if kind == "truncated":
        return good[:draw(st.integers(0, len(good)))]
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 40))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@given(st.data())
@settings(max_examples=60)
def test_a_damaged_database_fails_checks_honestly(
        tmp_path_factory: pytest.TempPathFactory, db_checks: tuple[Check, ...],
        good_db: bytes, data: st.DataObject) -> None:
    blob = data.draw(damaged(good_db))
    target = _DbTarget(tmp_path_factory.mktemp("work"), blob)
    for check in db_checks:
        outcome = run_check(check, target, time.monotonic() + 10)
        assert outcome.status in ("passed", "failed", "timeout"), outcome.message
        encodable(outcome.message)


def test_a_corrupt_btree_page_fails_the_insert_check(tmp_path: Path,
                                                      db_checks: tuple[Check, ...],
                                                      good_db: bytes) -> None:
    data = bytearray(good_db)
    page = 4096
    data[2 * page:3 * page] = b"\xff" * page  # a b-tree page of the table, overwritten
    outcome = run_check(db_checks[2], _DbTarget(tmp_path, bytes(data)), time.monotonic() + 10)
    assert outcome.status == "failed"
    assert "not usable" in outcome.message


# -- file names in staging and intake ----------------------------------------------------------

NAME_BYTES = st.binary(min_size=1, max_size=20).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))


@given(st.lists(NAME_BYTES, min_size=1, max_size=5, unique=True))
@settings(max_examples=40)
def test_any_file_names_stage_or_are_refused(tmp_path_factory: pytest.TempPathFactory,
                                             names: list[bytes]) -> None:
    root = tmp_path_factory.mktemp("sub")
    for name in names:
        with open(os.path.join(os.fsencode(root), name), "wb") as fh:
            fh.write(b"x = 1\n")
    (root / "app.py").write_text("x = 1\n", encoding="utf-8")
    try:
        staged = staging.stage(root, tmp_path_factory.mktemp("staged") / "s")
    except SubmissionPathError as e:
        assert "normalization" in str(e)
        return
    assert len(staged.sha256) == 64


def test_nfd_names_are_staged_in_nfc(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café.html")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / nfd).write_text("x", encoding="utf-8")
    staged = staging.stage(tmp_path / "sub", tmp_path / "staged")
    assert staged.files == ("café.html",)
    assert (tmp_path / "staged" / "café.html").is_file()


def test_two_spellings_of_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for form in ("NFC", "NFD"):
        (tmp_path / "sub" / unicodedata.normalize(form, "café.py")).write_text("x = 1\n")
    with pytest.raises(SubmissionPathError, match="two ways"):
        staging.stage(tmp_path / "sub", tmp_path / "staged")


@given(st.lists(NAME_BYTES, min_size=1, max_size=5, unique=True))
@settings(max_examples=30)
def test_any_student_folder_names_make_writable_entries(
        tmp_path_factory: pytest.TempPathFactory, names: list[bytes]) -> None:
    root = tmp_path_factory.mktemp("class")
    for name in names:
        os.mkdir(os.path.join(os.fsencode(root), name + b".d"))
    listing = intake.discover(root)
    assert len({e.slug for e in listing.entries}) == len(listing.entries)
    for e in listing.entries:
        encodable(e.student)
        assert e.slug.isascii()


# -- report writing ----------------------------------------------------------------------------


def _result(text: str, status: str = "failed") -> GradeResult:
    check = CheckResult(id="c", name="c", kind="http", status=status,  # type: ignore[arg-type]
                        points=0, max_points=1, message=text,
                        assertions=(Assertion("body", False, "x", text),))
    return GradeResult(exercise="ex01", title="T", status=status,  # type: ignore[arg-type]
                       score=0, max_score=1, checks=(check,), submission=text,
                       spec_sha256="ab" * 32, image="img",
                       problem=Problem("RuntimeError", text, text, 3, text, text),
                       output=text, timings=Timings(), graded_at="now")


@given(ANY_TEXT | SURROGATE_TEXT)
@settings(max_examples=40)
def test_any_text_can_be_written_to_every_report(tmp_path_factory: pytest.TempPathFactory,
                                                 text: str) -> None:
    out = tmp_path_factory.mktemp("reports")
    result = write_report(_result(text), out, "r")
    json.loads((out / "r.json").read_bytes().decode("utf-8"))
    (out / "r.html").read_bytes().decode("utf-8")
    verdict = ExerciseVerdict(result, "app/", False, 1)
    junit.write(out / "junit.xml", [verdict])
    github.append(out / "summary.md", github.job_summary([verdict], text))
    row = gradebook.save(out, result, text, "alice", "ab" * 32, "img", None, environment())
    writer = gradebook.GradebookWriter(out, ("c",))
    writer.add(row)
    writer.close()
    for path in out.rglob("*"):
        if path.is_file():
            path.read_bytes().decode("utf-8")


@given(SURROGATE_TEXT)
@settings(max_examples=20)
def test_results_never_hold_a_lone_surrogate(text: str) -> None:
    result = _result(text)
    for value in (result.output, result.submission, result.checks[0].message,
                  result.checks[0].assertions[0].actual, result.problem.message,  # type: ignore[union-attr]
                  result.problem.traceback):  # type: ignore[union-attr]
        encodable(value)


def test_a_twelve_million_character_message_is_bounded() -> None:
    outcome = CheckOutcome("failed", (), "no model class named " + "M" * 12_000_000, 0.0)
    assert len(outcome.message) <= VALUE_LIMIT + 40


@pytest.mark.parametrize("interim, status", [
    (b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", 200),  # a hint, then the page
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n", 200),
    (b"HTTP/1.1 199 X\r\n\r\n" * 50, None),  # endless interim answers: unreachable
])
def test_interim_answers_are_skipped(scripted: tuple[_Scripted, str], interim: bytes,
                                     status: int | None) -> None:
    server, path = scripted
    server.reply = interim + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    if status is None:
        with pytest.raises(AppUnreachable, match="interim"):
            AppClient(unix_socket(path), 2.0).get("/")
    else:
        assert AppClient(unix_socket(path), 2.0).get("/").status == status
