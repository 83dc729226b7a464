"""The sandbox's output, split where hidden checks began: the backends share this rule."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from grader.sandbox.base import Sandbox, SandboxRun, Target
from grader.spec.exercise import Limits


class ScriptedSandbox(Sandbox):
    """A backend whose output is whatever the test appends to ``printed``."""

    def __init__(self, output_kb: int = 1) -> None:
        super().__init__(Path("unused"), Limits(output_kb=output_kb))
        self.printed = b""
        self.dropped_oldest = False

    def _printed(self) -> tuple[bytes, int]:
        return self.printed, len(self.printed)

    def _stop(self) -> SandboxRun:
        kept = self.printed[-10:] if self.dropped_oldest else self.printed
        return self._ended(kept, total=len(self.printed), exit_code=0)

    def _launch(self) -> None:
        raise NotImplementedError

    def _dial(self, target: Target, timeout: float) -> socket.socket:
        raise NotImplementedError

    def _check_running(self) -> None:
        raise NotImplementedError

    def _remove(self) -> None:
        pass

    def wait_exit(self, timeout: float) -> int | None:
        return 0


def test_without_hidden_checks_everything_is_the_students() -> None:
    box = ScriptedSandbox()
    box.printed = b"started\nGET /a\n"
    box.close()
    assert (box.run.output, box.run.hidden_output) == ("started\nGET /a\n", "")


def test_what_follows_the_mark_is_instructors_only() -> None:
    box = ScriptedSandbox()
    box.printed = b"started\nGET /a\n"
    box.mark_hidden()
    box.printed += b"GET /secret\n"
    box.mark_hidden()  # a second mark does not move the cut
    box.printed += b"GET /secret2\n"
    box.close()
    assert box.run.output == "started\nGET /a\n"
    assert box.run.hidden_output == "GET /secret\nGET /secret2\n"
    assert not box.run.output_truncated


def test_when_the_oldest_output_was_dropped_all_that_is_left_is_hidden() -> None:
    # Docker's log keeps 1 MiB: the part the mark took may be gone by the end
    box = ScriptedSandbox()
    box.printed = b"started\n"
    box.mark_hidden()
    box.printed += b"x" * 100 + b"GET /secret\n"
    box.dropped_oldest = True
    box.close()
    assert box.run.output == "started\n"
    assert box.run.hidden_output == "T /secret\n"  # the last 10 bytes the backend kept


@pytest.mark.parametrize("before", [1024, 5000])
def test_each_part_is_capped(before: int) -> None:
    box = ScriptedSandbox(output_kb=1)
    box.printed = b"v" * before
    box.mark_hidden()
    box.printed += b"h" * 5000
    box.close()
    assert box.run.output == "v" * 1024 and box.run.hidden_output == "h" * 1024
    assert box.run.output_truncated == (before > 1024)
