"""Real servers on unix sockets in tmp_path, standing in for a sandboxed app."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@contextmanager
def _serving(server: Any, sock: Path) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield str(sock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serve_wsgi(app: Any, sock: Path) -> Iterator[str]:
    """Serve *app* on the unix socket *sock* in a thread (threaded, HTTP/1.1)."""
    server = make_server(f"unix://{sock}", 0, app, threaded=True, request_handler=QuietHandler)
    with _serving(server, sock) as path:
        yield path


@contextmanager
def serve_raw(handle: Callable[[socket.socket], None], sock: Path) -> Iterator[str]:
    """A unix-socket server that hands each connection to *handle*."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            handle(self.request)

    server = socketserver.ThreadingUnixStreamServer(str(sock), Handler)
    server.daemon_threads = True
    with _serving(server, sock) as path:
        yield path
