"""The database schema a submission declares, read from its source on the host.

The agent that describes the app's models, and the database file it dumps,
come from the student's own interpreter: they are claims. What the host holds
itself is the staged source. This module reads it, without running it: the
model classes (``db.Column``, ``mapped_column``, ``Mapped[...]``,
``__tablename__``, ``__table_args__``) and the Alembic migration scripts
(``op.create_table``, ``op.add_column``, ``op.create_index``). A schema fact
counts only where the source declares it too (corroborate.py).

Only literal declarations are understood; a schema built at run time by
loops or ``setattr`` declares nothing here, which docs/threat-model.md says.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MAX_SOURCE = 1 << 20  # bytes of one file worth reading for declarations
MIGRATIONS = "migrations"

# Type names (as SQLAlchemy spells them) -> the spec's kind; the same kinds as db_fill.sqlite_type.
_TYPES = {
    "Integer": "integer", "SmallInteger": "integer", "BigInteger": "integer", "INTEGER": "integer",
    "String": "string", "Unicode": "string", "VARCHAR": "string", "CHAR": "string",
    "NVARCHAR": "string", "Text": "text", "UnicodeText": "text", "TEXT": "text",
    "Boolean": "boolean", "Float": "float", "Double": "float", "REAL": "float",
    "Numeric": "numeric", "DECIMAL": "numeric", "DateTime": "datetime", "Date": "date",
    "Time": "time", "JSON": "json", "LargeBinary": "blob", "BLOB": "blob",
}
# Python annotations of Mapped[...] -> kind (SQLAlchemy 2.0's default type map)
_PY_TYPES = {"int": "integer", "str": "string", "bool": "boolean", "float": "float",
             "datetime": "datetime", "date": "date", "time": "time", "bytes": "blob",
             "Decimal": "numeric", "dict": "json"}


@dataclass(frozen=True)
class DeclaredColumn:
    """What the source says of one column; None where it says nothing."""

    name: str
    kind: str | None = None
    length: int | None = None
    primary_key: bool = False
    unique: bool = False
    nullable: bool = True


@dataclass(frozen=True)
class DeclaredTable:
    name: str
    columns: dict[str, DeclaredColumn] = field(default_factory=dict)
    model: str | None = None  # the class that maps it, if it is a model
    checks: bool = False  # it declares CHECK constraints (their text may be computed)


@dataclass(frozen=True)
class DeclaredSchema:
    """Tables declared by model classes and by migration scripts, and the revisions."""

    models: dict[str, DeclaredTable] = field(default_factory=dict)  # by table name
    migrations: dict[str, DeclaredTable] = field(default_factory=dict)  # by table name
    revisions: frozenset[str] = frozenset()
    reprs: frozenset[str] = frozenset()  # classes that define __repr__, or inherit one here

    def table(self, name: str, *, migrations_only: bool) -> DeclaredTable | None:
        if migrations_only:
            return self.migrations.get(name)
        return self.migrations.get(name) or self.models.get(name)

    def model_table(self, model: str) -> str | None:
        """The table model class *model* maps, as its source declares it."""
        found = [t.name for t in self.models.values() if t.model == model]
        return found[0] if len(found) == 1 else None


def to_plain(schema: DeclaredSchema) -> dict[str, Any]:
    """*schema* as plain data (what crosses the evaluator's pipe)."""
    def tables(found: dict[str, DeclaredTable]) -> dict[str, Any]:
        return {name: {"model": table.model, "checks": table.checks,
                       "columns": {c.name: [c.kind, c.length, c.primary_key, c.unique,
                                            c.nullable] for c in table.columns.values()}}
                for name, table in found.items()}

    return {"models": tables(schema.models), "migrations": tables(schema.migrations),
            "revisions": sorted(schema.revisions), "reprs": sorted(schema.reprs)}


def from_plain(data: Any) -> DeclaredSchema:
    """The schema :func:`to_plain` made; anything malformed declares nothing."""
    def tables(found: Any) -> dict[str, DeclaredTable]:
        made = {}
        for name, table in found.items():
            columns = {col: DeclaredColumn(col, kind, length, bool(pk), bool(unique),
                                           bool(nullable))
                       for col, (kind, length, pk, unique, nullable)
                       in table["columns"].items()}
            made[str(name)] = DeclaredTable(str(name), columns, table["model"],
                                            bool(table["checks"]))
        return made

    try:
        return DeclaredSchema(tables(data["models"]), tables(data["migrations"]),
                              frozenset(data["revisions"]), frozenset(data["reprs"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return DeclaredSchema()


def read_schema(folder: Path, files: Iterable[str]) -> DeclaredSchema:
    """The schema the staged submission in *folder* declares (its relative *files*)."""
    models: dict[str, DeclaredTable] = {}
    migrations: dict[str, DeclaredTable] = {}
    revisions: set[str] = set()
    classes: dict[str, tuple[list[str], bool]] = {}  # name -> (base names, defines __repr__)
    for rel in sorted(files):
        if not rel.endswith(".py"):
            continue
        tree = _parse(folder / rel)
        if tree is None:
            continue
        if f"/{MIGRATIONS}/" in f"/{rel}":  # migrations/ at the top or in a package
            _read_migration(tree, migrations, revisions)
        else:
            for table in _read_models(tree):
                seen = models.get(table.name)
                models[table.name] = table if seen is None else _agreed(seen, table)
            classes.update(_class_reprs(tree))
    return DeclaredSchema(models, migrations, frozenset(revisions), _with_repr(classes))


def _parse(path: Path) -> ast.Module | None:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SOURCE + 1)
        if len(data) > MAX_SOURCE:
            return None
        return ast.parse(data, filename=path.name)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # unreadable source declares nothing


# -- model classes -------------------------------------------------------------------------


def _read_models(tree: ast.Module) -> Iterator[DeclaredTable]:
    # Only classes at a module's top level: one under `if False:` or in a function
    # never runs, or not the way it reads.
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            table = _read_class(node)
            if table is not None:
                yield table


def _agreed(one: DeclaredTable, other: DeclaredTable) -> DeclaredTable:
    """Two declarations of one table: only what both say counts (a decoy gains nothing)."""
    columns = {}
    for name in one.columns.keys() & other.columns.keys():
        a, b = one.columns[name], other.columns[name]
        columns[name] = DeclaredColumn(
            name, a.kind if a.kind == b.kind else None,
            a.length if a.length == b.length else None,
            a.primary_key and b.primary_key, a.unique and b.unique, a.nullable or b.nullable)
    model = one.model if one.model == other.model else None
    return DeclaredTable(one.name, columns, model, one.checks and other.checks)


def _read_class(cls: ast.ClassDef) -> DeclaredTable | None:
    name: str | None = None
    columns: dict[str, DeclaredColumn] = {}
    uniques: list[list[str]] = []
    for stmt in cls.body:
        target, annotation, value = _assignment(stmt)
        if target is None:
            continue
        if target == "__tablename__":
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                name = value.value
            continue
        if target == "__table_args__":
            uniques += _unique_constraints(value)
            continue
        column = _column(target, annotation, value)
        if column is not None:
            columns[column.name] = column
    if not columns:
        return None
    for cols in uniques:
        if len(cols) == 1 and cols[0] in columns:
            columns[cols[0]] = replace(columns[cols[0]], unique=True)
    return DeclaredTable(name or _snake(cls.name), columns, cls.name, _has_checks(cls))


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            return target.id, None, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.annotation, stmt.value
    return None, None, None


def _column(attr: str, annotation: ast.expr | None, value: ast.expr | None
            ) -> DeclaredColumn | None:
    mapped = _mapped_type(annotation)
    call = value if isinstance(value, ast.Call) and _callee(value) in (
        "Column", "mapped_column") else None
    if call is None:
        if mapped is None or value is not None:
            return None
        kind, optional = mapped  # `name: Mapped[str]` alone declares a column
        return DeclaredColumn(attr, kind, None, False, False, optional)
    column = _column_call(call, attr)
    if mapped is not None and _callee(call) == "mapped_column":
        kind, optional = mapped
        if column.kind is None:
            column = replace(column, kind=kind)
        if not _has_keyword(call, "nullable") and not column.primary_key:
            column = replace(column, nullable=optional)
    return column


def _column_call(call: ast.Call, attr: str) -> DeclaredColumn:
    """``Column('name', String(80), unique=True, ...)`` or ``mapped_column(...)``."""
    name = attr
    kind: str | None = None
    length: int | None = None
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            name = arg.value
        elif kind is None:
            kind, length = _sql_type(arg)
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    if kind is None and "type_" in keywords:
        kind, length = _sql_type(keywords["type_"])
    primary = _true(keywords.get("primary_key"))
    nullable = not primary
    if "nullable" in keywords:
        nullable = not _false(keywords["nullable"])
    return DeclaredColumn(name, kind, length, primary, _true(keywords.get("unique")), nullable)


def _sql_type(expr: ast.expr) -> tuple[str | None, int | None]:
    call = expr if isinstance(expr, ast.Call) else None
    name = _name(call.func if call else expr)
    kind = _TYPES.get(name or "")
    if kind is None:
        return None, None
    length = None
    if call is not None and kind == "string":
        given = call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg == "length"), None)
        if isinstance(given, ast.Constant) and type(given.value) is int:
            length = given.value
    return kind, length


def _mapped_type(annotation: ast.expr | None) -> tuple[str | None, bool] | None:
    """``Mapped[str]`` -> ("string", False); ``Mapped[Optional[int]]`` -> ("integer", True)."""
    if not (isinstance(annotation, ast.Subscript) and _name(annotation.value) == "Mapped"):
        return None
    inner = annotation.slice
    optional = False
    if isinstance(inner, ast.Subscript) and _name(inner.value) == "Optional":
        inner, optional = inner.slice, True
    elif isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.BitOr):
        for side, other in ((inner.left, inner.right), (inner.right, inner.left)):
            if isinstance(other, ast.Constant) and other.value is None:
                inner, optional = side, True
    return _PY_TYPES.get(_name(inner) or ""), optional


def _has_checks(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and _callee(n) == "CheckConstraint"
               for n in ast.walk(node))


def _unique_constraints(value: ast.expr | None) -> list[list[str]]:
    found = []
    items = value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value]
    for item in items:
        if isinstance(item, ast.Call) and _callee(item) == "UniqueConstraint":
            found.append(_strings(item.args))
        elif isinstance(item, ast.Call) and _callee(item) == "Index" and _true(
                next((k.value for k in item.keywords if k.arg == "unique"), None)) and not any(
                k.arg and k.arg.endswith("_where") for k in item.keywords):
            found.append(_strings(item.args[1:]))  # Index(name, column, unique=True)
    return found


def _class_reprs(tree: ast.Module) -> Iterator[tuple[str, tuple[list[str], bool]]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [b for b in (_name(base) for base in node.bases) if b]
            own = any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and s.name == "__repr__" for s in node.body)
            yield node.name, (bases, own)


def _with_repr(classes: dict[str, tuple[list[str], bool]]) -> frozenset[str]:
    """Classes whose repr comes from the source: their own, or a base class's here."""
    def has(name: str, seen: frozenset[str]) -> bool:
        if name not in classes or name in seen:
            return False
        bases, own = classes[name]
        return own or any(has(b, seen | {name}) for b in bases)

    return frozenset(n for n in classes if has(n, frozenset()))


# -- migration scripts -----------------------------------------------------------------------


def _read_migration(tree: ast.Module, tables: dict[str, DeclaredTable],
                    revisions: set[str]) -> None:
    for stmt in tree.body:
        target, _, value = _assignment(stmt)
        if target == "revision" and isinstance(value, ast.Constant) and isinstance(
                value.value, str):
            revisions.add(value.value)
    upgrade = next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                    and n.name == "upgrade"), None)
    if upgrade is None:
        return
    batches = _batch_aliases(upgrade)
    for node in ast.walk(upgrade):
        if not isinstance(node, ast.Call):
            continue
        op = _callee(node)
        args = node.args
        batch = batches.get(node.func.value.id) if (
            isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)) \
            else None
        if batch is not None:  # `with op.batch_alter_table("users") as batch_op:`
            args = [ast.Constant(batch), *args]
        if op == "create_table" and args and _string(args[0]):
            _create_table(str(_string(args[0])), args[1:], tables)
        elif op == "add_column" and len(args) >= 2 and _string(args[0]):
            table = tables.get(str(_string(args[0])))
            if table is not None and isinstance(args[1], ast.Call):
                column = _column_call(args[1], "")
                table.columns[column.name] = column
        elif op == "create_index":
            _create_index(node, tables, batch)
        elif op == "drop_table" and args and _string(args[0]):
            tables.pop(str(_string(args[0])), None)


def _create_table(name: str, args: list[ast.expr], tables: dict[str, DeclaredTable]) -> None:
    columns: dict[str, DeclaredColumn] = {}
    uniques: list[list[str]] = []
    primary: list[str] = []
    for arg in args:
        if not isinstance(arg, ast.Call):
            continue
        callee = _callee(arg)
        if callee == "Column":
            column = _column_call(arg, "")
            if column.name:
                columns[column.name] = column
        elif callee == "UniqueConstraint":
            uniques.append(_strings(arg.args))
        elif callee == "PrimaryKeyConstraint":
            primary += _strings(arg.args)
    if len(primary) == 1 and primary[0] in columns:
        columns[primary[0]] = replace(columns[primary[0]], primary_key=True, nullable=False)
    for cols in uniques:
        if len(cols) == 1 and cols[0] in columns:
            columns[cols[0]] = replace(columns[cols[0]], unique=True)
    tables[name] = DeclaredTable(name, columns, None, any(_has_checks(a) for a in args))


def _batch_aliases(upgrade: ast.FunctionDef) -> dict[str, str]:
    """``with op.batch_alter_table("users") as batch_op:`` -> {"batch_op": "users"}."""
    aliases = {}
    for node in ast.walk(upgrade):
        if isinstance(node, ast.With):
            for item in node.items:
                expr, alias = item.context_expr, item.optional_vars
                if (isinstance(expr, ast.Call) and _callee(expr) == "batch_alter_table"
                        and expr.args and _string(expr.args[0]) and isinstance(alias, ast.Name)):
                    aliases[alias.id] = str(_string(expr.args[0]))
    return aliases


def _create_index(call: ast.Call, tables: dict[str, DeclaredTable],
                  table_name: str | None = None) -> None:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    args = list(call.args)
    if table_name is not None:  # batch form: (name, columns), the table from the `with`
        args = [args[0] if args else ast.Constant(None), ast.Constant(table_name), *args[1:]]
    table_expr = args[1] if len(args) > 1 else keywords.get("table_name")
    cols_expr = args[2] if len(args) > 2 else keywords.get("columns")
    table = tables.get(str(_string(table_expr))) if table_expr is not None else None
    if table is None or not _true(keywords.get("unique")) or cols_expr is None:
        return
    cols = _strings(cols_expr.elts) if isinstance(cols_expr, (ast.List, ast.Tuple)) else []
    if len(cols) == 1 and cols[0] in table.columns and "postgresql_where" not in keywords \
            and "sqlite_where" not in keywords:
        table.columns[cols[0]] = replace(table.columns[cols[0]], unique=True)


# -- small readers -----------------------------------------------------------------------------


def _name(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def _callee(call: ast.Call) -> str | None:
    return _name(call.func)


def _string(expr: ast.expr | None) -> str | None:
    return expr.value if isinstance(expr, ast.Constant) and isinstance(expr.value, str) else None


def _strings(exprs: Iterable[ast.expr]) -> list[str]:
    return [s for e in exprs if (s := _string(e)) is not None]


def _true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def _false(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is False


def _has_keyword(call: ast.Call, name: str) -> bool:
    return any(k.arg == name for k in call.keywords)


def _snake(name: str) -> str:
    """Flask-SQLAlchemy's default table name for a model class (UserAccount -> user_account)."""
    name = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
    return name.lower().lstrip("_")
