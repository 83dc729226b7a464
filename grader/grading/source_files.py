"""Read the submission's source for static checks (the evaluator's side).

The ``source`` fixture of a pytest check (code_fixtures.py) asks for the
staged files through these functions, which run in the evaluator under the
check's clock: the student chose every byte, and ``ast.parse`` or a regular
expression can take long on hostile text. Only the standard library is
imported; the answers are plain data, bounded in size and depth, and the
source is parsed, never run.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from typing import Any

MAX_FILE = 256 << 10  # characters of one file kept
MAX_TOTAL = 2 << 20  # characters of all files kept
MAX_ITEMS = 5000  # imports, calls or functions kept per file
MAX_MATCHES = 1000  # lines a grep returns
MAX_LINE = 300  # characters of a matching line returned
MAX_NODES = 50_000  # nodes of a dumped syntax tree
MAX_TREE_DEPTH = 60  # levels of a dumped syntax tree; deeper ones become "..."
TEXT_SUFFIXES = (".py", ".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt", ".css", ".js",
                 ".json", ".md", ".cfg", ".toml", ".ini", ".sql", ".env", ".flaskenv", ".xml",
                 ".svg", ".yaml", ".yml", ".csv")


def _texts(folder: str, files: list[str]) -> dict[str, tuple[str, bool]]:
    """Each text file's content (cut at MAX_FILE) and whether it was cut."""
    out: dict[str, tuple[str, bool]] = {}
    total = 0
    for name in sorted(files):
        if not name.lower().endswith(TEXT_SUFFIXES) and "." in os.path.basename(name):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as f:
                raw = f.read(min(MAX_FILE, MAX_TOTAL - total) + 1)
        except OSError:
            continue
        text = raw.decode("utf-8", errors="replace")
        cut = len(text) > MAX_FILE or total + len(text) > MAX_TOTAL
        text = text[:min(MAX_FILE, MAX_TOTAL - total)]
        total += len(text)
        out[name] = (text, cut)
        if total >= MAX_TOTAL:
            break
    return out


def read(folder: str, files: list[str]) -> dict[str, Any]:
    """``{path: {"text", "truncated", "python": summary or None, "error": str or None}}``."""
    out: dict[str, Any] = {}
    for name, (text, cut) in _texts(folder, files).items():
        entry: dict[str, Any] = {"text": text, "truncated": cut, "python": None, "error": None}
        if name.endswith(".py"):
            try:
                entry["python"] = summary(ast.parse(text, filename=name))
            except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
                entry["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        out[name] = entry
    return out


def dotted(node: ast.AST) -> str:
    """``flask.url_for`` for an attribute chain on a name; ``?`` where it is no name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute) and len(parts) < 20:
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):
        parts.append(dotted(node.func) + "()")
    elif isinstance(node, ast.Name):
        parts.append(node.id)
    else:
        parts.append("?")
    return ".".join(reversed(parts))


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool,
                                                                  type(None))):
        return node.value if not isinstance(node.value, str) else node.value[:MAX_LINE]
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) <= 20:
        return [_literal(e) for e in node.elts]
    return "?"


def summary(tree: ast.Module) -> dict[str, Any]:
    """What a static check asks of one module, as plain data: imports, calls, functions
    (with their decorators) and every name used. ast.walk is iterative, so any depth."""
    imports: list[tuple[str, str | None, int]] = []
    calls: list[tuple[str, int, list[Any], dict[str, Any]]] = []
    functions: list[tuple[str, int, list[tuple[str, list[Any]]]]] = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and len(imports) < MAX_ITEMS:
            imports += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and len(imports) < MAX_ITEMS:
            imports += [(node.module or "", a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.Call) and len(calls) < MAX_ITEMS:
            calls.append((dotted(node.func), node.lineno,
                          [_literal(a) for a in node.args[:10]],
                          {k.arg: _literal(k.value) for k in node.keywords[:10] if k.arg}))
        elif (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and len(functions) < MAX_ITEMS):
            functions.append((node.name, node.lineno, [_decorator(d) for d in
                                                       node.decorator_list[:10]]))
        if isinstance(node, ast.Name) and len(names) < MAX_ITEMS:
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and len(names) < MAX_ITEMS:
            names.add(node.attr)
    return {"imports": imports, "calls": calls, "functions": functions,
            "names": sorted(names)}


def _decorator(node: ast.AST) -> tuple[str, list[Any]]:
    if isinstance(node, ast.Call):
        return dotted(node.func), [_literal(a) for a in node.args[:10]]
    return dotted(node), []


def grep(folder: str, files: list[str], pattern: str, glob: str
         ) -> list[tuple[str, int, str]]:
    """Each line of the files matching *glob* where *pattern* (``re``) matches:
    (path, line number, the line cut at MAX_LINE)."""
    regex = re.compile(pattern)
    found: list[tuple[str, int, str]] = []
    for name, (text, _) in _texts(folder, files).items():
        if not fnmatch.fnmatch(name, glob):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if regex.search(line):
                found.append((name, number, line[:MAX_LINE]))
                if len(found) >= MAX_MATCHES:
                    return found
    return found


def tree(folder: str, files: list[str], name: str) -> Any:
    """The syntax tree of one staged .py file as nested plain data: each node a dict
    with ``_type`` and its fields; cut at MAX_TREE_DEPTH levels and MAX_NODES nodes."""
    texts = _texts(folder, [name] if name in files else [])
    if name not in texts:
        raise FileNotFoundError(f"no staged text file {name!r}")
    module = ast.parse(texts[name][0], filename=name)
    budget = [MAX_NODES]
    return _plain(module, 0, budget)


def _plain(node: Any, depth: int, budget: list[int]) -> Any:
    if isinstance(node, ast.AST):
        budget[0] -= 1
        if depth >= MAX_TREE_DEPTH or budget[0] < 0:
            return "..."
        out: dict[str, Any] = {"_type": type(node).__name__}
        for field, value in ast.iter_fields(node):
            out[field] = _plain(value, depth + 1, budget)
        if hasattr(node, "lineno"):
            out["lineno"] = node.lineno
        return out
    if isinstance(node, list):
        return [_plain(v, depth + 1, budget) for v in node]
    if isinstance(node, str):
        return node[:MAX_LINE]
    if isinstance(node, (int, float, bool, type(None))):
        return node
    return repr(node)[:MAX_LINE]  # bytes, complex, Ellipsis
