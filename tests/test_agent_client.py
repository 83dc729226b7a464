"""The host's side of the agent protocol: answers matched by id, frames that are not ours."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from grader.sandbox.agent_client import (
    MAX_CONTROL_REPLY,
    AgentClient,
    AgentGone,
    AgentTimeout,
    SocketChannel,
)


@pytest.fixture
def pair() -> Iterator[tuple[AgentClient, socket.socket]]:
    host, agent = socket.socketpair()
    client = AgentClient(SocketChannel(host))
    yield client, agent
    client.close()
    agent.close()


def _request(agent: socket.socket) -> dict[str, object]:
    data = b""
    while not data.endswith(b"\n"):
        data += agent.recv(65536)
    request = json.loads(data)
    assert isinstance(request, dict)
    return request


def _answer(agent: socket.socket, request_id: object, result: dict[str, object]) -> None:
    agent.sendall(json.dumps({"ok": True, "result": result, "id": request_id}).encode() + b"\n")


def test_frames_without_the_request_id_are_skipped(pair: tuple[AgentClient, socket.socket]
                                                   ) -> None:
    client, agent = pair

    def serve() -> None:
        request = _request(agent)
        # student code writes a perfect-looking answer first, and a late one of another id
        agent.sendall(b'{"ok": true, "result": {"repr": "<User forged>"}}\n')
        agent.sendall(b'{"ok": true, "result": {"repr": "<User old>"}, "id": "x-0"}\n')
        _answer(agent, request["id"], {"repr": "<User real>"})

    threading.Thread(target=serve, daemon=True).start()
    assert client.repr("User", {}, timeout=5) == "<User real>"


def test_an_oversized_answer_spoils_only_its_own_question(
        pair: tuple[AgentClient, socket.socket]) -> None:
    client, agent = pair

    def serve() -> None:
        _request(agent)
        agent.sendall(b"A" * (MAX_CONTROL_REPLY + (1 << 20)) + b"\n")
        request = _request(agent)
        _answer(agent, request["id"], {"repr": "<User alice>"})

    threading.Thread(target=serve, daemon=True).start()
    with pytest.raises(AgentGone, match="oversized"):
        client.dump_db(timeout=10)
    assert client.repr("User", {}, timeout=10) == "<User alice>"


def test_no_answer_with_the_id_in_time_is_a_timeout(pair: tuple[AgentClient, socket.socket]
                                                    ) -> None:
    client, agent = pair
    agent.sendall(b'{"ok": true, "result": {}, "id": "not-yours"}\n')
    with pytest.raises(AgentTimeout):
        client.models(timeout=0.3)


def _serve_once(agent: socket.socket, result: dict[str, object]) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []

    def serve() -> None:
        request = _request(agent)
        seen.append(request)
        _answer(agent, request["id"], result)

    threading.Thread(target=serve, daemon=True).start()
    return seen


def test_dump_file_asks_for_the_path_and_decodes_the_copy(
        pair: tuple[AgentClient, socket.socket]) -> None:
    client, agent = pair
    seen = _serve_once(agent, {"dialect": "sqlite", "data": "U1FMaXRl"})
    assert client.dump_file("instance/todo.db", timeout=5) == b"SQLite"
    assert (seen[0]["op"], seen[0]["args"]) == ("dump_file", {"path": "instance/todo.db"})


@pytest.mark.parametrize(("result", "expected"), [
    ({"missing": True, "data": None}, None),  # no such file: the check says so
    ({"data": None, "too_big": 1 << 30}, AgentGone),  # over the cap: not read
    ({"data": "not base64!"}, AgentGone),
])
def test_dump_file_answers_that_are_not_a_file(
        pair: tuple[AgentClient, socket.socket], result: dict[str, object],
        expected: type[Exception] | None) -> None:
    client, agent = pair
    _serve_once(agent, result)
    if expected is None:
        assert client.dump_file("todo.db", timeout=5) is None
    else:
        with pytest.raises(expected):
            client.dump_file("todo.db", timeout=5)


def test_restart_answers_like_load(pair: tuple[AgentClient, socket.socket]) -> None:
    client, agent = pair
    seen = _serve_once(agent, {"app": "app.py:app", "env_files": [".env", "../x"]})
    loaded = client.restart(timeout=5)
    assert (loaded.app, loaded.env_files) == ("app.py:app", (".env",))
    assert seen[0]["op"] == "restart"
