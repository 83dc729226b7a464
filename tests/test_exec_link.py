"""The host's end of the exec stream: framing errors are honest failures, never hangs.

The far end here is the test itself, playing the engine and the relay over a
socket pair: it writes what the engine would (Docker's 8-byte stdout/stderr
headers around the relay's frames) and reads what the host sends to the
relay's stdin. The real relay, engine and hostile submissions are exercised by
the Docker tests (tests/test_hostile.py, case ``attack_relay``).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.sandbox import exec_link
from grader.sandbox.agent_client import AgentClient, AgentGone, SocketChannel
from grader.sandbox.exec_link import CLOSE, DATA, OPEN, OPENED, ExecLink, LinkBroken

HEADER = struct.Struct("!IBI")
DOCKER = struct.Struct(">BxxxL")


class FarEnd:
    """The engine and the relay, as the test plays them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(10)
        self.buffer = b""

    def send(self, cid: int, kind: int, payload: bytes = b"", stream: int = 1) -> None:
        frame = HEADER.pack(cid, kind, len(payload)) + payload
        self.raw(DOCKER.pack(stream, len(frame)) + frame)

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def frame(self) -> tuple[int, int, bytes]:
        while len(self.buffer) < HEADER.size:
            self._more()
        cid, kind, size = HEADER.unpack_from(self.buffer)
        while len(self.buffer) < HEADER.size + size:
            self._more()
        payload = self.buffer[HEADER.size:HEADER.size + size]
        self.buffer = self.buffer[HEADER.size + size:]
        return cid, kind, payload

    def frames_until(self, kind: int) -> tuple[int, int, bytes]:
        while True:
            found = self.frame()
            if found[1] == kind:
                return found

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the host closed the stream"
        self.buffer += chunk


@pytest.fixture
def pair() -> Iterator[tuple[ExecLink, FarEnd]]:
    host, far = socket.socketpair()
    link = ExecLink(host, "test")
    try:
        yield link, FarEnd(far)
    finally:
        link.close()
        far.close()
        host.close()


def _opened(link: ExecLink, far: FarEnd, target: str = "app") -> tuple[socket.socket, int]:
    """Open a connection, the far end accepting it."""
    box: list[socket.socket] = []
    opener = threading.Thread(target=lambda: box.append(link.open(target, 5.0)))
    opener.start()
    cid, kind, payload = far.frame()
    assert (kind, payload) == (OPEN, target.encode())
    far.send(cid, OPENED)
    opener.join(5.0)
    assert box, "open() did not return"
    box[0].settimeout(5.0)
    return box[0], cid


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_bytes_go_both_ways_and_the_far_close_ends_after_the_data(
        pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    conn, cid = _opened(link, far)
    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert far.frames_until(DATA) == (cid, DATA, b"GET / HTTP/1.0\r\n\r\n")
    far.send(cid, DATA, b"HTTP/1.0 200 OK\r\n\r\n")
    far.send(cid, DATA, b"hello")
    far.send(cid, CLOSE)
    assert _read_all(conn) == b"HTTP/1.0 200 OK\r\n\r\nhello"
    conn.close()


def test_a_refusal_says_why_in_one_clipped_line(pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            link.open("ctl", 5.0)
        except OSError as e:
            errors.append(e)

    opener = threading.Thread(target=attempt)
    opener.start()
    cid, _, _ = far.frame()
    far.send(cid, CLOSE, b"No such file\n\x1b[2J" + b"x" * 5000)
    opener.join(5.0)
    assert isinstance(errors[0], ConnectionRefusedError)
    message = str(errors[0])
    assert "No such file" in message and "\x1b" not in message and "\n" not in message
    assert len(message) < 300


def test_the_callers_close_reaches_the_relay(pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    conn, cid = _opened(link, far)
    conn.close()
    assert far.frames_until(CLOSE)[0] == cid


def test_an_unanswered_open_times_out_and_is_given_up(pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    with pytest.raises(TimeoutError):
        link.open("app", 0.2)
    cid, kind, _ = far.frame()
    assert kind == OPEN
    assert far.frames_until(CLOSE)[0] == cid
    far.send(cid, OPENED)  # too late: ignored
    conn, _ = _opened(link, far)  # the link still works
    conn.close()


def test_news_of_unknown_connections_is_ignored(pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    for cid in (0, 999, 2**32 - 1):
        far.send(cid, DATA, b"forged")
        far.send(cid, CLOSE)
        far.send(cid, OPENED)
    conn, cid = _opened(link, far)
    far.send(cid, DATA, b"real")
    far.send(cid, CLOSE)
    assert _read_all(conn) == b"real"


@pytest.mark.parametrize("garbage", [
    HEADER.pack(1, 9, 0),  # a kind the relay never sends
    HEADER.pack(1, DATA, exec_link.MAX_PAYLOAD + 1),  # past the frame limit
    HEADER.pack(1, OPEN, 3) + b"app",  # a host's kind, from the sandbox
])
def test_a_malformed_frame_breaks_the_link_honestly(pair: tuple[ExecLink, FarEnd],
                                                    garbage: bytes) -> None:
    link, far = pair
    conn, _ = _opened(link, far, "ctl")
    agent = AgentClient(SocketChannel(conn))
    far.raw(DOCKER.pack(1, len(garbage)) + garbage)
    with pytest.raises(AgentGone):
        agent.models(timeout=5.0)
    _wait_broken(link)
    assert "malformed" in str(link.broken)
    with pytest.raises(LinkBroken):
        link.open("app", 1.0)


@pytest.mark.parametrize("header", [DOCKER.pack(0, 4), DOCKER.pack(7, 4),
                                    DOCKER.pack(1, exec_link.MAX_DOCKER_CHUNK + 1)])
def test_a_stream_not_framed_by_docker_breaks_the_link(pair: tuple[ExecLink, FarEnd],
                                                       header: bytes) -> None:
    link, far = pair
    conn, _ = _opened(link, far)
    far.raw(header + b"abcd")
    assert _read_all(conn) == b""  # the connection ends
    _wait_broken(link)
    assert "not framed" in str(link.broken)


def test_the_relays_last_words_are_kept_short(pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    far.raw(DOCKER.pack(2, 9000) + b"E" * 9000)
    far.raw(DOCKER.pack(2, 20) + b"relay: bad frame\x1b[0m")
    far.sock.close()
    _wait_broken(link)
    assert len(link.errors) == exec_link.KEEP_ERRORS
    assert str(link.broken).startswith("the sandbox's stream ended")
    assert len(str(link.broken)) < 400 and "\x1b" not in str(link.broken)


def test_a_connection_nobody_reads_is_dropped_alone(pair: tuple[ExecLink, FarEnd],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exec_link, "CHANNEL_CAP", 1 << 20)
    link, far = pair
    stuck, stuck_id = _opened(link, far)
    for _ in range(40):  # 2.5 MiB the caller never reads
        far.send(stuck_id, DATA, b"x" * 65536)
    assert far.frames_until(CLOSE)[0] == stuck_id
    other, other_id = _opened(link, far)
    far.send(other_id, DATA, b"still fine")
    far.send(other_id, CLOSE)
    assert _read_all(other) == b"still fine"
    assert link.broken is None


@given(st.binary(max_size=2000))
def test_any_bytes_from_the_stream_end_in_data_or_an_honest_break(noise: bytes) -> None:
    host, far_sock = socket.socketpair()
    link = ExecLink(host, "fuzz")
    try:
        far_sock.sendall(noise)
        far_sock.close()
        _wait_broken(link)
        with pytest.raises(LinkBroken):
            link.open("app", 1.0)
    finally:
        started = time.monotonic()
        link.close()
        assert time.monotonic() - started < 3.0
        host.close()


def _wait_broken(link: ExecLink) -> None:
    deadline = time.monotonic() + 10.0
    while link.broken is None:
        assert time.monotonic() < deadline, "the link did not notice"
        time.sleep(0.01)


def test_an_unconfirmed_connection_sends_at_once_and_a_refusal_ends_it(
        pair: tuple[ExecLink, FarEnd]) -> None:
    link, far = pair
    conn = link.open("app", 5.0, confirmed=False)
    conn.settimeout(5.0)
    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    cid, kind, _ = far.frame()
    assert kind == OPEN
    assert far.frame() == (cid, DATA, b"GET / HTTP/1.0\r\n\r\n")  # before any answer
    far.send(cid, CLOSE, b"Connection refused")
    assert _read_all(conn) == b""
