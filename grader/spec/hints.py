"""Hints that turn a spec problem into its likely fix.

The parser says what is wrong; these say what the author probably meant: the
key a typo stands for, the tab or indentation that broke the YAML, the quotes
that made a number text. Pure functions over plain values, so every place that
reports a problem (the parser, ``grade validate``, ``grade check``) can use them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import yaml

# The messages PyYAML gives when indentation, not content, is usually the cause.
_INDENT_PROBLEMS = (
    "mapping values are not allowed here",
    "did not find expected key",
    "expected <block end>",
    "did not find expected '-' indicator",
    "could not find expected ':'",
)
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_BOOLEAN = frozenset({"true", "false", "yes", "no", "on", "off"})


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` did you mean 'hidden'?`` for the closest option, or "" when none is close."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" did you mean {close[0]!r}?" if close else ""


def yaml_hint(text: str, line: int | None, problem: str) -> str:
    """Why YAML that does not parse probably fails: a tab, or an indentation slip."""
    lines = text.splitlines()
    where = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    before = lines[line - 2] if line is not None and 1 < line <= len(lines) + 1 else ""
    tabbed = [n for n, ln in enumerate(lines, start=1)
              if "\t" in ln[:len(ln) - len(ln.lstrip(" \t"))]]
    if "'\\t'" in problem or "\t" in where[:len(where) - len(where.lstrip(" \t"))] \
            or (tabbed and line is not None and tabbed[0] <= line):
        first = tabbed[0] if tabbed else line
        return (f"; line {first} is indented with a tab: YAML indents with spaces only, so "
                "replace the tabs by spaces (2 per level)")
    if any(p in problem for p in _INDENT_PROBLEMS):
        col = len(where) - len(where.lstrip(" "))
        prev = len(before) - len(before.lstrip(" "))
        return (f"; check the indentation: this line starts at column {col + 1} and the one "
                f"above at column {prev + 1}. Keys of one mapping start in the same column, "
                "a value that is a mapping or list goes 2 spaces further, and a text "
                "holding ': ' needs quotes")
    return ""


def quoted_hint(node: yaml.Node, wanted: str) -> str:
    """For ``points: "3"``: the value is a quoted string; say to drop the quotes.

    *wanted* is "number" or "boolean"; "" when the value is not such a quoted one.
    """
    if not isinstance(node, yaml.ScalarNode) or node.style not in ("'", '"'):
        return ""
    raw = str(node.value).strip()
    if wanted == "number" and _NUMBER.match(raw):
        return (f"got the quoted string {node.value!r}: the quotes make it text. Remove "
                f"them: write {raw}, not {node.style}{node.value}{node.style}")
    if wanted == "boolean" and raw.lower() in _BOOLEAN:
        plain = "true" if raw.lower() in ("true", "yes", "on") else "false"
        return f"got the quoted string {node.value!r}: the quotes make it text. Write {plain}"
    return ""
