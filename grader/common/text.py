"""Make text from a submission safe to print on a terminal or in a CI log.

The app's error messages and outputs reach the terminal in summaries; control
characters in them could move the cursor, erase lines or fake a score.
"""

from __future__ import annotations

import re

# Every C0 and C1 control character except tab and newline.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """*text* with every control character except newline and tab shown escaped."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str, limit: int) -> str:
    """*text* printable on one line (newlines shown as ⏎), at most *limit* characters."""
    one = printable(text.replace("\r\n", "\n")).replace("\n", " ⏎ ")
    return one if len(one) <= limit else one[:limit] + "…"
