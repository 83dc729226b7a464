"""The fuzz harness, short: a few generated hostile apps graded for real in Docker.

The seeds are fixed, so CI grades the same apps every run; `python -m tests.fuzz`
grades many more (see tests/fuzz/__main__.py and the README).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.grading.scoring import GradeResult

from .fuzz.apps import assert_graded_honestly, hostile_app

CI_SEEDS = (1, 2, 3, 4, 5, 6)


def test_the_same_seed_makes_the_same_app() -> None:
    assert hostile_app(7) == hostile_app(7)
    assert len({hostile_app(s).recipe for s in range(40)}) > 20  # and seeds differ


@pytest.mark.docker
@pytest.mark.parametrize("seed", CI_SEEDS)
def test_a_generated_hostile_app_is_graded_honestly(
        seed: int, grade_path: Callable[[str, Path], GradeResult], tmp_path: Path) -> None:
    app = hostile_app(seed)
    result = grade_path("ex01", app.write(tmp_path))
    assert_graded_honestly(app, result, tmp_path / "reports")
