"""``grade validate``: every problem of a spec, not only the first.

The parser (grader.spec) stops at the first problem. Rather than a second,
forgiving parser, validation re-runs the real one on the same YAML tree: after
each problem it sets aside what caused it (the one key inside a check, the
one top-level, ``limits`` or ``setup`` key, or the whole check when nothing
smaller will do) and parses again, until the rest parses. A problem that only
the setting aside caused (a required key now missing) is not reported: the
check is set aside whole instead. Then it checks what the parser leaves alone: the id matches the
folder, points fit the 0.01 rounding of scores, the solution and starter are
submissions (a .py file or a folder) and the mutants manifest is sound.

Warnings (grader.authoring.flow_lists) point at what is valid but probably
not meant; they never make a spec fail.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from grader.authoring import code_lint
from grader.authoring.flow_lists import SpecWarning, split_items
from grader.authoring.selftest import MUTANTS_DIR, MUTANTS_MANIFEST, read_mutants
from grader.errors import ExerciseNotFound, SpecError
from grader.spec.catalog import Roots, as_roots, available, instructor_roots, located, roots
from grader.spec.exercise import SPEC_FILENAME, Exercise, load_exercise, parse_document
from grader.spec.yamlnodes import Field, load_document

# The first line of the student README `grade new` writes (scaffold.py); validate
# warns while it is there.
README_MARKER = ("<!-- grade new wrote this README. Rewrite it for your students (grade show "
                 "prints it), then delete this line. -->")
MAX_ROUNDS = 500  # a spec never has this many problems; a guard against loops
# Stand-ins for what a broken spec lacks, so parsing can go on past it.
_PLACEHOLDER_ID = "grade-validate-placeholder"
_STUB_PREFIX = "grade validate placeholder for check "
_REQUIRED_TOP = ("id", "title")
_STR = "tag:yaml.org,2002:str"
_MISSING_KEY = re.compile(r"^missing required key '([^']+)'$")
# Problems that taking a key out of a check can cause by itself.
_CAUSED_BY_DROPPING = re.compile(r"missing required key|needs one of|needs at least|"
                                 r"must not be empty|says nothing to check|give exactly one of|"
                                 r"a row needs|is empty")
_KINDS = frozenset({"request", "steps", "model", "database", "pytest"})
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Validation:
    """The problems of one spec, in line order; the exercise when it has none.

    Warnings do not count against ``ok``.
    """

    spec_path: Path
    problems: tuple[SpecError, ...]
    exercise: Exercise | None = None
    warnings: tuple[SpecWarning, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """Its problems and warnings as printed, in file and line order."""
        shown = [(p.path, p.line or 0, str(p)) for p in self.problems]
        shown += [(w.path, w.line, str(w)) for w in self.warnings]
        return [text for _, _, text in sorted(shown, key=lambda s: (s[0], s[1]))]


def find_specs(target: str | None, root: Roots = None, dirs: Sequence[Path] = ()
               ) -> list[Path]:
    """Spec files for an exercise id, a spec file, an exercise folder or a catalogue.

    Ids are looked up in *root*, else in the catalogues side by side (*dirs*
    first). With no target: every exercise of *root*, else of the instructor's
    catalogues (the shipped one when none is given).
    """
    everywhere = as_roots(root) if root is not None else roots(dirs)
    if target is None:
        chosen = as_roots(root) if root is not None else (instructor_roots(dirs)
                                                          or everywhere)
        if not (specs := located(chosen)):
            shown = ", ".join(str(r) for r in chosen)
            raise ExerciseNotFound(f"no exercises in {shown}: no folder there holds "
                                   f"{SPEC_FILENAME}. Pass a path, --dir DIR, or set "
                                   "GRADE_EXERCISES.")
        return [specs[name] for name in sorted(specs)]
    if "/" not in target and target in (specs := located(everywhere)):
        return [specs[target]]
    path = Path(target)
    if path.is_file():
        return [path]
    if (path / SPEC_FILENAME).is_file():
        return [path / SPEC_FILENAME]
    if path.is_dir() and (found := sorted(path.glob(f"*/{SPEC_FILENAME}"))):
        return found
    listed = ", ".join(available(everywhere)) or "none"
    raise ExerciseNotFound(f"{target!r} is neither an exercise (available: {listed}) nor a "
                           f"spec file or folder holding {SPEC_FILENAME}")


def validate_spec(spec_path: Path) -> Validation:
    """Every problem of one spec, its mutants manifest included."""
    # Absolute, so the exercise grades from any folder; shown relative when inside it.
    exercise, problems, trusted = _parse_all(spec_path.absolute())
    if exercise is not None:
        problems += _semantic_problems(exercise, trusted)
    shown = [SpecError(str(_display(Path(p.path))), p.line, p.field, p.problem)
             for p in problems]
    ordered = tuple(sorted(shown, key=lambda p: (p.path, p.line or 0)))
    warnings = sorted((replace(w, path=str(_display(Path(w.path))))
                       for w in _warnings(spec_path.absolute())),
                      key=lambda w: (w.path, w.line))
    return Validation(_display(spec_path), ordered, exercise if not ordered else None,
                      tuple(warnings))


def validate_all(specs: list[Path]) -> list[Validation]:
    return [validate_spec(p) for p in specs]


# -- every parse problem --------------------------------------------------------


@dataclass
class _Trust:
    """What the final parse result may be trusted for, after stand-ins were used."""

    id: bool = True
    stubbed: set[int] = field(default_factory=set)  # indexes of checks set aside
    # Fields taken out of checks (``checks[2].request.method``), by check index.
    dropped: dict[int, list[str]] = field(default_factory=dict)
    # Required keys given a stand-in after they were taken out: a problem with one
    # of these is the stand-in's, not the author's.
    stood_in: set[str] = field(default_factory=set)

    def caused_by_dropping(self, error: SpecError) -> bool:
        """Whether *error* may come only from a key taken out of its check."""
        check = re.match(r"^checks\[(\d+)\]", error.field)
        if check is None:
            return False
        if error.field in self.stood_in:
            return True
        if not _CAUSED_BY_DROPPING.search(error.problem):
            return False
        return any(d == error.field or d.startswith((error.field + ".", error.field + "["))
                   for d in self.dropped.get(int(check.group(1)), []))


def _parse_all(spec_path: Path) -> tuple[Exercise | None, list[SpecError], _Trust]:
    try:
        return load_exercise(spec_path), [], _Trust()
    except SpecError as first:
        if first.line is None:
            return None, [first], _Trust()  # unreadable, not UTF-8: nothing to walk
        raw = spec_path.read_bytes()
        try:
            root = load_document(raw.decode("utf-8"), str(spec_path))
        except SpecError:
            return None, [first], _Trust()  # the YAML itself does not parse
    return _reparse(root, spec_path, hashlib.sha256(raw).hexdigest())


def _reparse(root: Field, spec_path: Path, digest: str
             ) -> tuple[Exercise | None, list[SpecError], _Trust]:
    problems: list[SpecError] = []
    trust = _Trust()
    for _ in range(MAX_ROUNDS):
        try:
            return parse_document(root, spec_path, digest), problems, trust
        except SpecError as e:
            if trust.caused_by_dropping(e) and isinstance(root.node, yaml.MappingNode):
                index = int(e.field[len("checks["):e.field.index("]")])
                if not (_stand_in(root.node, e, trust)
                        or _stub_check(root.node, index, e.field, trust)):
                    break
                continue
            problems.append(e)
            if not _set_aside(root.node, e, trust):
                break
    return None, problems, trust


def _set_aside(top: yaml.Node, error: SpecError, trust: _Trust) -> bool:
    """Take out of *top* what caused *error*; False when parsing cannot go on."""
    if not isinstance(top, yaml.MappingNode):
        return False
    where = error.field
    if where in ("", "(top level)"):
        missing = _MISSING_KEY.match(error.problem)
        if missing and missing.group(1) in _REQUIRED_TOP:
            _put(top, missing.group(1), _PLACEHOLDER_ID)
            trust.id = trust.id and missing.group(1) != "id"
            return True
        return False
    if (check := re.match(r"^checks\[(\d+)\]", where)) is not None:
        index = int(check.group(1))
        return (_drop_in_check(top, index, where, trust)
                or _stub_check(top, index, where, trust))
    key = _top_key(top, where)
    if key is None or key == "checks":
        return False
    if key in _REQUIRED_TOP:
        if key == "id":
            trust.id = False
        _put(top, key, _PLACEHOLDER_ID)
        return True
    value = _value(top, key)
    sub = where[len(key) + 1:]
    head = re.split(r"[.\[]", sub, maxsplit=1)[0]
    if key == "flows" and isinstance(value, yaml.MappingNode) and _has(value, head):
        _stub_flow(value, head)  # checks that use it still parse, and are still checked
    elif isinstance(value, yaml.MappingNode) and where.startswith(key + ".") and _has(value, sub):
        _drop(value, sub)
    else:
        _drop(top, key)
    return True


def _stub_flow(flows: yaml.MappingNode, name: str) -> None:
    """Replace the named flow, which has a problem, with one plain GET step."""
    old = _value(flows, name)
    mark = (old or flows).start_mark
    step = yaml.MappingNode("tag:yaml.org,2002:map", [
        (_scalar("request", mark), yaml.MappingNode("tag:yaml.org,2002:map", [
            (_scalar("path", mark), _scalar("/", mark))], mark, mark))], mark, mark)
    _drop(flows, name)
    flows.value.append((_scalar(name, mark),
                        yaml.SequenceNode("tag:yaml.org,2002:seq", [step], mark, mark)))


def _stub_check(top: yaml.MappingNode, index: int, where: str, trust: _Trust) -> bool:
    checks = _value(top, "checks")
    if index in trust.stubbed or not isinstance(checks, yaml.SequenceNode) \
            or index >= len(checks.value):
        return False
    old = checks.value[index]
    mark = old.start_mark
    name = _value(old, "name") if isinstance(old, yaml.MappingNode) else None
    keep_name = (isinstance(name, yaml.ScalarNode) and name.tag == _STR and name.value
                 and where not in (f"checks[{index}]", f"checks[{index}].name"))
    # Keep the name (so a repeat of it is still found) and give a point, so
    # stand-ins never make the total 0 on their own.
    stub = yaml.MappingNode("tag:yaml.org,2002:map", [
        (_scalar("name", mark), _scalar(name.value if keep_name and name else
                                        f"{_STUB_PREFIX}{index}", mark)),
        (_scalar("points", mark), yaml.ScalarNode("tag:yaml.org,2002:int", "1", mark, mark)),
        (_scalar("request", mark), yaml.MappingNode("tag:yaml.org,2002:map", [
            (_scalar("path", mark), _scalar("/", mark))], mark, mark)),
    ], mark, mark)
    first = re.match(r"^\.([^.\[]+)", where[len(f"checks[{index}]"):])
    if isinstance(old, yaml.MappingNode) and first and first.group(1) in _KINDS | {"expect"}:
        # The problem is in what the check does: keep its other keys (points,
        # hidden, hint, ...) so their problems are found too.
        kept = [(k, v) for k, v in old.value if isinstance(k, yaml.ScalarNode)
                and k.value not in _KINDS | {"expect", "name"}]
        stub.value = stub.value[:1] + [(k, v) for k, v in kept] + stub.value[2:]
        if not any(k.value == "points" for k, _ in kept):
            stub.value.insert(1, (_scalar("points", mark), yaml.ScalarNode(
                "tag:yaml.org,2002:int", "1", mark, mark)))
    checks.value[index] = stub
    trust.stubbed.add(index)
    return True


def _drop_in_check(top: yaml.MappingNode, index: int, where: str, trust: _Trust) -> bool:
    """Take the one key *where* names out of check *index*, so its other keys are read."""
    checks = _value(top, "checks")
    if not isinstance(checks, yaml.SequenceNode) or index >= len(checks.value):
        return False
    rest = where[len(f"checks[{index}]"):]
    segments: list[str | int] = []
    for found in _SEGMENT.finditer(rest):
        segments.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
    if "".join(f".{s}" if isinstance(s, str) else f"[{s}]" for s in segments) != rest \
            or not segments or not isinstance(segments[-1], str) \
            or segments[0] == "name" or (len(segments) == 1 and segments[0] in _KINDS):
        return False
    node: yaml.Node | None = checks.value[index]
    for segment in segments[:-1]:
        if isinstance(segment, int) and isinstance(node, yaml.SequenceNode) \
                and segment < len(node.value):
            node = node.value[segment]
        elif isinstance(segment, str) and isinstance(node, yaml.MappingNode):
            node = _value(node, segment)
        else:
            return False
    last = segments[-1]
    assert isinstance(last, str)
    if not isinstance(node, yaml.MappingNode) or not _has(node, last):
        return False
    _drop(node, last)
    trust.dropped.setdefault(index, []).append(where)
    return True


def _stand_in(top: yaml.MappingNode, error: SpecError, trust: _Trust) -> bool:
    """Put a plain stand-in back for a required key that was taken out, once.

    "/" is text, a path and a value most keys accept, so the check's other
    keys are still read; if the stand-in is refused, the check is set aside.
    """
    missing = _MISSING_KEY.match(error.problem)
    target = f"{error.field}.{missing.group(1)}" if missing else ""
    if not missing or target in trust.stood_in or target not in {
            d for ds in trust.dropped.values() for d in ds}:
        return False
    node = _node_at(top, error.field)
    if not isinstance(node, yaml.MappingNode):
        return False
    _put(node, missing.group(1), "/")
    trust.stood_in.add(target)
    return True


def _node_at(top: yaml.MappingNode, where: str) -> yaml.Node | None:
    """The node a field name such as ``checks[1].steps[0].request`` points at."""
    node: yaml.Node | None = top
    for found in _SEGMENT.finditer("." + where):
        key, index = found.group(1), found.group(2)
        if index is not None and isinstance(node, yaml.SequenceNode) \
                and int(index) < len(node.value):
            node = node.value[int(index)]
        elif key is not None and isinstance(node, yaml.MappingNode):
            node = _value(node, key)
        else:
            return None
    return node


def _scalar(text: str, mark: yaml.Mark) -> yaml.ScalarNode:
    return yaml.ScalarNode(_STR, text, mark, mark)


def _top_key(top: yaml.MappingNode, where: str) -> str | None:
    keys = [str(k.value) for k, _ in top.value if isinstance(k, yaml.ScalarNode)]
    if where in keys:
        return where
    candidates = [k for k in keys if where.startswith((k + ".", k + "["))]
    return max(candidates, key=len) if candidates else None


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def _has(mapping: yaml.MappingNode, key: str) -> bool:
    return _value(mapping, key) is not None


def _drop(mapping: yaml.MappingNode, key: str) -> None:
    mapping.value = [(k, v) for k, v in mapping.value
                     if not (isinstance(k, yaml.ScalarNode) and k.value == key)]


def _put(mapping: yaml.MappingNode, key: str, text: str) -> None:
    old = _value(mapping, key)
    mark = (old or mapping).start_mark
    _drop(mapping, key)
    mapping.value.append((_scalar(key, mark), _scalar(text, mark)))


# -- what the parser does not check -----------------------------------------------


def _semantic_problems(exercise: Exercise, trust: _Trust) -> list[SpecError]:
    path = str(exercise.spec_path)
    root = _tree(exercise.spec_path)
    problems: list[SpecError] = []
    folder = exercise.directory.resolve().name
    if trust.id and exercise.id != folder:
        problems.append(SpecError(path, _line(root, "id"), "id",
                                  f"is {exercise.id!r} but the folder is {folder!r}; name the "
                                  "folder after the id so `grade submit ID` finds it"))
    for index, check in enumerate(exercise.checks):
        if index in trust.stubbed:
            continue
        if round(check.points, 2) != check.points:
            problems.append(SpecError(path, _line(root, "checks", index, "points") or check.line,
                                      f"checks[{index}].points",
                                      f"{check.points:g} has more than 2 decimals; scores are "
                                      "rounded to 0.01, so use e.g. 0.25 or 0.5"))
        if check.timeout > exercise.limits.time:
            problems.append(SpecError(path, _line(root, "checks", index, "timeout") or check.line,
                                      f"checks[{index}].timeout",
                                      f"{check.timeout:g} s is more than limits.time "
                                      f"({exercise.limits.time:g} s) for the whole submission"))
        problems += [SpecError(path, _line(root, "checks", index, "pytest") or check.line,
                               f"checks[{index}].pytest", problem)
                     for problem in code_lint.problems(check, exercise.directory)]
    for key in ("solution", "starter"):
        target = getattr(exercise, key)
        if target is not None and target.is_file() and target.suffix != ".py":
            problems.append(SpecError(path, _line(root, key), key,
                                      f"must be a .py file or a folder (a submission), got "
                                      f"{target.name!r}"))
    if exercise.readme is not None and not exercise.readme.is_file():
        problems.append(SpecError(path, _line(root, "readme"), "readme",
                                  "must be a file (`grade show` prints it)"))
    known = None if trust.stubbed else frozenset(c.name for c in exercise.checks)
    _, mutant_problems = read_mutants(exercise, known)
    return problems + mutant_problems


def _tree(spec_path: Path) -> yaml.Node | None:
    source = _source(spec_path)
    return source[1] if source is not None else None


def _source(path: Path) -> tuple[str, yaml.Node] | None:
    """The text of a YAML file and its tree; None when either cannot be had."""
    try:
        text = path.read_text(encoding="utf-8")
        return text, load_document(text, str(path)).node
    except (OSError, UnicodeDecodeError, SpecError):
        return None  # a problem the parser or read_mutants reports


# -- warnings ---------------------------------------------------------------------------


def _warnings(spec_path: Path) -> list[SpecWarning]:
    """What looks unmeant in the spec and its mutants manifest."""
    spec = _source(spec_path)
    if spec is None:
        return []
    names = _check_names(spec[1])
    found = split_items(spec[1], spec[0], str(spec_path), names)
    manifest = spec_path.parent / MUTANTS_DIR / MUTANTS_MANIFEST
    if manifest.is_file() and (listed := _source(manifest)) is not None:
        found += split_items(listed[1], listed[0], str(manifest), names)
    return found + _scaffold_readme(spec_path, spec[1])


def _scaffold_readme(spec_path: Path, root: yaml.Node) -> list[SpecWarning]:
    """The student README that `grade new` wrote, never rewritten."""
    named = _value(root, "readme") if isinstance(root, yaml.MappingNode) else None
    readme = spec_path.parent / (str(named.value) if isinstance(named, yaml.ScalarNode)
                                 else "README.md")
    try:
        lines = readme.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []  # no README, or one the parser reports
    return [SpecWarning(str(readme), n, "", "this is still the README `grade new` wrote; "
                        "students read it (`grade show`), so describe this exercise's task "
                        "and delete the `grade new` line")
            for n, line in enumerate(lines, start=1) if README_MARKER in line][:1]


def _check_names(root: yaml.Node) -> frozenset[str]:
    """The names the checks give themselves, read from the tree (the spec may not parse)."""
    checks = _value(root, "checks") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(checks, yaml.SequenceNode):
        return frozenset()
    named = (_value(c, "name") for c in checks.value if isinstance(c, yaml.MappingNode))
    return frozenset(str(n.value) for n in named if isinstance(n, yaml.ScalarNode))


def _line(node: yaml.Node | None, *keys: str | int) -> int | None:
    """The line of the value at *keys* (mapping keys and list indexes), if present."""
    for key in keys:
        if isinstance(key, int) and isinstance(node, yaml.SequenceNode) and key < len(node.value):
            node = node.value[key]
        elif isinstance(key, str) and isinstance(node, yaml.MappingNode):
            node = _value(node, key)
        else:
            return None
    return int(node.start_mark.line) + 1 if node is not None else None


def _display(spec_path: Path) -> Path:
    """The path as problems show it: relative to the working folder when inside it."""
    try:
        rel = os.path.relpath(spec_path)
    except ValueError:
        return spec_path
    return Path(rel) if not rel.startswith("..") else spec_path
