"""The grader's own processes never import a module from the folder it runs in.

`grade check` runs in a student's repository, and an instructor may run
`grade batch ex02 .` inside a class folder: the working folder holds files a
student chose. Python puts the working folder first on the path of `python -c`
and `python -m`, so every Python process the grader starts itself (the
reaper, batch workers and their resource tracker, pip) must start elsewhere
or without it. Each planted module here writes a marker on the host when
imported; the marker's path is the host's, so code that ran in a sandbox
cannot create it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import EXERCISES

pytestmark = pytest.mark.docker

# Modules the grader's children import early: the Docker SDK, its HTTP stack,
# multiprocessing's own, the standard library's json.
PLANTED = ("requests", "docker", "multiprocessing", "json", "urllib3", "signal")


def _grade() -> str:
    """The console script: its own folder, not the working one, leads its path."""
    script = Path(sys.executable).parent / "grade"
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}; install with pip -e .")
    return str(script)


def _plant(folder: Path, marker: Path) -> None:
    for name in PLANTED:
        (folder / f"{name}.py").write_text(
            f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\n", encoding="utf-8")


def test_submit_never_imports_the_working_folders_modules(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    marker = tmp_path / "imported-on-the-host"
    _plant(repo, marker)
    (repo / "app.py").write_bytes((EXERCISES / "ex02" / "solution.py").read_bytes())
    done = subprocess.run([_grade(), "submit", "ex02", "app.py", "--report-dir",
                           str(tmp_path / "reports")], cwd=repo, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not marker.exists(), f"host processes imported: {marker.read_text()}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH needs Python 3.11")
def test_batch_run_inside_the_class_folder_never_imports_a_submission(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    klass.mkdir()
    marker = tmp_path / "imported-on-the-host"
    _plant(klass, marker)  # six "students" whose files are named like modules
    solution = (EXERCISES / "ex02" / "solution.py").read_bytes()
    (klass / "alice.py").write_bytes(solution)
    done = subprocess.run([_grade(), "batch", "ex02", ".", "--jobs", "2", "--out",
                           str(tmp_path / "out")], cwd=klass, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not marker.exists(), f"host processes imported: {marker.read_text()}"
    assert (tmp_path / "out" / "gradebook.csv").exists()
