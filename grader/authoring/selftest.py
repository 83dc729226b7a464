"""Self-test a spec against submissions whose grades are known in advance.

A spec that lets a wrong solution pass is a grading bug no student reports.
So each exercise keeps, next to its spec, a reference solution (must get full
marks), a starter (must not) and known-wrong variants, "mutants", listed in
``mutants/mutants.yaml`` with the checks each must fail::

    mutants:
      - path: no_comma.py
        why: the greeting misses its comma
        fails: [greets Alice, greets a name with a space]

Grading is injected (a ``Grader``), so this module judges each submission without
knowing about Docker; the CLI passes the real sandbox.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.authoring import patches
from grader.errors import SpecError
from grader.grading.scoring import GradeResult
from grader.spec.exercise import Exercise
from grader.spec.yamlnodes import Field, load_document

MUTANTS_DIR = "mutants"
MUTANTS_MANIFEST = "mutants.yaml"
MUTANT_STATUSES = ("failed", "error", "timeout", "passed")
_MANIFEST_KEYS = frozenset({"mutants"})
_MUTANT_KEYS = frozenset({"path", "why", "fails", "scores_nothing", "status"})
# Files an author may keep in mutants/ that are not mutants themselves.
_NOT_MUTANTS = frozenset({MUTANTS_MANIFEST, "__pycache__", "README.md", "README"})

MutantStatus = Literal["failed", "error", "timeout", "passed"]
Role = Literal["solution", "starter", "mutant", "variant"]
Grader = Callable[[Exercise, Path], GradeResult]


@dataclass(frozen=True)
class Mutant:
    """A known-wrong submission and the checks that must catch it."""

    name: str  # as written in the manifest, e.g. no_comma.py
    path: Path
    why: str
    fails: tuple[str, ...]
    # error/timeout: it must not even load; passed: a correct variant (another style,
    # extra columns, Post/Redirect/Get, ...) that must get full marks
    status: MutantStatus = "failed"
    line: int = 0
    # Checks that must earn no points at all, not even a partial share (they count
    # as `fails` too): proves scoring rules such as set-up steps and guards.
    scores_nothing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Judgement:
    """Whether one known submission got the grade it should."""

    role: Role
    name: str
    ok: bool
    status: str
    score: float
    max_score: float
    seconds: float
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    failed_checks: tuple[str, ...] = ()
    loaded: bool = True


@dataclass(frozen=True)
class SelftestResult:
    exercise: str
    title: str
    verdicts: tuple[Judgement, ...]
    uncaught: tuple[str, ...]  # checks with points that no starter or mutant fails
    seconds: float

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)


# -- the manifest -------------------------------------------------------------


def read_mutants(exercise: Exercise, known_checks: frozenset[str] | None = None
                 ) -> tuple[tuple[Mutant, ...], list[SpecError]]:
    """The exercise's mutants and every problem with them; no mutants/ folder: none.

    *known_checks* are the check names a manifest may refer to; None skips that
    test (``grade validate`` does, when the spec itself has problems).
    """
    folder = exercise.directory / MUTANTS_DIR
    if not folder.is_dir():
        return (), []
    manifest = folder / MUTANTS_MANIFEST
    display = str(manifest)
    if not manifest.is_file():
        return (), [SpecError(str(folder), None, "", f"has no {MUTANTS_MANIFEST}; list each "
                              "mutant there with the checks it must fail (see docs/tutorial.md)")]
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return (), [SpecError(display, None, "", f"cannot be read as UTF-8 text: {e}")]
    try:
        root = load_document(text, display).mapping(_MANIFEST_KEYS)
        listed = root.require("mutants")
        items = listed.sequence()
    except SpecError as e:
        return (), [e]
    if not items:
        return (), [listed.fail("needs at least one mutant")]
    mutants: list[Mutant] = []
    problems: list[SpecError] = []
    named: dict[Path, int] = {}
    for item in items:
        try:
            mutant = _mutant(item, folder, known_checks, exercise.solution)
        except SpecError as e:
            problems.append(e)
            named.setdefault(_named_path(item, folder), item.line)
            continue
        if mutant.path in named:
            problems.append(item.fail(f"{mutant.name} is listed twice (first on line "
                                      f"{named[mutant.path]})"))
            continue
        named[mutant.path] = item.line
        mutants.append(mutant)
    for entry in sorted(folder.iterdir()):
        if entry.name in _NOT_MUTANTS or entry.name.startswith("."):
            continue
        if entry.resolve() not in named:
            problems.append(listed.fail(f"{MUTANTS_DIR}/{entry.name} is not listed; add it "
                                        "with the checks it must fail, or remove it"))
    return tuple(mutants), problems


def load_mutants(exercise: Exercise) -> tuple[Mutant, ...]:
    """The mutants of a valid exercise; raises the first problem as a SpecError."""
    mutants, problems = read_mutants(exercise, frozenset(c.name for c in exercise.checks))
    if problems:
        raise problems[0]
    return mutants


def _mutant(item: Field, folder: Path, known: frozenset[str] | None,
            solution: Path | None) -> Mutant:
    m = item.mapping(_MUTANT_KEYS)
    path_f = m.require("path")
    name = path_f.string().rstrip("/")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or path == folder.resolve():
        raise path_f.fail(f"must name a file or folder inside {MUTANTS_DIR}/, got {name!r}")
    if not path.exists():
        raise path_f.fail(f"names {name!r}, which does not exist in {folder}")
    if not path.is_dir() and patches.is_patch(path):
        _check_patch(path_f, path, solution)
    elif not path.is_dir() and path.suffix != ".py":
        raise path_f.fail(f"must be a .py file, a folder (like a submission) or a patch "
                          f"against the solution ({', '.join(patches.PATCH_SUFFIXES)}); "
                          f"got {name!r}")
    why = m.require("why").string()
    status_f = m.get("status")
    status = status_f.choice(MUTANT_STATUSES) if status_f else "failed"
    fails_f, nothing_f = m.get("fails"), m.get("scores_nothing")
    fails = fails_f.str_or_list() if fails_f else ()
    nothing = nothing_f.str_or_list() if nothing_f else ()
    if status == "failed" and not fails and not nothing:
        raise item.fail(f"mutant {name} needs `fails:`, the checks it must fail")
    if status == "passed" and (fails or nothing):
        raise item.fail(f"{name} is a correct variant (status: passed), which must get full "
                        "marks; it fails no check, so drop `fails:` and `scores_nothing:`")
    for listed_f, names in ((fails_f, fails), (nothing_f, nothing)):
        if listed_f is None or known is None:
            continue
        for check in names:
            if check not in known:
                raise listed_f.fail(f"no check is named {check!r}; the checks are: "
                                    + ", ".join(repr(k) for k in sorted(known)))
    return Mutant(name=name, path=path, why=why, fails=tuple(dict.fromkeys(fails + nothing)),
                  status=status, line=item.line,  # type: ignore[arg-type]
                  scores_nothing=nothing)


def _check_patch(path_f: Field, path: Path, solution: Path | None) -> None:
    if solution is None:
        raise path_f.fail("is a patch, but the spec names no solution to apply it to; add "
                          "`solution: solution.py`")
    try:
        patches.check(path, solution)
    except (OSError, UnicodeDecodeError) as e:
        raise path_f.fail(f"cannot be read as UTF-8 text: {e}") from e
    except patches.PatchError as e:
        raise SpecError(str(path), e.line, "", e.problem) from e


@contextmanager
def _submission(exercise: Exercise, mutant: Mutant) -> Iterator[Path]:
    """The mutant as a submission: itself, or the solution with its patch applied."""
    if not patches.is_patch(mutant.path) or exercise.solution is None:
        yield mutant.path
        return
    with tempfile.TemporaryDirectory(prefix="grade-mutant-") as tmp:
        yield patches.materialize(mutant.path, exercise.solution, Path(tmp))


def _named_path(item: Field, folder: Path) -> Path:
    """The path an entry names, if any, so a broken entry is not also 'not listed'."""
    try:
        path_f = item.mapping().get("path")
        return (folder / path_f.string().rstrip("/")).resolve() if path_f else folder
    except SpecError:
        return folder


# -- running ------------------------------------------------------------------


def run_selftest(exercise: Exercise, grader: Grader, mutants: tuple[Mutant, ...],
                 on_verdict: Callable[[Judgement], None] | None = None) -> SelftestResult:
    """Grade the solution, the starter and every mutant; judge each against its promise."""
    started = time.monotonic()
    verdicts: list[Judgement] = []

    def judged(verdict: Judgement) -> None:
        verdicts.append(verdict)
        if on_verdict is not None:
            on_verdict(verdict)

    if exercise.solution is None:
        judged(Judgement("solution", "(none)", False, "missing", 0.0, exercise.max_score, 0.0,
                         problems=("the spec names no reference solution; add "
                                   "`solution: solution.py` and write one",)))
    else:
        judged(_judge_solution(exercise, exercise.solution, grader))
    if exercise.starter is not None:
        judged(_judge_starter(exercise, exercise.starter, grader))
    for mutant in mutants:
        judged(_judge_mutant(exercise, mutant, grader))
    caught = {name for v in verdicts if v.role in ("starter", "mutant") and v.loaded
              for name in v.failed_checks}
    uncaught = tuple(c.name for c in exercise.checks if c.points > 0 and c.name not in caught)
    return SelftestResult(exercise.id, exercise.title, tuple(verdicts), uncaught,
                          round(time.monotonic() - started, 2))


def _graded(exercise: Exercise, path: Path, grader: Grader) -> tuple[GradeResult, float]:
    start = time.monotonic()
    result = grader(exercise, path)
    return result, round(time.monotonic() - start, 2)


def _failed_checks(result: GradeResult) -> tuple[str, ...]:
    return tuple(c.name for c in result.checks if c.status != "passed")


def _judge_solution(exercise: Exercise, path: Path, grader: Grader) -> Judgement:
    result, seconds = _graded(exercise, path, grader)
    problems: list[str] = []
    if result.problem is not None:
        problems.append(f"does not load: {result.problem.headline()}")
    elif result.status != "passed":
        problems.append(f"must get full marks, got {result.score:g}/{result.max_score:g}")
        problems += [f"fails {c.name!r}: {c.message}" for c in result.checks
                     if c.status != "passed"][:5]
    return Judgement("solution", _shown(exercise, path), not problems, result.status,
                     result.score, result.max_score, seconds, tuple(problems),
                     failed_checks=_failed_checks(result), loaded=result.problem is None)


def _judge_starter(exercise: Exercise, path: Path, grader: Grader) -> Judgement:
    result, seconds = _graded(exercise, path, grader)
    problems: list[str] = []
    if result.problem is not None:
        problems.append(f"does not load: {result.problem.headline()}. Students start "
                        "from it, so it should load and earn the points it has not left "
                        "as work")
    elif result.status == "passed":
        problems.append("gets full marks, so it leaves nothing to do; put the TODOs back "
                        "or tighten the checks")
    return Judgement("starter", _shown(exercise, path), not problems, result.status,
                     result.score, result.max_score, seconds, tuple(problems),
                     failed_checks=_failed_checks(result), loaded=result.problem is None)


def _judge_variant(exercise: Exercise, mutant: Mutant, grader: Grader) -> Judgement:
    with _submission(exercise, mutant) as path:
        result, seconds = _graded(exercise, path, grader)
    problems: list[str] = []
    if result.problem is not None:
        problems.append(f"does not load: {result.problem.headline()}")
    elif result.status != "passed":
        problems.append(f"must get full marks ({mutant.why}), got "
                        f"{result.score:g}/{result.max_score:g}")
        problems += [f"fails {c.name!r}: {c.message}" for c in result.checks
                     if c.status != "passed"][:5]
    return Judgement("variant", mutant.name + ("/" if mutant.path.is_dir() else ""),
                     not problems, result.status, result.score, result.max_score, seconds,
                     tuple(problems), failed_checks=_failed_checks(result),
                     loaded=result.problem is None)


def _judge_mutant(exercise: Exercise, mutant: Mutant, grader: Grader) -> Judgement:
    if mutant.status == "passed":
        return _judge_variant(exercise, mutant, grader)
    with _submission(exercise, mutant) as path:
        result, seconds = _graded(exercise, path, grader)
    by_name = {c.name: c for c in result.checks}
    failed = _failed_checks(result)
    problems: list[str] = []
    notes: list[str] = []
    loaded = result.problem is None
    if mutant.status != "failed":
        if result.status != mutant.status or loaded:
            problems.append(f"should end with status {mutant.status} (it must not load), "
                            f"but got {result.status}, {result.score:g}/{result.max_score:g}")
    elif not loaded:
        assert result.problem is not None
        problems.append(f"does not load ({result.problem.headline()}), so no check is put to "
                        "the test; fix the mutant, or declare `status: error` if not loading "
                        "is the point")
    else:
        for name in mutant.fails:
            check = by_name.get(name)
            if check is not None and check.status == "passed":
                problems.append(f"passes {name!r}, which it should fail ({mutant.why})")
            elif check is not None and name in mutant.scores_nothing and check.points > 0:
                problems.append(f"earns {check.points:g} of {check.max_points:g} on {name!r}, "
                                f"which should pay it nothing ({mutant.why})")
        extra = [n for n in failed if n not in mutant.fails]
        if extra:
            notes.append("also fails " + ", ".join(repr(n) for n in extra))
    if not problems and result.status == "passed":
        problems.append(f"gets full marks ({mutant.why})")
    return Judgement("mutant", mutant.name + ("/" if mutant.path.is_dir() else ""),
                     not problems, result.status, result.score, result.max_score, seconds,
                     tuple(problems), tuple(notes), failed, loaded)


def _shown(exercise: Exercise, path: Path) -> str:
    try:
        name = path.relative_to(exercise.directory.resolve()).as_posix()
    except ValueError:
        name = str(path)
    return name + ("/" if path.is_dir() else "")


# -- text for the terminal ----------------------------------------------------------


def verdict_lines(verdict: Judgement, *, verbose: bool = False) -> list[str]:
    """A verdict as terminal lines: a ✓/✗ line, then why (and notes when verbose)."""
    mark = "✓" if verdict.ok else "✗"
    score = f"{verdict.score:g}/{verdict.max_score:g}"
    lines = [f"  {mark} {verdict.role:<9}{verdict.name:<28} {score:>11}  {verdict.status:<8}"
             f"{verdict.seconds:4.1f} s"]
    lines += [f"      {p}" for p in verdict.problems]
    if verbose:
        lines += [f"      note: {n}" for n in verdict.notes]
    return lines


def result_lines(result: SelftestResult) -> list[str]:
    """The closing lines of one exercise's self-test."""
    lines = []
    if result.uncaught:
        lines.append("  note: no starter or mutant fails " + ", ".join(
            repr(n) for n in result.uncaught) + "; a mutant that should fail it proves it works")
    if not any(v.role == "mutant" for v in result.verdicts):
        lines.append(f"  note: no mutants; add {MUTANTS_DIR}/{MUTANTS_MANIFEST} "
                     "(see docs/tutorial.md)")
    state = "passed" if result.ok else "FAILED"
    lines.append(f"  {result.exercise} selftest {state} ({len(result.verdicts)} gradings, "
                 f"{result.seconds:.1f} s)")
    return lines
