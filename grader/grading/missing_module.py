"""Explain an import the sandbox cannot satisfy: which module, what it has, what to do.

The agent reports ``ModuleNotFoundError: No module named 'flask_mail'`` as it
is. The host knows what the image holds (sandbox/requirements.txt, plus the
catalogue's extra packages), so it says which Flask extensions a student may
use instead, and how an instructor adds one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from grader.errors import UsageError
from grader.grading.scoring import Problem
from grader.sandbox.packages import (
    EXTRA_FILENAME,
    Pin,
    catalogue_requirements,
    flask_extensions,
    read_extra,
    sandbox_pins,
)

_NO_MODULE = re.compile(r"No module named '([A-Za-z_][A-Za-z0-9_.]*)'")


def image_pins(exercise_dir: Path) -> tuple[Pin, ...]:
    """What the exercise's image holds: grade's pins, then its catalogue's extras."""
    pins = sandbox_pins()
    try:
        path = catalogue_requirements([exercise_dir])
        extra = () if path is None else read_extra(path, pins).pins
    except UsageError:
        extra = ()  # the image could not have been built with it: nothing extra to offer
    return (*pins, *extra)


def explain(problem: Problem, pins: Sequence[Pin]) -> Problem:
    """*problem* with a message a student can act on, if it is a missing module."""
    found = _NO_MODULE.search(problem.message)
    if problem.kind != "ModuleNotFoundError" or found is None:
        return problem
    module = found.group(1)
    top = module.split(".")[0]
    owner = next((p for p in pins if p.module == top), None)
    if owner is not None:
        message = (f"no module named {module!r}: the sandbox has {top} ({owner.name} "
                   f"{owner.version}), but that version has no {module}. Import what "
                   f"{owner.name} {owner.version} provides, or ask your instructor to pin the "
                   f"version you need in the catalogue's {EXTRA_FILENAME}.")
        return dataclasses.replace(problem, message=message)
    extensions = ", ".join(flask_extensions(pins)) or "none"
    message = (
        f"no module named {module!r}: the grading sandbox does not have it, and neither "
        f"does your submission. The sandbox has Flask and these Flask extensions: "
        f"{extensions}. Use one of them instead; if your app needs {top}, ask your "
        f"instructor to add its package to the catalogue's {EXTRA_FILENAME}. If {top} is "
        f"your own module, submit {top}.py (or its {top}/ folder) beside your app.")
    return dataclasses.replace(problem, message=message)
