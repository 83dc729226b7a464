"""The JSON-lines control channel to the sandbox agent (untrusted on the far side).

Both sandbox backends (Docker and process) speak it over ``ctl.sock``; every
answer is size-capped, deadline-bound and parsed strictly as JSON.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

MAX_CONTROL_REPLY = 16 << 20  # bytes; a database dump is the largest answer


class ControlTimeout(Exception):
    """The agent did not answer in time (the student's code is busy or stuck)."""


class ControlClosed(Exception):
    """The agent's connection closed or it answered nonsense: its process is gone."""


class ControlChannel:
    """One connection to the agent; requests are answered in order."""

    def __init__(self, path: str) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(path)
        self._buffer = b""

    def call(self, op: str, args: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        """Send one request; return the agent's reply, checked only for shape."""
        message = json.dumps({"op": op, "args": args or {}}).encode() + b"\n"
        deadline = time.monotonic() + timeout
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(message)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ControlTimeout(op)
                self._sock.settimeout(remaining)
                chunk = self._sock.recv(1 << 16)
                if not chunk:
                    raise ControlClosed(op)
                self._buffer += chunk
                if len(self._buffer) > MAX_CONTROL_REPLY:
                    raise ControlClosed(f"{op}: the sandbox sent an oversized answer")
        except TimeoutError as e:
            raise ControlTimeout(op) from e
        except (BrokenPipeError, ConnectionResetError) as e:
            raise ControlClosed(op) from e
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError as e:
            raise ControlClosed(f"{op}: the sandbox sent something that is not JSON") from e
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise ControlClosed(f"{op}: the sandbox sent a malformed answer")
        return reply

    def close(self) -> None:
        self._sock.close()
