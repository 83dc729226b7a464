"""The sandbox relay: the host's connections to the agent, carried over one exec stream.

The host starts this with ``docker exec`` as its own uid (not the student's),
so student code can neither signal it nor open its pipes. Its stdin and stdout
are the only channel between host and sandbox: no host folder is mounted, so
the same sandbox works on an engine in a VM (Docker Desktop) or on another
machine. It carries any number of byte streams ("channels") to the agent's two
unix sockets in ``/grade``, one frame at a time::

    frame   = channel (u32) · kind (u8) · length (u32) · payload (≤ 64 KiB)
    host →  OPEN (payload: b"ctl" or b"app"), DATA, CLOSE
    ← relay OPENED, DATA, CLOSE (before OPENED: refused, payload says why)

The first time the control socket accepts it makes ``/grade`` (a tmpfs it
owns) read-only to everyone else, as the process sandbox's host does, before
any student code exists. It exits when its stdin ends. Standard library only,
single-threaded: a fork bomb cannot stop it from starting threads.
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import sys

HEADER = struct.Struct("!IBI")
OPEN, OPENED, DATA, CLOSE = 1, 2, 3, 4
MAX_PAYLOAD = 1 << 16
SOCK_DIR = "/grade"
TARGETS = {b"ctl": "ctl.sock", b"app": "app.sock"}
HIGH_WATER = 1 << 20  # bytes waiting for stdout past which the sockets are not read
CHANNEL_CAP = 16 << 20  # bytes waiting for one socket past which it is dropped


class Relay:
    def __init__(self, sock_dir: str) -> None:
        self.sock_dir = sock_dir
        self.selector = selectors.DefaultSelector()
        self.incoming = bytearray()  # from stdin, not yet parsed
        self.outgoing = bytearray()  # frames for stdout
        self.channels: dict[int, socket.socket] = {}
        self.waiting: dict[int, bytearray] = {}  # per channel: bytes for its socket
        self.masks: dict[int, int] = {}
        self.locked = False
        os.set_blocking(0, False)
        os.set_blocking(1, False)

    def run(self) -> None:
        while True:
            self._arrange()
            for key, events in self.selector.select():
                if key.data == "stdin":
                    if not self._read_stdin():
                        return
                elif key.data == "stdout":
                    self._write_stdout()
                else:
                    self._service(int(key.data), events)

    # -- registrations ----------------------------------------------------------

    def _arrange(self) -> None:
        self._want(0, selectors.EVENT_READ, "stdin")
        self._want(1, selectors.EVENT_WRITE if self.outgoing else 0, "stdout")
        for cid, sock in self.channels.items():
            mask = selectors.EVENT_READ if len(self.outgoing) < HIGH_WATER else 0
            if self.waiting[cid]:
                mask |= selectors.EVENT_WRITE
            self._want(sock.fileno(), mask, cid)

    def _want(self, fd: int, mask: int, data: object) -> None:
        old = self.masks.get(fd, 0)
        if mask == old:
            return
        if not mask:
            self.selector.unregister(fd)
        elif not old:
            self.selector.register(fd, mask, data)
        else:
            self.selector.modify(fd, mask, data)
        self.masks[fd] = mask

    # -- the host's side ----------------------------------------------------------

    def _read_stdin(self) -> bool:
        try:
            chunk = os.read(0, 1 << 18)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.incoming += chunk
        while len(self.incoming) >= HEADER.size:
            cid, kind, size = HEADER.unpack_from(self.incoming)
            if size > MAX_PAYLOAD or kind not in (OPEN, DATA, CLOSE):
                sys.stderr.write(f"relay: bad frame (kind {kind}, {size} bytes)\n")
                return False
            if len(self.incoming) < HEADER.size + size:
                break
            payload = bytes(self.incoming[HEADER.size:HEADER.size + size])
            del self.incoming[:HEADER.size + size]
            self._frame(cid, kind, payload)
        return True

    def _frame(self, cid: int, kind: int, payload: bytes) -> None:
        if kind == OPEN:
            self._open(cid, payload)
        elif kind == DATA and cid in self.channels:
            self.waiting[cid] += payload
            if len(self.waiting[cid]) > CHANNEL_CAP:
                self._drop(cid, b"too much data waiting")
        elif kind == CLOSE and cid in self.channels:
            self._drop(cid, None)

    def _open(self, cid: int, target: bytes) -> None:
        name = TARGETS.get(target)
        if name is None or cid in self.channels:
            self._send(cid, CLOSE, b"no such target")
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)  # a full backlog refuses at once instead of blocking the relay
        try:
            sock.connect(os.path.join(self.sock_dir, name))
        except OSError as e:
            sock.close()
            self._send(cid, CLOSE, (e.strerror or type(e).__name__).encode()[:200])
            return
        if name == "ctl.sock" and not self.locked:
            self.locked = True
            try:
                os.chmod(self.sock_dir, 0o755)  # the agent then refuses to load (agent.op_load)
            except OSError as e:
                sys.stderr.write(f"relay: could not lock {self.sock_dir}: {e}\n")
        self.channels[cid] = sock
        self.waiting[cid] = bytearray()
        self._send(cid, OPENED, b"")

    def _write_stdout(self) -> None:
        try:
            written = os.write(1, self.outgoing[:1 << 18])
        except BlockingIOError:
            return
        except OSError:  # the host hung up
            raise SystemExit(0) from None
        del self.outgoing[:written]

    def _send(self, cid: int, kind: int, payload: bytes) -> None:
        self.outgoing += HEADER.pack(cid, kind, len(payload)) + payload

    # -- the agent's side -----------------------------------------------------------

    def _service(self, cid: int, events: int) -> None:
        sock = self.channels.get(cid)
        if sock is None:
            return
        if events & selectors.EVENT_WRITE:
            try:
                sent = sock.send(self.waiting[cid][:1 << 18])
                del self.waiting[cid][:sent]
            except BlockingIOError:
                pass
            except OSError:
                self._drop(cid, b"")
                return
        if events & selectors.EVENT_READ:
            try:
                data = sock.recv(MAX_PAYLOAD)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if data:
                self._send(cid, DATA, data)
            else:
                self._drop(cid, b"")

    def _drop(self, cid: int, reason: bytes | None) -> None:
        """Close a channel; tell the host unless it asked for the close (*reason* None)."""
        sock = self.channels.pop(cid)
        del self.waiting[cid]
        fd = sock.fileno()
        if self.masks.pop(fd, 0):
            self.selector.unregister(fd)
        sock.close()
        if reason is not None:
            self._send(cid, CLOSE, reason)


def main() -> None:
    Relay(SOCK_DIR).run()


if __name__ == "__main__":
    main()
