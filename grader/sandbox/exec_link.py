"""The host's end of the relay (sandbox/relay.py): many connections over one exec stream.

The Docker sandbox shares no folder with the host. The host reaches the
agent's sockets through a process the engine starts for it (``docker exec``),
whose stdin and stdout the engine's API carries: over a local socket, TCP with
TLS, SSH, or into Docker Desktop's VM, alike. :class:`ExecLink` multiplexes
that one stream: :meth:`ExecLink.open` returns an ordinary connected socket
(one end of a socket pair) for the agent's control socket or the app's HTTP
socket, so the agent client and the HTTP client work as they would over a
unix socket.

Every byte from the stream is untrusted and bounded: Docker's own framing and
the relay's are checked, a frame past its size or of an unknown kind ends the
link, and each connection keeps at most ``CHANNEL_CAP`` bytes its reader has
not taken yet. A broken link is an honest failure: every connection sees its
end (``AgentGone`` to the agent client, ``AppUnreachable`` to HTTP checks).

One thread does all the stream's I/O, so a TLS stream is never read and
written at once from two threads.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from grader.common.text import one_line

HEADER = struct.Struct("!IBI")  # channel, kind, payload length: as in sandbox/relay.py
OPEN, OPENED, DATA, CLOSE = 1, 2, 3, 4
MAX_PAYLOAD = 1 << 16
DOCKER_HEADER = struct.Struct(">BxxxL")  # Docker's own stdout/stderr framing of the stream
MAX_DOCKER_CHUNK = 1 << 20
CHANNEL_CAP = 32 << 20  # bytes a connection's reader has not taken; above MAX_CONTROL_REPLY
HIGH_WATER = 1 << 20  # bytes waiting for the stream past which connections are not read
READ_TURN = 1 << 20  # bytes read from the stream before other work gets a turn
KEEP_ERRORS = 4096  # bytes of the relay's stderr kept for messages
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                ssl.SSLWantWriteError, socket.timeout)


class LinkBroken(ConnectionError):
    """The exec stream ended or carried something that is not the relay's protocol."""


@dataclass
class _Channel:
    inner: socket.socket  # the loop's end of the pair; the caller holds the other
    answered: threading.Event = field(default_factory=threading.Event)
    opened: bool = False
    refused: str | None = None
    pending: bytearray = field(default_factory=bytearray)  # for the caller, not yet taken
    far_closed: bool = False  # the relay closed it; EOF once pending is delivered


class ExecLink:
    """Connections to the sandbox's sockets over one exec stream; owns its I/O thread."""

    def __init__(self, stream: Any, name: str) -> None:
        """*stream*: what ``APIClient.exec_start(..., socket=True)`` returned."""
        self._stream = stream  # kept: docker-py ties the connection's life to it
        self._sock = _selectable(stream)
        self._sock.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._lock = threading.Lock()
        self._out = bytearray()  # frames for the relay; shared with callers, under _lock
        self._channels: dict[int, _Channel] = {}  # under _lock
        self._next_id = 1
        self._doomed: list[socket.socket] = []  # ends given up by callers, under _lock
        self._selector = selectors.DefaultSelector()  # the I/O thread's alone from here
        self._masks: dict[socket.socket, int] = {}
        self._broken: str | None = None
        self._closing = False
        self._docker = bytearray()  # stream bytes not yet split into Docker's frames
        self._frames = bytearray()  # the relay's stdout not yet split into its frames
        self.errors = bytearray()  # the relay's stderr, capped at KEEP_ERRORS
        self._thread = threading.Thread(target=self._run, name=f"link-{name}", daemon=True)
        self._thread.start()

    # -- callers -----------------------------------------------------------------------------

    def open(self, target: str, timeout: float, *, confirmed: bool = True) -> socket.socket:
        """A connected socket to ``target`` ("ctl" or "app") in the sandbox.

        Raises ConnectionRefusedError (nothing listens there yet, or the relay
        said no), TimeoutError, or LinkBroken. *confirmed* False returns at
        once, saving a round trip: what the caller writes follows the relay's
        connect, and a refusal shows as the connection's end.
        """
        inner, outer = socket.socketpair()
        inner.setblocking(False)
        channel = _Channel(inner, opened=not confirmed)
        with self._lock:
            if self._broken is not None or self._closing:
                inner.close()
                outer.close()
                raise LinkBroken(self._broken or "the link is closed")
            cid = self._next_id
            self._next_id += 1
            self._channels[cid] = channel
            self._out += _frame(cid, OPEN, target.encode())
        self._wake()
        if not confirmed:
            return outer
        if not channel.answered.wait(timeout):
            self._abandon(cid)
            outer.close()
            raise TimeoutError(f"the sandbox did not answer a connection to {target!r} in time")
        if not channel.opened:
            outer.close()
            reason = channel.refused or "refused"
            if self._broken is not None:
                raise LinkBroken(self._broken)
            raise ConnectionRefusedError(f"{target}: {reason}")
        return outer

    @property
    def broken(self) -> str | None:
        """Why the link ended, if it has."""
        return self._broken

    def close(self) -> None:
        """End the link: every connection sees its end, the relay its stdin's end."""
        with self._lock:
            self._closing = True
        self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(2.0)
        for end in (self._wake_r, self._wake_w):
            end.close()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # full (a wake-up is pending anyway) or closed

    def _abandon(self, cid: int) -> None:
        """Give up a connection; the I/O thread closes its end (it owns the selector)."""
        with self._lock:
            channel = self._channels.pop(cid, None)
            if channel is not None:
                self._doomed.append(channel.inner)
                self._out += _frame(cid, CLOSE, b"")
        self._wake()

    # -- the I/O thread ------------------------------------------------------------------------

    def _run(self) -> None:
        reason = "the link was closed"
        try:
            self._selector.register(self._wake_r, selectors.EVENT_READ)
            more = False  # a TLS layer may hold decrypted bytes select() cannot see
            while True:
                with self._lock:
                    if self._closing:
                        break
                    doomed, self._doomed = self._doomed, []
                    want_out = bool(self._out)
                    busy = len(self._out) >= HIGH_WATER
                    channels = dict(self._channels)
                for sock in doomed:
                    self._close_inner(sock)
                self._arrange(want_out, busy, channels)
                for key, events in self._selector.select(0 if more else None):
                    if key.fileobj is self._wake_r:
                        _drain(self._wake_r)
                    elif key.fileobj is self._sock:
                        if events & selectors.EVENT_WRITE:
                            self._write_stream()
                    else:
                        self._service(key.data, events)
                more = self._read_stream()
        except LinkBroken as e:
            reason = str(e)
        except OSError as e:
            reason = f"the sandbox's stream failed: {e}"
        finally:
            self._selector.close()
            self._end(reason)

    def _arrange(self, want_out: bool, busy: bool, channels: dict[int, _Channel]) -> None:
        """Register what the loop waits for: the stream, and each connection's caller end."""
        wanted: dict[socket.socket, tuple[int, int | None]] = {self._sock: (selectors.EVENT_READ
                               | (selectors.EVENT_WRITE if want_out else 0), None)}
        for cid, ch in channels.items():
            mask = selectors.EVENT_READ if ch.opened and not busy else 0
            if ch.pending:
                mask |= selectors.EVENT_WRITE
            wanted[ch.inner] = (mask, cid)
        for sock in [s for s in self._masks if wanted.get(s, (0, None))[0] == 0]:
            self._selector.unregister(sock)
            del self._masks[sock]
        for sock, (mask, data) in wanted.items():
            if not mask:
                continue
            if sock not in self._masks:
                self._selector.register(sock, mask, data)
            elif self._masks[sock] != mask:
                self._selector.modify(sock, mask, data)
            self._masks[sock] = mask

    def _close_inner(self, sock: socket.socket) -> None:
        """Close a connection's loop end, unregistered first (its number may be reused)."""
        if self._masks.pop(sock, 0):
            self._selector.unregister(sock)
        sock.close()

    def _read_stream(self) -> bool:
        """Take what the stream has; True if more may wait in a TLS buffer."""
        taken = 0
        while taken < READ_TURN:
            try:
                chunk = self._sock.recv(1 << 16)
            except _WOULD_BLOCK:
                return False
            if not chunk:
                raise LinkBroken("the sandbox's stream ended" + self._last_words())
            taken += len(chunk)
            self._docker += chunk
            self._split_docker()
        return True

    def _split_docker(self) -> None:
        while len(self._docker) >= DOCKER_HEADER.size:
            kind, size = DOCKER_HEADER.unpack_from(self._docker)
            if kind not in (1, 2) or size > MAX_DOCKER_CHUNK:
                raise LinkBroken(f"the engine's stream is not framed as expected (kind {kind})")
            end = DOCKER_HEADER.size + size
            if len(self._docker) < end:
                return
            payload = bytes(self._docker[DOCKER_HEADER.size:end])
            del self._docker[:end]
            if kind == 2:
                self.errors += payload[:max(0, KEEP_ERRORS - len(self.errors))]
            else:
                self._frames += payload
                self._split_frames()

    def _split_frames(self) -> None:
        while len(self._frames) >= HEADER.size:
            cid, kind, size = HEADER.unpack_from(self._frames)
            if kind not in (OPENED, DATA, CLOSE) or size > MAX_PAYLOAD:
                raise LinkBroken(f"the sandbox's relay sent a malformed frame (kind {kind}, "
                                 f"{size} bytes)")
            end = HEADER.size + size
            if len(self._frames) < end:
                return
            payload = bytes(self._frames[HEADER.size:end])
            del self._frames[:end]
            self._on_frame(cid, kind, payload)

    def _on_frame(self, cid: int, kind: int, payload: bytes) -> None:
        with self._lock:
            channel = self._channels.get(cid)
        if channel is None:
            return  # late news of a connection already given up
        if kind == OPENED and not channel.opened:
            channel.opened = True
            channel.answered.set()
        elif kind == DATA and channel.opened and not channel.far_closed:
            channel.pending += payload
            if len(channel.pending) > CHANNEL_CAP:
                self._drop(cid, tell=True)  # its reader stopped reading
        elif kind == CLOSE:
            if not channel.opened:
                channel.refused = one_line(payload.decode("utf-8", "replace"), 200)
                self._drop(cid, tell=False)
                channel.answered.set()
            else:
                channel.far_closed = True
                if not channel.pending:  # the caller reads what is buffered, then the end
                    self._drop(cid, tell=False)

    def _write_stream(self) -> None:
        with self._lock:
            chunk = bytes(self._out[:1 << 18])
        try:
            sent = self._sock.send(chunk)
        except _WOULD_BLOCK:
            return
        with self._lock:
            del self._out[:sent]

    def _service(self, cid: int, events: int) -> None:
        with self._lock:
            channel = self._channels.get(cid)
        if channel is None:
            return
        if events & selectors.EVENT_WRITE and channel.pending:
            try:
                sent = channel.inner.send(channel.pending[:1 << 18])
            except _WOULD_BLOCK:
                sent = 0
            except OSError:  # the caller closed its end
                self._drop(cid, tell=True)
                return
            del channel.pending[:sent]
            if channel.far_closed and not channel.pending:
                self._drop(cid, tell=False)
                return
        if events & selectors.EVENT_READ:
            try:
                data = channel.inner.recv(MAX_PAYLOAD)
            except _WOULD_BLOCK:
                return
            except OSError:
                data = b""
            if data:
                with self._lock:
                    self._out += _frame(cid, DATA, data)
            else:  # the caller closed (or cut) its end
                self._drop(cid, tell=True)

    def _drop(self, cid: int, *, tell: bool) -> None:
        with self._lock:
            channel = self._channels.pop(cid, None)
            if channel is None:
                return
            if tell:
                self._out += _frame(cid, CLOSE, b"")
        self._close_inner(channel.inner)

    def _end(self, reason: str) -> None:
        with self._lock:
            self._broken = self._broken or reason
            channels = list(self._channels.values())
            self._channels.clear()
            doomed, self._doomed = self._doomed, []
        for sock in doomed:
            sock.close()
        for channel in channels:
            channel.inner.close()  # its caller reads the end
            channel.answered.set()
        try:
            self._sock.close()
        except OSError:
            pass
        close = getattr(self._stream, "close", None)
        if callable(close) and self._stream is not self._sock:
            try:
                close()
            except OSError:
                pass

    def _last_words(self) -> str:
        text = one_line(bytes(self.errors).decode("utf-8", "replace"), 300)
        return f" ({text})" if text else ""


def _frame(cid: int, kind: int, payload: bytes) -> bytes:
    return HEADER.pack(cid, kind, len(payload)) + payload


def _selectable(stream: Any) -> socket.socket:
    """The socket under docker-py's hijacked stream, one this process alone owns."""
    # docker-py hands a SocketIO for plain sockets; its _sock is the socket itself.
    raw = stream._sock if isinstance(stream, socket.SocketIO) else stream  # type: ignore[attr-defined]
    if isinstance(raw, ssl.SSLSocket):
        return raw  # docker-py keeps its response alive on it (TLS cannot be duplicated)
    if isinstance(raw, socket.socket):
        return raw.dup()  # the copy outlives whatever docker-py's objects do when collected
    if callable(getattr(raw, "fileno", None)) and type(raw).__name__ != "NpipeSocket":
        return raw  # type: ignore[no-any-return]  # an SSH channel: select() and recv() work
    raise LinkBroken(
        f"the Docker engine's connection ({type(raw).__name__}) cannot carry the sandbox's "
        "connections; on Windows, run grade inside WSL 2 with Docker Desktop's WSL "
        "integration turned on (README, \"On your own laptop\")")


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except _WOULD_BLOCK:
        pass


