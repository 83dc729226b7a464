"""Flow lists whose items look like one text split at its comma.

In YAML's flow form ``[Hello, Ada!]`` holds two items, 'Hello' and 'Ada!':
the comma separates them. An author who meant the text "Hello, Ada!" gets a
check that a wrong greeting passes. Only the author knows what was meant, so
``grade validate`` warns and does not fail. Two adjacent items A and B of a
flow sequence are flagged when all of these hold:

- both are plain (unquoted) scalars that YAML reads as text (not a number,
  a boolean or null);
- the source between them is exactly ", " (one comma, one space), so they sit
  on one line as a sentence would;
- A is a single word: letters, digits and apostrophes only;
- B starts with a letter or digit, and either ends with sentence punctuation
  (``! ? . …``) or starts with a lowercase letter;
- A and B are not both names of the spec's checks (``requires:`` and a
  mutant's ``fails:`` list check names, and ``[home, about]`` is two of them),
  unless "A, B" is a check's name too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

_STR = "tag:yaml.org,2002:str"
_APOSTROPHES = "'\u2019"
_SENTENCE_END = ("!", "?", ".", "\u2026")
_SEPARATOR = ", "
MAX_WARNINGS = 50  # per file: enough to show the habit, without flooding the terminal
_SHOWN = 60  # characters of a piece quoted in a message


@dataclass(frozen=True)
class SpecWarning:
    """Something in a spec that is valid but probably not what its author meant."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: warning: {self.message}" if self.field \
            else f"{where}: warning: {self.message}"


# A field's dotted name as a linked chain (parent, part), joined only for a warning,
# so walking a deeply nested document never copies long names.
_Name = tuple["_Name", str] | None


def split_items(root: yaml.Node, text: str, path: str,
                check_names: frozenset[str] = frozenset()) -> list[SpecWarning]:
    """A warning for each pair of flow-list items that look like one text split at its comma.

    *text* is the source *root* was composed from (the marks index into it);
    *check_names* are the spec's check names, never taken for split pieces.
    """
    warnings: list[SpecWarning] = []
    for node, name in _walk(root):
        if not (isinstance(node, yaml.SequenceNode) and node.flow_style):
            continue
        items = node.value
        for index in range(len(items) - 1):
            a, b = items[index], items[index + 1]
            if _looks_split(a, b, text) and not _two_names(a.value, b.value, check_names):
                warnings.append(SpecWarning(path, int(a.start_mark.line) + 1, _join(name),
                                            _message(a.value, b.value, index, len(items))))
                if len(warnings) >= MAX_WARNINGS:
                    return warnings
    return warnings


def _walk(root: yaml.Node) -> Iterator[tuple[yaml.Node, _Name]]:
    """Every node once (an alias's target is not walked again), in document order."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, _Name]] = [(root, None)]
    while stack:
        node, name = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, name
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, (name, f"[{i}]"))
                         for i, child in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            # A key that is not a scalar is a problem the parser reports already.
            stack.extend((value, (name, f".{key.value}")) for key, value in reversed(node.value)
                         if isinstance(key, yaml.ScalarNode))


def _join(name: _Name) -> str:
    parts: list[str] = []
    while name is not None:
        name, part = name
        parts.append(part)
    return "".join(reversed(parts)).removeprefix(".")


def _looks_split(a: yaml.Node, b: yaml.Node, text: str) -> bool:
    if not (_plain_text(a) and _plain_text(b)):
        return False
    end, start = int(a.end_mark.index), int(b.start_mark.index)
    if start - end != len(_SEPARATOR) or text[end:start] != _SEPARATOR:
        return False
    first, second = str(a.value), str(b.value)
    return (_one_word(first) and second[:1].isalnum()
            and (second.endswith(_SENTENCE_END) or second[0].islower()))


def _two_names(first: str, second: str, names: frozenset[str]) -> bool:
    return (first in names and second in names
            and f"{first}{_SEPARATOR}{second}" not in names)


def _plain_text(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style is None and node.tag == _STR


def _one_word(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in _APOSTROPHES for c in text)


def _message(first: str, second: str, index: int, count: int) -> str:
    before = "..., " if index > 0 else ""
    after = ", ..." if index + 2 < count else ""
    joined = f"{first}{_SEPARATOR}{second}"
    return (f"[{before}{_short(first)}, {_short(second)}{after}] is read as separate items "
            f"{_short(first)!r} and {_short(second)!r}; if you meant the text "
            f"{_quoted(joined)}, quote it: [{before}{_quoted(joined)}{after}]")


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "\u2026"


def _quoted(text: str) -> str:
    """*text* as a YAML double-quoted scalar (shortened when long)."""
    escaped = _short(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
