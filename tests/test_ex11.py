"""ex11 (a custom Jinja filter): its selftest, and the mutant only the filter check catches."""

from __future__ import annotations

import pytest

from grader.authoring.selftest import load_mutants, run_selftest
from grader.grading.run import grade
from grader.sandbox import SandboxFactory
from grader.spec import catalog

from .helpers import EXERCISES

FILTER_CHECK = "a Jinja filter named money is registered"


def test_ex11_is_complete_and_its_mutants_include_patches() -> None:
    ex = catalog.find("ex11", EXERCISES)
    assert ex.solution is not None and ex.starter is not None and ex.readme is not None
    assert ex.readme.read_text(encoding="utf-8").startswith("# ex11 — Jinja filter")
    names = [m.name for m in load_mutants(ex)]
    assert "never_registered" in names and any(n.endswith(".diff") for n in names)
    assert any(c.after_due_date for c in ex.checks)


@pytest.mark.docker
def test_ex11_selftest_catches_a_filter_that_is_never_registered(
        docker_sandboxes: SandboxFactory, no_leftover_containers: None) -> None:
    ex = catalog.find("ex11", EXERCISES)
    result = run_selftest(ex, lambda e, p: grade(e, p, docker_sandboxes), load_mutants(ex))
    assert result.ok, [(v.name, v.problems) for v in result.verdicts]
    (never,) = [v for v in result.verdicts if v.name == "never_registered/"]
    # the pages look right: the only check it fails is the one asking for the filter
    assert never.failed_checks == (FILTER_CHECK,)
