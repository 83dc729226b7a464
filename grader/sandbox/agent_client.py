"""The host's side of the agent protocol: the one module that knows its wire format.

The agent (sandbox/agent.py) runs inside the sandbox, in the student's own
interpreter, so everything it says is untrusted. The wire format is JSON
lines over the agent's control connection: the host sends ``{"op": NAME, "args": {...}, "id":
ID}`` and the agent answers ``{"ok": true, "result": {...}, "id": ID}`` or
``{"ok": false, "error": {"type", "message", "file", "line", "text",
"traceback"}, "id": ID}``. Student code can write onto the connection too;
lines that do not carry the request's id are skipped, and what does carry it
is still only a claim that the host corroborates where it can (grading/run.py).
:class:`AgentClient` offers one typed method per op; each answer is
size-capped, deadline-bound and parsed strictly, never unpickled, and comes
back as plain frozen dataclasses.

Three exceptions say how a call ended when it did not answer the question:

    AgentTimeout   no answer in time (the student's code is busy or stuck)
    AgentGone      the connection closed, or the answer is malformed
    AgentRefused   the agent answered, with an error (carries an AgentFailure)
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from grader.common import untrusted_json

MAX_CONTROL_REPLY = 16 << 20  # bytes; a database dump is the largest answer
MAX_DB_DUMP = 8 << 20  # bytes of SQLite file
SEND_CHUNK = 512 << 10  # bytes of the submission's archive per request (agent.MAX_REQUEST)
_NO_ANSWER = "the app could not answer"
_NOT_LOADED = "the app could not be loaded"


class AgentTimeout(Exception):
    """The agent did not answer in time (the student's code is busy or stuck)."""


class AgentGone(Exception):
    """The agent's connection closed or it answered nonsense: its process is gone."""


@dataclass(frozen=True)
class AgentFailure:
    """The agent's own description of an error: a claim, clipped to size."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    text: str | None = None
    traceback: str | None = None
    explained: bool = True  # False: the agent gave no message, *message* is ours
    offset: int | None = None  # a SyntaxError's column in *text*, from 1
    database: str | None = None  # the database URL the app was opening, if it failed to
    tried: tuple[str, ...] = ()  # load: each candidate module and why it gave no app

    def short(self, limit: int = 300) -> str:
        if not self.explained:
            return self.message
        message = self.message
        if len(message) > limit:
            message = message[:limit] + f"… ({len(message)} chars)"
        return f"{self.kind}: {message}"


@dataclass(frozen=True)
class Loaded:
    """What the agent says it loaded: claims, shown to people, never used to score."""

    app: str = ""  # module and object, as `flask --app` spells them: "app.py:create_app()"
    env_files: tuple[str, ...] = ()  # which of .flaskenv and .env it read


class AgentRefused(Exception):
    """The agent answered the op with an error."""

    def __init__(self, failure: AgentFailure) -> None:
        super().__init__(failure.short())
        self.failure = failure


@dataclass(frozen=True)
class ColumnClaim:
    """A column as the student's process describes it; checks read the real schema instead."""

    name: str
    type: str
    length: int | None
    primary_key: bool
    unique: bool
    nullable: bool


@dataclass(frozen=True)
class ModelClaim:
    """A model class as the student's process describes it."""

    name: str
    table: str
    columns: tuple[ColumnClaim, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for instructor code: ``{"table": ..., "columns": {name: {...}}}``."""
        return {"table": self.table,
                "columns": {c.name: asdict(c) for c in self.columns}}


class Channel(Protocol):
    """Carries one request and returns the reply's envelope, checked only for shape."""

    def call(self, op: str, args: dict[str, Any], timeout: float) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SocketChannel:
    """JSON lines over a unix socket; an answer is the line that carries its request's id."""

    def __init__(self, sock: socket.socket) -> None:
        """A channel over a connected socket (see :meth:`connect`)."""
        self._sock = sock
        self._buffer = b""
        self._skipping = False
        self._nonce = secrets.token_hex(8)
        self._serial = 0

    @classmethod
    def connect(cls, path: str) -> SocketChannel:
        """A channel to the agent's control socket at *path*."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return cls(sock)

    def call(self, op: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        self._serial += 1
        request_id = f"{self._nonce}-{self._serial}"
        message = json.dumps({"op": op, "args": args, "id": request_id}).encode() + b"\n"
        deadline = time.monotonic() + timeout
        received = 0
        try:
            self._sock.settimeout(max(timeout, 0.001))
            self._sock.sendall(message)
            while True:
                line = self._line(op, deadline)
                received += len(line)
                if received > MAX_CONTROL_REPLY:
                    raise AgentGone(f"{op}: the sandbox sent an oversized answer")
                reply = _envelope(op, line)
                # Anything else on the line is not the answer to this request: frames
                # written by student code, or a late answer to an earlier one.
                if reply.get("id") == request_id:
                    return reply
        except TimeoutError as e:
            raise AgentTimeout(op) from e
        except OSError as e:  # broken pipe, reset: the far side is gone
            raise AgentGone(op) from e

    def _line(self, op: str, deadline: float) -> bytes:
        while True:
            if self._skipping:  # the rest of an oversized line: drop it, then read on
                end = self._buffer.find(b"\n")
                if end >= 0:
                    self._buffer = self._buffer[end + 1:]
                    self._skipping = False
                else:
                    self._buffer = b""
            if not self._skipping and b"\n" in self._buffer:
                line, _, self._buffer = self._buffer.partition(b"\n")
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AgentTimeout(op)
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                raise AgentGone(op)
            self._buffer += chunk
            if not self._skipping and len(self._buffer) > MAX_CONTROL_REPLY \
                    and b"\n" not in self._buffer:
                # Too long to be an answer: this call fails, and the next one starts
                # after the line ends, so one oversized frame spoils only one question.
                self._buffer = b""
                self._skipping = True
                raise AgentGone(f"{op}: the sandbox sent an oversized answer")

    def close(self) -> None:
        self._sock.close()


class AgentClient:
    """Typed calls to the agent in one sandbox; every answer is untrusted data."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    @classmethod
    def connect(cls, socket_path: str) -> AgentClient:
        """A client over the agent's control socket."""
        return cls(SocketChannel.connect(socket_path))

    def close(self) -> None:
        self._channel.close()

    # -- set-up steps ------------------------------------------------------------------

    def receive(self, archive: bytes, *, timeout: float) -> None:
        """Hand the agent the submission's files (a tar from archive.pack) to unpack."""
        deadline = time.monotonic() + timeout
        for start in range(0, max(len(archive), 1), SEND_CHUNK):
            chunk = archive[start:start + SEND_CHUNK]
            self._result("put", {"data": base64.b64encode(chunk).decode("ascii"),
                                 "last": start + SEND_CHUNK >= len(archive)},
                         max(0.0, deadline - time.monotonic()), unexplained=_NOT_LOADED)

    def load(self, entry: tuple[str, ...], create_tables: bool, *, timeout: float) -> Loaded:
        """Import the submission and find its Flask app (raises AgentRefused with why not)."""
        result = self._result("load", {"entry": list(entry), "create_tables": create_tables},
                              timeout, unexplained=_NOT_LOADED)
        return _loaded(result)

    def migrate(self, *, timeout: float) -> None:
        """Run the submission's own migrations (``flask db upgrade``)."""
        self._result("migrate", {}, timeout, unexplained=_NOT_LOADED)

    # -- questions about the loaded app ------------------------------------------------

    def models(self, *, timeout: float) -> dict[str, ModelClaim]:
        """The app's model classes and their tables, by class name."""
        models = self._result("models", {}, timeout).get("models")
        if not isinstance(models, dict):
            raise AgentGone("malformed models answer")
        claims: dict[str, ModelClaim] = {}
        for name, info in models.items():
            if not isinstance(info, dict) or not isinstance(info.get("table"), str):
                raise AgentGone("malformed models answer")
            columns = info.get("columns")
            if not isinstance(columns, list) or not all(_is_column(c) for c in columns):
                raise AgentGone("malformed column description")
            claims[str(name)] = ModelClaim(str(name), info["table"], tuple(
                ColumnClaim(c["name"], c["type"], c.get("length"), c["primary_key"],
                            c["unique"], c["nullable"]) for c in columns))
        return claims

    def repr(self, model: str, fields: dict[str, Any], *, timeout: float) -> str | None:
        """``repr(Model(**fields))`` in the app, or None if it is not a string."""
        text = self._result("repr", {"model": model, "fields": fields}, timeout).get("repr")
        return text if type(text) is str else None

    def jinja_filters(self, *, timeout: float) -> tuple[str, ...]:
        """The names of the app's Jinja filters: a claim, kept only as short plain names."""
        names = self._result("jinja_filters", {}, timeout).get("filters")
        if not isinstance(names, list):
            return ()
        return tuple(sorted({n for n in names[:1000] if type(n) is str and len(n) <= 100}))

    def dump_db(self, *, timeout: float) -> bytes:
        """The bytes of the app's SQLite database (AgentGone says why there are none)."""
        try:
            result = self._result("dump_db", {}, timeout)
        except AgentRefused as e:
            raise AgentGone(f"the app's database could not be read: {e.failure.message}") from e
        return _dump_bytes(result, "use SQLALCHEMY_DATABASE_URI='sqlite:///...'")

    def dump_file(self, path: str, *, timeout: float) -> bytes | None:
        """A copy of the SQLite file *path* in the app's folder; None if there is no such file.

        The agent refuses symbolic links and paths out of the folder (AgentRefused
        says why), and files SQLite cannot read.
        """
        result = self._result("dump_file", {"path": path}, timeout)
        if result.get("missing") is True:
            return None
        return _dump_bytes(result, f"{path!r} must be a SQLite file")

    def restart(self, *, timeout: float) -> Loaded:
        """Start the app again in a fresh process, its files kept (a ``restart`` step).

        Raises AgentRefused when the app no longer loads (the student's failure),
        AgentGone when the new process ended, AgentTimeout when it is slow.
        """
        result = self._result("restart", {}, timeout, unexplained=_NOT_LOADED)
        return _loaded(result)

    # -- the envelope ------------------------------------------------------------------

    def _result(self, op: str, args: dict[str, Any], timeout: float,
                unexplained: str = _NO_ANSWER) -> dict[str, Any]:
        reply = self._channel.call(op, args, timeout)
        if not reply["ok"]:
            raise AgentRefused(failure_from(reply.get("error"), unexplained))
        result = reply.get("result")
        if not isinstance(result, dict):
            raise AgentGone(f"{op}: malformed answer")
        return result


def _loaded(result: dict[str, Any]) -> Loaded:
    app = result.get("app")
    files = result.get("env_files")
    return Loaded(
        app=app[:300] if isinstance(app, str) else "",
        env_files=tuple(f for f in files if f in (".flaskenv", ".env"))
        if isinstance(files, list) else ())


def _dump_bytes(result: dict[str, Any], fix: str) -> bytes:
    """The SQLite file in a dump answer, decoded; AgentGone when there is none to read."""
    data = result.get("data")
    if not isinstance(data, str) or len(data) > MAX_DB_DUMP * 4 // 3 + 8:
        dialect = result.get("dialect")
        raise AgentGone(f"the app's database is not a SQLite file the grader can read "
                        f"(dialect {_clip(dialect, 40)!r}); {fix}")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error as e:
        raise AgentGone("the app's database dump is not valid base64") from e


def failure_from(error: Any, unexplained: str = _NO_ANSWER) -> AgentFailure:
    """Parse the agent's untrusted error description, clipping every field."""
    if not isinstance(error, dict):
        return AgentFailure("Error", unexplained, explained=False)

    def text(key: str, limit: int) -> str | None:
        value = error.get(key)
        return value[:limit] if isinstance(value, str) else None

    line = error.get("line")
    offset = error.get("offset")
    return AgentFailure(
        kind=text("type", 80) or "Error",
        message=text("message", 2000) or unexplained,
        explained=isinstance(error.get("message"), str),
        file=text("file", 300),
        line=line if type(line) is int else None,
        text=text("text", 500),
        traceback=text("traceback", 4000),
        offset=offset if type(offset) is int and 0 < offset <= 100_000 else None,
        database=text("database", 500),
        tried=_tried(error.get("tried")),
    )


def _tried(value: Any) -> tuple[str, ...]:
    """The agent's list of candidates tried: at most 11 lines of 200 characters."""
    if not isinstance(value, list):
        return ()
    return tuple(line[:200] for line in value[:11] if isinstance(line, str))


def _envelope(op: str, line: bytes) -> dict[str, Any]:
    try:
        reply = untrusted_json.loads(line, max_bytes=MAX_CONTROL_REPLY)
    except untrusted_json.NotJSON as e:
        raise AgentGone(f"{op}: the sandbox sent something that is not JSON ({e})") from e
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise AgentGone(f"{op}: the sandbox sent a malformed answer")
    return reply


def _is_column(c: Any) -> bool:
    return (isinstance(c, dict) and isinstance(c.get("name"), str)
            and isinstance(c.get("type"), str)
            and (c.get("length") is None or type(c.get("length")) is int)
            and all(type(c.get(k)) is bool for k in ("primary_key", "unique", "nullable")))


def _clip(value: Any, limit: int) -> Any:
    return value[:limit] if isinstance(value, str) else value
