"""``grade check`` on a repository built to attack it: paths, YAML and CI output.

The repository is the student's: its grade.yaml, its file names and whatever
the grader prints about them are hostile data. Each case was seen for real.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import EXERCISES, ROOT

EXAMPLE = ROOT / "examples" / "student-repo"
BIN = Path(sys.executable).parent


def grade_check(repo: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("GRADE_", "GITHUB_", "CI_"))}
    clean |= {"PATH": f"{BIN}{os.pathsep}{clean.get('PATH', '/usr/bin:/bin')}",
              "XDG_CACHE_HOME": str(tmp_path / "cache"), "GRADE_SANDBOX": "process"}
    return subprocess.run([str(BIN / "grade"), "check"], cwd=repo, env=clean | env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    made = Path(shutil.copytree(EXAMPLE, tmp_path / "repo"))
    (made / ".git").mkdir()  # the repository's top
    return made


# -- paths that leave the repository -------------------------------------------------------


@pytest.mark.parametrize("path", [
    "../outside/app.py",  # up and out
    "hello/../../outside/app.py",  # out through a folder that exists
    "/etc/passwd",  # absolute
    "escape/app.py",  # a symlinked folder that points outside
    "loop/app.py",  # a symlink loop
])
def test_a_path_outside_the_repository_is_refused(repo: Path, tmp_path: Path,
                                                  path: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    # the reference solution: full marks if it were graded
    shutil.copyfile(EXERCISES / "ex01" / "solution.py", outside / "app.py")
    (repo / "escape").symlink_to(outside)
    (repo / "loop").symlink_to(repo / "loop")
    (repo / "grade.yaml").write_text(f"exercises:\n  ex01: {path}\n", encoding="utf-8")
    done = grade_check(repo, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "grade.yaml:2" in done.stderr and "Traceback" not in done.stderr
    assert "passed" not in done.stdout


def test_a_symlink_inside_the_repository_is_fine(repo: Path, tmp_path: Path) -> None:
    (repo / "current").symlink_to(repo / "hello")
    (repo / "grade.yaml").write_text("exercises:\n  ex01: current/app.py\n", encoding="utf-8")
    done = grade_check(repo, tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr


# -- YAML that expands past every limit ---------------------------------------------------------


def _laughs(levels: int) -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    last = chr(ord("a") + levels - 1)
    return "\n".join(lines) + f"\nmin_score: *{last}\nexercises:\n  ex01: hello/app.py\n"


@pytest.mark.parametrize("text", [
    _laughs(6),  # a million values once expanded (66 MB of output and 486 MiB, once)
    _laughs(9),  # a billion
    "exercises:\n  ex01: " + "[" * 5000 + "]" * 5000 + "\n",  # nested too deeply
    "exercises:\n  ex01: hello/app.py\n" + "#" * (2 << 20) + "\n",  # 2 MiB
])
def test_a_hostile_grade_yaml_is_refused_in_bounded_memory(repo: Path, tmp_path: Path,
                                                           text: str) -> None:
    (repo / "grade.yaml").write_text(text, encoding="utf-8")
    done = grade_check(repo, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert len(done.stdout) + len(done.stderr) < 10_000
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, the largest child
    assert peak < 400 * 1024, f"a child used {peak >> 10} MiB"


# -- student text printed in CI ---------------------------------------------------------------

EVIL = "::error::pwned"


def _commands(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.lstrip().startswith(("::", "##["))]


def test_student_text_never_becomes_a_workflow_command(repo: Path, tmp_path: Path) -> None:
    folder = repo / f"{EVIL} |<b>x"
    shutil.copytree(repo / "hello", folder)
    (repo / "grade.yaml").write_text(
        f'exercises:\n  ex01: "{folder.name}/app.py"\n  ex02: "::set-output name=x::y.py"\n',
        encoding="utf-8")
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo),
           "GITHUB_STEP_SUMMARY": str(summary)}
    missing = grade_check(repo, tmp_path, **env)  # ex02's path does not exist: exit 2
    assert missing.returncode == 2
    assert _commands(missing.stdout + missing.stderr) == []
    assert "::set-output" in missing.stderr  # shown, but inert

    (repo / "grade.yaml").write_text(f'exercises:\n  ex01: "{folder.name}/app.py"\n',
                                     encoding="utf-8")
    done = grade_check(repo, tmp_path, **env)
    assert done.returncode in (0, 1), done.stderr
    ours = _commands(done.stdout + done.stderr)
    # Only grade's own: the fence around the summary and its annotations.
    assert all(line.startswith(("::stop-commands::", "::error title=")) or
               (line.startswith("::") and line.endswith("::") and " " not in line)
               for line in ours), ours
    assert EVIL in done.stderr or EVIL in done.stdout  # the name is still shown
    table = summary.read_text(encoding="utf-8")
    row = next(line for line in table.splitlines() if line.startswith("| ex01"))
    assert row.count(" | ") == 4, row  # the | in the name does not split the table
    # the name stays inside its code span, where <b> is text, not HTML
    cell = row.split(" | ")[1]
    assert cell.startswith("`") and cell.endswith("`") and "<b>" in cell, cell
    assert table.count("<b>") == 1
