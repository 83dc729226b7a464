"""The package's shape: the layer contract of pyproject.toml, and modules of a readable size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT

MAX_LINES = 520  # STYLE.md: "about 500"; past this a module wants splitting by job


def test_imports_keep_the_layer_contract() -> None:
    # [tool.importlinter] in pyproject.toml: the layers of grader/ and no cycles,
    # counting imports under `if TYPE_CHECKING:` too.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.fail(f"{lint_imports} is missing: install the dev tools with "
                    f"`{Path(sys.executable).parent / 'pip'} install -e '.[dev]'`")
    done = subprocess.run(
        [str(lint_imports), "--no-logo", "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"lint-imports failed:\n{done.stdout}{done.stderr}"


def test_no_module_is_too_long() -> None:
    lengths = {path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
               for path in sorted((ROOT / "grader").rglob("*.py"))}
    assert lengths, "no modules found under grader/"
    long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"
