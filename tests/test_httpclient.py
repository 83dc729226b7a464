"""The unix-socket HTTP client, against real servers bound in tmp_path."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from werkzeug.wrappers import Response as BaseResponse

from grader.grading import http_client as httpclient
from grader.grading.http_client import (
    AppClient,
    AppUnreachable,
    RequestTimeout,
    Response,
    unix_socket,
)

from .helpers import serve_raw, serve_wsgi


def make_app(release: threading.Event) -> flask.Flask:
    app = flask.Flask("echo")

    @app.route("/")
    def index() -> str:
        return "hello"

    @app.route("/echo", methods=["GET", "POST", "PUT", "DELETE"])
    def echo() -> Any:
        return {
            "method": flask.request.method,
            "args": flask.request.args.to_dict(),
            "form": flask.request.form.to_dict(),
            "json": flask.request.get_json(silent=True),
            "data": flask.request.get_data(as_text=True) if not flask.request.form else "",
            "content_type": flask.request.content_type,
            "cookies": flask.request.cookies.to_dict(),
            "x_custom": flask.request.headers.get("X-Custom"),
        }

    @app.route("/set")
    def set_cookies() -> flask.Response:
        r = flask.make_response("set")
        r.set_cookie("a", "1")
        r.set_cookie("b", "2")
        return r

    @app.route("/expire-a")
    def expire() -> flask.Response:
        r = flask.make_response("expired")
        r.set_cookie("a", "still-here", max_age=0)
        return r

    @app.route("/delete-b")
    def delete() -> flask.Response:
        r = flask.make_response("deleted")
        r.delete_cookie("b")
        return r

    @app.route("/redirect/<int:code>", methods=["GET", "POST"])
    def redirect(code: int) -> BaseResponse:
        return flask.redirect("/echo?via=redirect", code)

    @app.route("/absolute")
    def absolute() -> BaseResponse:
        return flask.redirect("http://elsewhere.example/echo?abs=1", 302)

    @app.route("/dir/relative", methods=["POST"])
    def relative() -> BaseResponse:
        return flask.redirect("../echo?rel=1", 302)  # relative to /dir/, as browsers read it

    @app.route("/loop/<int:n>")
    def loop(n: int) -> BaseResponse:
        return flask.redirect(f"/loop/{n + 1}", 302)

    @app.route("/big")
    def big() -> str:
        return "0123456789" * 500

    @app.route("/slow")
    def slow() -> str:
        release.wait(10)
        return "late"

    @app.route("/drip")
    def drip() -> flask.Response:
        def body() -> Iterator[bytes]:
            for _ in range(200):
                if release.wait(0.05):
                    return
                yield b"x"
        return flask.Response(body())

    return app


# The slow apps here answer after 10 s; a client whose 0.3-0.5 s deadline fired
# gives up long before that, however loaded the machine (10x what it takes).
SOONER_THAN_THE_APP = 5.0


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so handlers that wait let go at once."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def app_socket(tmp_path: Path, release: threading.Event) -> Iterator[str]:
    with serve_wsgi(make_app(release), tmp_path / "app.sock") as path:
        yield path


@pytest.fixture
def client(app_socket: str) -> AppClient:
    return AppClient(unix_socket(app_socket), timeout=3.0)


def data(r: Response) -> Any:
    assert r.status == 200, r.text
    return r.json()


# -- requests --------------------------------------------------------------------------


def test_get(client: AppClient) -> None:
    r = client.get("/")
    assert (r.status, r.body, r.text, r.truncated) == (200, b"hello", "hello", False)
    assert r.header("content-type") == "text/html; charset=utf-8"
    assert r.header("X-Nothing") is None
    assert r.elapsed >= 0


def test_not_found(client: AppClient) -> None:
    assert client.get("/nothing").status == 404


def test_query_is_encoded(client: AppClient) -> None:
    got = data(client.get("/echo", query={"name": "Ada Lovelace", "q": "a&b=c"}))
    assert got["args"] == {"name": "Ada Lovelace", "q": "a&b=c"}


def test_post_form(client: AppClient) -> None:
    got = data(client.post("/echo", form={"name": "Zoë", "csrf_token": "t/k+n="}))
    assert got["method"] == "POST"
    assert got["form"] == {"name": "Zoë", "csrf_token": "t/k+n="}
    assert got["content_type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize("body", [
    {"a": [1, True, None], "b": {"c": "é"}},  # an object
    [1, 2],  # a list
    0,  # a falsy value is still sent
])
def test_json_body(client: AppClient, body: Any) -> None:
    got = data(client.request("PUT", "/echo", json_body=body))
    assert (got["method"], got["json"], got["content_type"]) == ("PUT", body,
                                                                 "application/json")


def test_raw_data_and_headers(client: AppClient) -> None:
    got = data(client.post("/echo", data="raw text", headers={"X-Custom": "yes",
                                                             "Content-Type": "text/plain"}))
    assert (got["data"], got["x_custom"], got["content_type"]) == ("raw text", "yes",
                                                                   "text/plain")


def test_head_has_no_body(client: AppClient) -> None:
    r = client.request("HEAD", "/")
    assert (r.status, r.body) == (200, b"")


# -- cookies ---------------------------------------------------------------------------


def test_cookies_are_kept_across_requests(client: AppClient) -> None:
    client.get("/set")
    assert client.cookies == {"a": "1", "b": "2"}
    assert data(client.get("/echo"))["cookies"] == {"a": "1", "b": "2"}


def test_max_age_0_deletes_a_cookie(client: AppClient) -> None:
    client.get("/set")
    client.get("/expire-a")
    assert client.cookies == {"b": "2"}
    assert data(client.get("/echo"))["cookies"] == {"b": "2"}


def test_delete_cookie_removes_it(client: AppClient) -> None:
    client.get("/set")
    client.get("/delete-b")
    assert client.cookies == {"a": "1"}


def test_an_explicit_cookie_header_wins(client: AppClient) -> None:
    client.get("/set")
    got = data(client.get("/echo", headers={"Cookie": "z=9"}))
    assert got["cookies"] == {"z": "9"}


def test_each_client_has_its_own_cookies(app_socket: str) -> None:
    one, two = AppClient(unix_socket(app_socket), 3.0), AppClient(unix_socket(app_socket), 3.0)
    one.get("/set")
    assert data(two.get("/echo"))["cookies"] == {}


# -- redirects -------------------------------------------------------------------------


def test_redirects_are_not_followed_by_default(client: AppClient) -> None:
    r = client.get("/redirect/302")
    assert r.status == 302
    assert r.header("Location") == "/echo?via=redirect"


@pytest.mark.parametrize(("code", "method"), [
    (301, "GET"),  # moved: the browser switches to GET
    (302, "GET"),  # found: likewise
    (303, "GET"),  # see other: always GET
    (307, "POST"),  # temporary: method and body kept
    (308, "POST"),  # permanent: likewise
])
def test_redirects_followed_when_asked(client: AppClient, code: int, method: str) -> None:
    r = client.post(f"/redirect/{code}", form={"k": "v"}, follow_redirects=True)
    got = data(r)
    assert got["method"] == method
    assert got["args"] == {"via": "redirect"}
    assert got["form"] == ({"k": "v"} if method == "POST" else {})


def test_an_absolute_redirect_stays_on_the_app(client: AppClient) -> None:
    got = data(client.get("/absolute", follow_redirects=True))
    assert got["args"] == {"abs": "1"}


def test_a_relative_redirect_is_read_against_the_page(client: AppClient) -> None:
    got = data(client.post("/dir/relative", form={"k": "v"}, follow_redirects=True))
    # the GET that follows a 302 carries no form and no form Content-Type
    assert (got["method"], got["args"], got["content_type"]) == ("GET", {"rel": "1"}, None)


def test_redirect_loops_stop(client: AppClient) -> None:
    r = client.get("/loop/0", follow_redirects=True)
    assert r.status == 302
    assert r.header("Location") == "/loop/6"  # the first request and 5 redirects


# -- limits ----------------------------------------------------------------------------


def test_a_small_body_is_not_truncated(client: AppClient,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpclient, "MAX_BODY", 5000)
    r = client.get("/big")
    assert (len(r.body), r.truncated) == (5000, False)


def test_a_body_over_max_body_is_truncated(client: AppClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpclient, "MAX_BODY", 1000)
    r = client.get("/big")
    assert r.truncated
    assert len(r.body) <= 1000
    assert r.status == 200


def test_a_truncated_body_keeps_the_first_max_body_bytes(
        client: AppClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpclient, "MAX_BODY", 1000)
    r = client.get("/big")
    assert r.body == (b"0123456789" * 500)[:1000]


def test_a_slow_app_times_out(client: AppClient) -> None:
    start = time.monotonic()
    with pytest.raises(RequestTimeout, match="GET /slow"):
        client.get("/slow", timeout=0.3)
    assert time.monotonic() - start < SOONER_THAN_THE_APP


def test_a_dripping_body_times_out(client: AppClient) -> None:
    # each byte arrives well within the socket timeout; the deadline must still hold
    start = time.monotonic()
    with pytest.raises(RequestTimeout):
        client.get("/drip", timeout=0.5)
    assert time.monotonic() - start < SOONER_THAN_THE_APP


def drip_headers(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    try:
        for i in range(100):  # a header line every 0.1 s, for 10 s at most
            time.sleep(0.1)
            conn.sendall(f"X-Drip-{i}: x\r\n".encode())
        conn.sendall(b"Content-Length: 0\r\n\r\n")
    except OSError:
        pass  # the client gave up, as it should


def test_dripping_headers_time_out(tmp_path: Path) -> None:
    with serve_raw(drip_headers, tmp_path / "drip.sock") as path:
        start = time.monotonic()
        with pytest.raises(RequestTimeout):
            AppClient(unix_socket(path), 0.5).get("/")
        assert time.monotonic() - start < SOONER_THAN_THE_APP


def test_a_spent_deadline_sends_nothing(client: AppClient) -> None:
    with pytest.raises(RequestTimeout):
        client.get("/", timeout=0)


def test_a_missing_socket_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(AppUnreachable, match="GET /"):
        AppClient(unix_socket(str(tmp_path / "gone.sock")), 1.0).get("/")


def test_a_socket_nobody_listens_on_is_unreachable(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the file stays, nobody accepts
    with pytest.raises(AppUnreachable):
        AppClient(unix_socket(str(path)), 1.0).get("/")


def hang_up(conn: socket.socket) -> None:
    conn.recv(65536)  # read the request, answer nothing


def garbage(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"this is not HTTP\r\n\r\n")


@pytest.mark.parametrize("handler", [hang_up, garbage])
def test_an_app_that_breaks_the_protocol_is_unreachable(
        tmp_path: Path, handler: Callable[[socket.socket], None]) -> None:
    with serve_raw(handler, tmp_path / "bad.sock") as path:
        with pytest.raises(AppUnreachable):
            AppClient(unix_socket(path), 1.0).get("/")


def test_response_json() -> None:
    r = Response(200, (), json.dumps({"a": 1}).encode(), 0.0)
    assert r.json() == {"a": 1}


# SimpleCookie is quadratic in a quoted value of backslashes: 0.1 s for one of 5 KiB, the
# most a browser keeps; 90 of them take longer than the test's 1 s
SLOW_COOKIE = b'Set-Cookie: a="' + b"\\" * 5000 + b'"\r\n'
HUGE_COOKIE = b'Set-Cookie: h="' + b"\\" * 60_000 + b'"\r\n'  # 10 s if it were parsed


def slow_cookies(conn: socket.socket) -> None:
    conn.recv(65536)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + SLOW_COOKIE * 90 + b"Set-Cookie: b=2\r\n"
                     b"Content-Length: 2\r\n\r\nok")
    except OSError:
        pass  # the client gave up


def test_cookies_are_read_by_the_deadline(tmp_path: Path) -> None:
    with serve_raw(slow_cookies, tmp_path / "cookies.sock") as path:
        start = time.monotonic()
        with pytest.raises(httpclient.SlowToRead, match="Set-Cookie headers \\(91\\)"):
            AppClient(unix_socket(path), 1.0).get("/")
        assert time.monotonic() - start < 4


def test_cookies_set_deleted_and_ignored(tmp_path: Path) -> None:
    def handler(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\n"
                     b"Set-Cookie: b=; Max-Age=0\r\nSet-Cookie: c=\"q\\\"x\"\r\n"
                     b"Set-Cookie: =broken;;\r\n" + HUGE_COOKIE * 20 +
                     b"Content-Length: 0\r\n\r\n")

    with serve_raw(handler, tmp_path / "set.sock") as path:
        client = AppClient(unix_socket(path), 5.0)
        client.get("/")
    assert client.cookies == {"a": "1", "c": 'q"x'}
