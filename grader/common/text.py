"""Make text from a submission safe to keep, store and print.

Everything the student's app says (error messages, bodies, class names, file
names) is data of any size and any code points. Two things make such text
dangerous on the host: size (a 12-million-character class name once made
84 MB of reports) and lone surrogates (a ``str`` that cannot be encoded as
UTF-8, so writing a report raised UnicodeEncodeError). :func:`safe_text` is
the one place both are dealt with; results pass submission text through it
when they are built (grading/scoring.py, grading/compare.py), so nothing later
has to remember to.

Control characters are a third danger, for terminals only: :func:`printable`.
"""

from __future__ import annotations

import re

# Every C0 and C1 control character except tab and newline.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates: code points a Python str may hold but UTF-8 cannot carry.
SURROGATE = re.compile("[\ud800-\udfff]")

VALUE_LIMIT = 2048  # characters of one value the submission produced, in a message
REPLACEMENT = "\ufffd"
_DRIVE = re.compile(r"[A-Za-z]:")  # a Windows drive, as in C:/app.py or C:app.py


def safe_text(text: str, limit: int = VALUE_LIMIT) -> str:
    """*text* with lone surrogates replaced by U+FFFD, at most about *limit* characters.

    A clipped value says how long it was, so a reader knows it was cut.
    """
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text)} characters)"
    return SURROGATE.sub(REPLACEMENT, text)


def safe_optional(text: str | None, limit: int = VALUE_LIMIT) -> str | None:
    """:func:`safe_text` that lets None through."""
    return None if text is None else safe_text(text, limit)


def printable(text: str) -> str:
    """*text* with every control character except newline and tab shown escaped."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str, limit: int) -> str:
    """*text* printable on one line (newlines shown as ⏎), at most *limit* characters."""
    one = printable(text.replace("\r\n", "\n")).replace("\n", " ⏎ ")
    return one if len(one) <= limit else one[:limit] + "…"


def rooted(path: str) -> bool:
    """Whether a path someone wrote starts at a root on some system: ``/``, ``\\`` or
    a drive letter. Such a path is never relative to the folder it is meant for."""
    return path.startswith(("/", "\\")) or _DRIVE.match(path) is not None


EXCERPT_WIDTH = 120  # characters of a source line shown under an error


def pointed(text: str, offset: int | None, width: int = EXCERPT_WIDTH) -> tuple[str, ...]:
    """A source line as an error shows it: its first line, dedented, printable, at
    most about *width* characters (a window around the column when it is longer),
    and a caret line under column *offset* (from 1), when there is one.

    Columns stay aligned after :func:`printable` because the caret line is made
    from the printable form of the text before the column, with every character
    but a tab blanked.
    """
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    line = first.rstrip()
    indent = len(line) - len(line.lstrip())
    line = line[indent:]
    column = None if offset is None else max(0, offset - 1 - indent)
    if column is not None and column > len(line):
        column = None  # the agent's claim does not fit the line: no caret at all
    start = 0
    if len(line) > width:
        start = max(0, min(len(line) - width, (column or 0) - width // 2))
        end = start + width
        line = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
    if not line:
        return ()
    shown = printable(line)
    if column is None:
        return (shown,)
    column = column - start + (1 if start else 0)
    caret = re.sub(r"[^\t]", " ", printable(line[:column])) + "^"
    return (shown, caret)
