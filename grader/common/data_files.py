"""Find the data folders (exercises, report templates, sandbox files).

In a source checkout they are the top-level folders; in an installed package
setuptools maps them to ``grader/data/<name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from grader.errors import GraderError

DataKind = Literal["exercises", "reports", "sandbox", "docs"]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def data_path(kind: DataKind) -> Path:
    """Return the folder holding the shipped *kind* files."""
    installed = _PACKAGE_DIR / "data" / kind
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / kind
    if checkout.is_dir():
        return checkout
    raise GraderError(f"grade is installed without its {kind}/ folder (looked in {installed} "
                      f"and {checkout}); reinstall it with `pip install grade`")
