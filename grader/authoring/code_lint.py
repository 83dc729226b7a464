"""A static pass over a pytest check's code, for ``grade validate``.

What grading would report as an error of the spec (code_check.py), found
before any grading where the code shows it without running: a name no scope
defines (``symtable``), a fixture nobody provides, a mark pytest does not
know, a ``data`` fixture without a ``data/`` folder, and weights that count
for nothing because the check is all or nothing. It reads the instructor's
code with ``ast`` and ``symtable``; nothing is run.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import symtable
from collections.abc import Iterator
from pathlib import Path

from grader.grading.code_check import GRADE_FIXTURES, PYTEST_FIXTURES
from grader.grading.code_fixtures import DATA_FOLDER
from grader.spec.exercise import Check, CodeCheck

MARKS = ("parametrize", "skip", "skipif", "xfail", "usefixtures", "points")
_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__"}


def problems(check: Check, exercise_folder: Path) -> list[str]:
    """Each problem of *check*'s code, as a sentence naming the line of the code."""
    if not isinstance(check.body, CodeCheck):
        return []
    source = check.body.source
    try:
        tree = ast.parse(source)
        table = symtable.symtable(source, "<check code>", "exec")
    except (SyntaxError, ValueError):
        return []  # the parser reports it already
    found = _undefined(table, tree)
    fixtures = _fixtures(tree)
    for line, name in _asked(tree):
        if name not in fixtures:
            close = difflib.get_close_matches(name, sorted(fixtures), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(f"line {line}: asks for fixture {name!r}, which no one provides "
                         f"(grade's: {', '.join(GRADE_FIXTURES)}; or define it with "
                         f"@pytest.fixture){hint}")
        elif name == "data" and not (exercise_folder / DATA_FOLDER).is_dir():
            found.append(f"line {line}: asks for the data fixture, but {exercise_folder} has no "
                         f"{DATA_FOLDER}/ folder")
    for line, mark in _marks(tree):
        if mark not in MARKS:
            close = difflib.get_close_matches(mark, MARKS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(f"line {line}: pytest.mark.{mark} is not a mark grade knows "
                         f"({', '.join(MARKS)}){hint}")
        elif mark == "points" and not check.partial:
            found.append(f"line {line}: a points mark weighs a test only with partial: "
                         "true; without it the check is all or nothing")
    if not check.partial and any(name == "score" for _, name in _asked(tree)):
        found.append("the score fixture gives partial credit only with partial: true")
    return sorted(dict.fromkeys(found), key=_line_of)  # found order within a line


def _line_of(text: str) -> int:
    head = text.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 1 << 30


def _undefined(table: symtable.SymbolTable, tree: ast.Module) -> list[str]:
    """Names used somewhere that neither the module nor the builtins define."""
    defined = {s.get_name() for s in table.get_symbols()
               if s.is_assigned() or s.is_imported() or s.is_namespace()} | _BUILTINS
    missing: set[str] = set()
    pending = [table]
    while pending:
        scope = pending.pop()
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            is_free_here = (symbol.is_global() if scope is not table
                            else not (symbol.is_assigned() or symbol.is_imported()))
            if symbol.is_referenced() and is_free_here and name not in defined:
                missing.add(name)
        pending.extend(scope.get_children())
    lines = {node.id: node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id in missing}
    return [f"line {lines.get(name, 0)}: name {name!r} is not defined anywhere in the code"
            for name in sorted(missing)]


def _decorators(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.decorator_list
    return []


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or \
        (isinstance(target, ast.Name) and target.id == "fixture")


def _fixtures(tree: ast.Module) -> set[str]:
    """Every name a test may ask for: grade's, pytest's, the code's own fixtures."""
    names = set(GRADE_FIXTURES) | set(PYTEST_FIXTURES)
    for node in ast.walk(tree):
        for decorator in _decorators(node):
            if _is_fixture(decorator) and isinstance(node, (ast.FunctionDef,
                                                            ast.AsyncFunctionDef)):
                names.add(node.name)
                if isinstance(decorator, ast.Call):
                    names.update(k.value.value for k in decorator.keywords
                                 if k.arg == "name" and isinstance(k.value, ast.Constant)
                                 and isinstance(k.value.value, str))
    return names


def _parametrized(decorators: list[ast.expr]) -> set[str]:
    names: set[str] = set()
    for decorator in decorators:
        if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "parametrize" and decorator.args):
            first = decorator.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.update(n.strip() for n in first.value.split(","))
            elif isinstance(first, (ast.List, ast.Tuple)):
                names.update(e.value for e in first.elts
                             if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return names


def _asked(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, name) of each fixture a test or a fixture asks for by parameter."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            given = _parametrized(node.decorator_list)
            for item in node.body:
                yield from _params(item, given, method=True)
        else:
            yield from _params(node, set(), method=False)


def _params(node: ast.AST, given: set[str], *, method: bool) -> Iterator[tuple[int, str]]:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    fixture = any(_is_fixture(d) for d in node.decorator_list)
    if not (fixture or node.name.startswith("test")):
        return
    given = given | _parametrized(node.decorator_list)
    args = node.args.posonlyargs + node.args.args
    defaults = len(node.args.defaults)
    asked = args[:len(args) - defaults] if defaults else args
    for arg in asked[1:] if method else asked:
        if arg.arg not in given:
            yield node.lineno, arg.arg


def _marks(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, name) of each ``pytest.mark.NAME`` the code uses."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "mark" and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "pytest"):
            yield node.lineno, node.attr
