"""grade: grade Flask exercises in a hardened sandbox.

The public face of the package. A library user grades one submission so::

    import docker
    import grader

    exercise = grader.load_exercise(Path("exercises/ex02/exercise.yaml"))
    with grader.open_sandbox("docker", client=docker.from_env()) as sandboxes:
        result = grader.grade(exercise, Path("app.py"), sandboxes)
    print(result.score, result.max_score)

Everything named in ``__all__`` is public; every other module is internal and
may change. The grading names are imported on first use, so that importing
``grader`` (and starting the ``grade`` command) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from grader.errors import (
    DockerUnavailable,
    ExerciseNotFound,
    GraderError,
    ImageBuildError,
    InfraError,
    SandboxError,
    SpecError,
    SubmissionPathError,
    UsageError,
)

if TYPE_CHECKING:
    from grader.grading.run import grade
    from grader.grading.scoring import CheckResult, GradeResult, Problem
    from grader.sandbox import SandboxFactory, SandboxKind, open_sandbox
    from grader.spec.catalog import find as find_exercise
    from grader.spec.exercise import Check, Exercise, load_exercise

__all__ = [
    "Check",
    "CheckResult",
    "DockerUnavailable",
    "Exercise",
    "ExerciseNotFound",
    "GradeResult",
    "GraderError",
    "ImageBuildError",
    "InfraError",
    "Problem",
    "SandboxError",
    "SandboxFactory",
    "SandboxKind",
    "SpecError",
    "SubmissionPathError",
    "UsageError",
    "find_exercise",
    "grade",
    "load_exercise",
    "open_sandbox",
]

# name -> (module, attribute) for the names imported on first use
_LAZY = {
    "grade": ("grader.grading.run", "grade"),
    "CheckResult": ("grader.grading.scoring", "CheckResult"),
    "GradeResult": ("grader.grading.scoring", "GradeResult"),
    "Problem": ("grader.grading.scoring", "Problem"),
    "SandboxFactory": ("grader.sandbox", "SandboxFactory"),
    "SandboxKind": ("grader.sandbox", "SandboxKind"),
    "open_sandbox": ("grader.sandbox", "open_sandbox"),
    "find_exercise": ("grader.spec.catalog", "find"),
    "Check": ("grader.spec.exercise", "Check"),
    "Exercise": ("grader.spec.exercise", "Exercise"),
    "load_exercise": ("grader.spec.exercise", "load_exercise"),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
