"""The package's public face: every name in grader.__all__ resolves, and stays cheap."""

from __future__ import annotations

import subprocess
import sys

import grader
from grader.grading.run import grade
from grader.sandbox import open_sandbox


def test_every_public_name_resolves() -> None:
    for name in grader.__all__:
        assert getattr(grader, name) is not None, name
    assert grader.grade is grade and grader.open_sandbox is open_sandbox


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        grader.nothing_here  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as e:
        assert "nothing_here" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_does_not_load_the_grading_machinery() -> None:
    # The one-shot CLI pays for what it uses: `import grader` loads no Docker SDK or pytest.
    code = ("import sys, grader; "
            "print(sorted(m for m in ('docker', 'pytest', 'jinja2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
