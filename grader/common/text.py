"""Make text from a submission safe to print on a terminal.

The app's error messages and outputs reach the terminal in summaries; control
characters in them could move the cursor, erase lines or fake a score.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """*text* with every control character except newline and tab shown escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
