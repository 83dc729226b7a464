"""A small HTTP/1.1 client that reaches the student's app through the sandbox.

Each request asks the sandbox for a new connection (``Sandbox.dial_app``: a
socket the Docker sandbox carries over the engine's API, or a unix socket for
the process sandbox and tests, :func:`unix_socket`).

The app runs in the sandbox; this client runs on the trusted side. Every read
is bounded in bytes and in wall-clock time, because the other end is hostile.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from grader.common import untrusted_json
from grader.grading.evaluator import Evaluator, EvaluatorFailed, EvaluatorTimeout, shared

MAX_BODY = 2 << 20  # bytes of a response body kept for checking
Dial = Callable[[float], socket.socket]  # a new connection to the app, within a timeout
# What a browser would not send back in a Cookie header: controls and non-Latin-1.
_UNSENDABLE = re.compile(r"[\x00-\x1f\x7f]|[^\x00-\xff]")


class RequestTimeout(Exception):
    """The app did not answer within the check's time limit."""


class SlowToRead(RequestTimeout):
    """The answer came, but reading it (its str() says what) ran out of the check's time."""


class AppUnreachable(Exception):
    """The app's socket refused or dropped the connection (it probably crashed)."""


class NotSendable(Exception):
    """A request cannot be written: a value taken from the app's earlier answer breaks it."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    elapsed: float
    truncated: bool = False

    def __repr__(self) -> str:
        # Short, for pytest's explanation of a failed assertion in a pytest check.
        return f"<Response {self.status}, {len(self.body)} bytes>"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def json(self) -> Any:
        """The body as JSON; raises untrusted_json.NotJSON (a ValueError) if it is not."""
        return untrusted_json.loads(self.body)


MAX_INTERIM = 20  # 1xx answers skipped before the real one


class _Response(http.client.HTTPResponse):
    """Skips every interim 1xx answer, as browsers do (http.client skips only 100).

    An app that sends ``103 Early Hints`` before its page is right, and must not
    be graded on the hint; an endless stream of them is cut after MAX_INTERIM.
    """

    def _read_status(self) -> tuple[str, int, str]:
        for _ in range(MAX_INTERIM):
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not (100 <= status < 200) or status == 101:
                return version, status, reason
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        raise http.client.HTTPException(f"more than {MAX_INTERIM} interim (1xx) answers")


def unix_socket(path: str) -> Dial:
    """Connections to an app listening on the unix socket at *path*."""

    def dial(timeout: float) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock

    return dial


class _DialedConnection(http.client.HTTPConnection):
    response_class = _Response

    def __init__(self, dial: Dial, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._dial = dial
        self._connect_timeout = timeout

    def connect(self) -> None:
        sock = self._dial(self._connect_timeout)
        sock.settimeout(self._connect_timeout)
        self.sock = sock


def _cut(sock: socket.socket, expired: threading.Event) -> None:
    expired.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to cut


class AppClient:
    """One browser-like session: it keeps cookies between requests."""

    def __init__(self, dial: Dial, timeout: float,
                 evaluator: Evaluator | None = None) -> None:
        self.dial = dial
        self.timeout = timeout
        self.cookies: dict[str, str] = {}  # name → value, as the app meant it
        # name → value as it came on the wire: what a browser sends back. The decoded
        # value may hold a newline (Werkzeug quotes it as "a\012b"), which no header can.
        self._wire: dict[str, str] = {}
        # time.monotonic() past which no request waits, however many a check sends
        self.deadline: float | None = None
        self.evaluator = evaluator or shared()  # parses the cookies the app sets

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = False,
        timeout: float | None = None,
    ) -> Response:
        """Send one request; with follow_redirects, follow up to 5 redirects."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        send_headers = dict(headers or {})
        body: bytes | None = None
        if form is not None:
            body = urlencode(form).encode()
            send_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            send_headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        target = path + ("?" + urlencode(query) if query else "")
        response = self._send(method, target, body, send_headers, deadline)
        for _ in range(5):
            location = response.header("Location")
            if not (follow_redirects and location and 300 <= response.status < 400):
                break
            # Relative to the page that redirected; only the app is ever asked.
            where = urlsplit(urljoin("http://app" + target.split("?")[0], location))
            target = where._replace(scheme="", netloc="").geturl() or "/"
            if response.status in (301, 302, 303) and method != "HEAD":
                method, body = "GET", None  # as browsers do: the form is not sent again
                send_headers = {k: v for k, v in send_headers.items()
                                if k.lower() != "content-type"}
            response = self._send(method, target, body, send_headers, deadline)
        return response

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def _send(self, method: str, target: str, body: bytes | None, headers: dict[str, str],
              deadline: float) -> Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout(f"{method} {target}")
        all_headers = dict(headers)
        if self.cookies and not any(k.lower() == "cookie" for k in all_headers):
            all_headers["Cookie"] = "; ".join(f"{k}={self._wire.get(k, v)}"
                                              for k, v in self.cookies.items())
        conn = _DialedConnection(self.dial, remaining)
        # Socket timeouts restart on every read, so an app dripping header bytes could
        # outlast any deadline; this watchdog cuts the connection when time is up.
        expired = threading.Event()
        watchdog: threading.Timer | None = None
        start = time.monotonic()
        try:
            conn.connect()
            # Keep the socket itself: http.client drops conn.sock once the response owns it.
            watchdog = threading.Timer(remaining, _cut, args=(conn.sock, expired))
            watchdog.daemon = True
            watchdog.start()
            try:
                conn.request(method, target, body=body, headers=all_headers)
            except (ValueError, http.client.InvalidURL) as e:
                # A newline in an extracted value, a control character in a path.
                raise NotSendable(f"{method} {target[:200]!r} cannot be sent: {e}") from e
            raw = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while not truncated:
                chunk = raw.read1(65536) if method != "HEAD" else b""
                if not chunk:
                    break
                if size + len(chunk) > MAX_BODY:
                    chunk = chunk[:MAX_BODY - size]
                    truncated = True
                size += len(chunk)
                chunks.append(chunk)
            header_pairs = tuple((k, v) for k, v in raw.getheaders())
            status = raw.status
        except TimeoutError as e:
            raise RequestTimeout(f"{method} {target}") from e
        except (ConnectionError, FileNotFoundError, http.client.HTTPException, OSError) as e:
            if expired.is_set():
                raise RequestTimeout(f"{method} {target}") from e
            raise AppUnreachable(f"{method} {target}: {e}") from e
        finally:
            if watchdog is not None:
                watchdog.cancel()
            conn.close()
        if expired.is_set():
            raise RequestTimeout(f"{method} {target}")
        self._remember_cookies(header_pairs, deadline)
        return Response(status, header_pairs, b"".join(chunks), time.monotonic() - start,
                        truncated)

    def _remember_cookies(self, headers: tuple[tuple[str, str], ...], deadline: float) -> None:
        values = [value for name, value in headers if name.lower() == "set-cookie"]
        if not values:
            return
        # Python's cookie parser is quadratic in a quoted value full of backslashes (64 KB:
        # 10 s per header, before 3.12.6), so it runs in the evaluator, by this deadline.
        try:
            parsed = self.evaluator.call("set_cookies", values, deadline=deadline)
        except EvaluatorTimeout as e:
            raise SlowToRead(f"reading the app's Set-Cookie headers ({len(values)})") from e
        except EvaluatorFailed as e:
            raise AppUnreachable(f"its Set-Cookie headers could not be read: {e}") from e
        for key, value, coded in parsed:
            if value is None or coded is None or _UNSENDABLE.search(key + coded):
                self.cookies.pop(key, None)
                self._wire.pop(key, None)
            else:
                self.cookies[key] = value
                self._wire[key] = coded
