"""Parse JSON that came from a submission: bounded, and failing only one way.

``json.loads`` on hostile bytes can raise RecursionError (a document nested
100,000 deep), UnicodeDecodeError, or succeed with a structure so deep that
every recursive function the grader runs on it afterwards (comparison,
``json.dumps`` for a message) raises instead. :func:`loads` is the one door
for such bytes: it returns plain JSON values no deeper than :data:`MAX_DEPTH`,
or raises :class:`NotJSON`, a ValueError whose message says what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100  # nesting levels a submission's JSON may have
MAX_BYTES = 16 << 20  # the largest document the host parses (the agent's database dump)


class NotJSON(json.JSONDecodeError):
    """The bytes are not a JSON document the grader accepts.

    A JSONDecodeError (so a ValueError), so instructor code that catches either
    around ``response.json()`` keeps working.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self) -> tuple[type[NotJSON], tuple[str]]:
        return (NotJSON, (self.reason,))


def loads(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
          ) -> Any:
    """The JSON value in *data*, or NotJSON saying why there is none."""
    if len(data) > max_bytes:
        raise NotJSON(f"the document is {len(data)} bytes, more than the {max_bytes} "
                      "the grader reads")
    try:
        value = json.loads(data)
    except RecursionError as e:
        raise NotJSON(f"nested more than {max_depth} levels deep") from e
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise NotJSON(str(e)[:200]) from e
    if depth(value, max_depth) > max_depth:
        raise NotJSON(f"nested more than {max_depth} levels deep")
    return value


def depth(value: Any, stop: int) -> int:
    """How deeply *value* nests lists and objects; counting ends past *stop*.

    Iterative, so it cannot overflow the stack it is meant to protect.
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > stop:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest
