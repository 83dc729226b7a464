"""Mutants as patches against the solution: parsed, applied, checked by validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring import patches
from grader.authoring.validate import validate_spec

SOLUTION = "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route('/')\n" \
           "def home():\n    return 'Hello!'\n"
PATCH = "--- solution.py\n+++ solution.py\n@@ -7,2 +7,2 @@\n def home():\n" \
        "-    return 'Hello!'\n+    return 'Hello'\n"


def test_a_patch_applies_where_it_says() -> None:
    (fp,) = patches.parse(PATCH)
    assert fp.path == "solution.py"
    assert patches.apply(SOLUTION, fp) == SOLUTION.replace("'Hello!'", "'Hello'")


def test_a_patch_applies_near_where_it_says() -> None:
    moved = "# a comment added later\n" + SOLUTION  # the hunk is one line further down
    (fp,) = patches.parse(PATCH)
    assert patches.apply(moved, fp).endswith("return 'Hello'\n")


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("just text\n", 1, "is not a unified diff"),  # no headers
    ("--- solution.py\n+++ solution.py\n", 2, "no '@@"),  # no hunk
    ("--- a\n+++ ../x.py\n@@ -1 +1 @@\n-a\n+b\n", 2, "names '../x.py'"),  # outside
    ("--- s\n+++ solution.py\n@@ -1,2 +1,2 @@\n-a\n+b\n", 3, "promises 2 old"),  # short
])
def test_bad_patches_say_where(text: str, line: int, problem: str) -> None:
    with pytest.raises(patches.PatchError) as info:
        patches.parse(text)
    assert info.value.line == line and problem in info.value.problem


def test_a_folder_solution_is_copied_and_patched(tmp_path: Path) -> None:
    solution = tmp_path / "solution"
    (solution / "templates").mkdir(parents=True)
    (solution / "app.py").write_text(SOLUTION)
    (solution / "templates" / "a.html").write_text("<p>{{ x }}</p>\n")
    diff = tmp_path / "m.diff"
    diff.write_text("--- a/templates/a.html\n+++ b/templates/a.html\n@@ -1 +1 @@\n"
                    "-<p>{{ x }}</p>\n+<p>{{ x|safe }}</p>\n")
    out = patches.materialize(diff, solution, tmp_path / "out")
    assert (out / "templates" / "a.html").read_text() == "<p>{{ x|safe }}</p>\n"
    assert (out / "app.py").read_text() == SOLUTION
    assert (solution / "templates" / "a.html").read_text() == "<p>{{ x }}</p>\n"


def test_validate_reports_a_patch_that_no_longer_applies(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    (folder / "mutants").mkdir(parents=True)
    (folder / "solution.py").write_text(SOLUTION.replace("Hello!", "Hi!"))  # changed since
    (folder / "mutants" / "m.diff").write_text(PATCH)
    (folder / "mutants" / "mutants.yaml").write_text(
        "mutants:\n  - {path: m.diff, why: no bang, fails: [home]}\n")
    (folder / "exercise.yaml").write_text("id: demo\ntitle: T\nsolution: solution.py\n"
                                          "checks:\n  - name: home\n    request: {path: /}\n")
    (problem,) = validate_spec(folder / "exercise.yaml").problems
    assert problem.path.endswith("m.diff") and problem.line == 3
    assert "does not apply to solution.py" in problem.problem
