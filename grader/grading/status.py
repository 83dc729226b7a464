"""The statuses a check or a whole grading can end with, named once.

A check and a submission share the vocabulary: a submission's status is the
worst its checks reached, or error/timeout when it did not load at all.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["passed", "failed", "error", "timeout"]
# In the order summaries count them: best first.
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "timeout")
