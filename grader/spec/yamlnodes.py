"""Typed, line-aware access to a parsed YAML document.

The spec parser never sees raw dicts: it walks YAML nodes through
:class:`Field`, which knows the file, the line and the dotted field name, so
every problem can be reported as ``file:line: field: problem``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from grader.errors import SpecError
from grader.spec.hints import did_you_mean, quoted_hint, yaml_hint

_MISSING: Any = object()
_MERGE = "tag:yaml.org,2002:merge"  # the tag of a `<<` key


MAX_DOCUMENT = 1 << 20  # characters: specs and grade.yaml are far smaller
MAX_NODES = 20_000  # nodes visited with every alias expanded (a "billion laughs" stops here)
MAX_DEPTH = 64  # nesting of lists and mappings


def load_document(text: str, path: str) -> Field:
    """Parse *text* as one YAML document and return its root field.

    The text may come from a student (a repository's grade.yaml), so its size,
    nesting and the expansion of its aliases are bounded before anything reads it.
    """
    if len(text) > MAX_DOCUMENT:
        raise SpecError(path, None, "", f"the file is larger than {MAX_DOCUMENT >> 10} KiB; "
                                        "it cannot be a spec or a grade.yaml")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError as e:
        raise SpecError(path, None, "", "YAML does not parse: nested too deeply") from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = e.problem or e.context or "invalid YAML"
        hint = yaml_hint(text, line, problem)
        raise SpecError(path, line, "", f"YAML does not parse: {problem}{hint}") from e
    except yaml.YAMLError as e:
        raise SpecError(path, None, "", f"YAML does not parse: {e}") from e
    if node is None:
        raise SpecError(path, 1, "", "the file is empty; a spec needs at least 'id' and 'checks'")
    _check_size(node, path)
    return Field(node, path, "")


def _check_size(root: yaml.Node, path: str) -> None:
    """Refuse documents whose aliases expand too far or that nest too deeply."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    visited = 0
    while stack:
        node, depth = stack.pop()
        visited += 1
        line = int(node.start_mark.line) + 1
        if visited > MAX_NODES:
            raise SpecError(path, line, "", f"more than {MAX_NODES} values once its aliases "
                                            "(*name) are expanded; write it out plainly")
        if depth > MAX_DEPTH:
            raise SpecError(path, line, "", f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, depth + 1), (value, depth + 1)))


@dataclass(frozen=True)
class Field:
    """One YAML node, with where it came from."""

    node: yaml.Node
    path: str
    name: str

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def fail(self, problem: str) -> SpecError:
        return SpecError(self.path, self.line, self.name or "(top level)", problem)

    def child(self, node: yaml.Node, key: str | int) -> Field:
        if isinstance(key, int):
            return Field(node, self.path, f"{self.name}[{key}]")
        return Field(node, self.path, f"{self.name}.{key}" if self.name else key)

    # -- containers ---------------------------------------------------------

    def mapping(self, allowed: frozenset[str] | None = None) -> Mapping:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail(f"must be a mapping (key: value), got {self._kind()}")
        items: dict[str, Field] = {}
        for key_node, value_node in self._merged(self.node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise Field(key_node, self.path, self.name).fail("keys must be plain names")
            key = str(key_node.value)
            if key in items:
                raise self.child(key_node, key).fail("is given twice")
            if allowed is not None and key not in allowed:
                known = ", ".join(sorted(allowed))
                guess = did_you_mean(key, allowed)
                raise self.child(key_node, key).fail(f"unknown key;{guess} expected one of: "
                                                     f"{known}")
            items[key] = self.child(value_node, key)
        return Mapping(self, items)

    def _merged(self, node: yaml.MappingNode, depth: int = 0
                ) -> list[tuple[yaml.Node, yaml.Node]]:
        """The mapping's pairs with YAML merge keys (``<<: *name``) resolved: its own keys win."""
        own = [(k, v) for k, v in node.value if k.tag != _MERGE]
        names = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        for key, value in node.value:
            if key.tag != _MERGE:
                continue
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode) or depth >= MAX_DEPTH:
                    raise Field(value, self.path, self.name).fail(
                        "`<<:` merges a mapping (<<: *name) or a list of them")
                for k, v in self._merged(source, depth + 1):
                    if isinstance(k, yaml.ScalarNode) and k.value not in names:
                        names.add(k.value)
                        own.append((k, v))
        return own

    def sequence(self) -> list[Field]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.fail(f"must be a list, got {self._kind()}")
        return [self.child(n, i) for i, n in enumerate(self.node.value)]

    def str_or_list(self) -> tuple[str, ...]:
        if isinstance(self.node, yaml.SequenceNode):
            return tuple(f.string() for f in self.sequence())
        return (self.string(),)

    # -- scalars ------------------------------------------------------------

    def value(self) -> Any:
        """The plain Python value (for free-form data such as a JSON body)."""
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(self.node, deep=True)
        except yaml.YAMLError as e:
            raise self.fail(f"cannot be read: {e}") from e
        finally:
            loader.dispose()

    def string(self, *, allow_empty: bool = False) -> str:
        v = self._scalar()
        if not isinstance(v, str):
            if isinstance(v, bool) or v is None:
                raise self.fail(f"must be text, got {self._kind()}; quote it")
            v = str(self.node.value)
        if not v and not allow_empty:
            raise self.fail("must not be empty")
        return v

    def boolean(self) -> bool:
        v = self._scalar()
        if not isinstance(v, bool):
            quoted = quoted_hint(self.node, "boolean")
            raise self.fail(f"must be true or false, {quoted or f'got {self.node.value!r}'}")
        return v

    def integer(self, *, minimum: int | None = None, maximum: int | None = None) -> int:
        v = self._scalar()
        if isinstance(v, bool) or not isinstance(v, int):
            quoted = quoted_hint(self.node, "number")
            raise self.fail(f"must be a whole number, {quoted or f'got {self.node.value!r}'}")
        self._check_range(v, minimum, maximum)
        return v

    def number(self, *, minimum: float | None = None, maximum: float | None = None) -> float:
        v = self._scalar()
        if isinstance(v, bool) or not isinstance(v, int | float):
            quoted = quoted_hint(self.node, "number")
            raise self.fail(f"must be a number, {quoted or f'got {self.node.value!r}'}")
        self._check_range(float(v), minimum, maximum)
        return float(v)

    def choice(self, options: tuple[str, ...]) -> str:
        v = self.string()
        if v not in options:
            raise self.fail(f"must be one of {', '.join(options)}; got {v!r}")
        return v

    def _check_range(self, v: float, lo: float | None, hi: float | None) -> None:
        if not math.isfinite(v):
            raise self.fail(f"must be a finite number, got {self.node.value!r}")
        if lo is not None and v < lo:
            raise self.fail(f"must be at least {lo:g}, got {v:g}")
        if hi is not None and v > hi:
            raise self.fail(f"must be at most {hi:g}, got {v:g}")

    def _scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.fail(f"must be a single value, got {self._kind()}")
        return self.value()

    def _kind(self) -> str:
        if isinstance(self.node, yaml.MappingNode):
            return "a mapping"
        if isinstance(self.node, yaml.SequenceNode):
            return "a list"
        raw = self.node.value
        return f"{raw!r}" if raw != "" else "nothing"


@dataclass(frozen=True)
class Mapping:
    """A YAML mapping whose keys are known to be plain strings."""

    field: Field
    items: dict[str, Field]

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def __iter__(self) -> Iterator[tuple[str, Field]]:
        return iter(self.items.items())

    def get(self, key: str) -> Field | None:
        return self.items.get(key)

    def require(self, key: str) -> Field:
        found = self.items.get(key)
        if found is None:
            raise self.field.fail(f"missing required key '{key}'")
        return found

    def string_pairs(self) -> tuple[tuple[str, str], ...]:
        """The mapping as (name, text) pairs; numbers are taken as their text."""
        return tuple((k, f.string(allow_empty=True)) for k, f in self.items.items())
