"""Named flows: steps written once at the top level and used by name in checks.

```yaml
flows:
  sign_in_alice:
    - request: {path: /login}
      extract: {csrf: {regex: 'name="csrf_token" value="([^"]+)"'}}
    - request: {method: POST, path: /login, form: {csrf_token: "${csrf}", user: alice}}
checks:
  - name: the dashboard greets Alice
    steps:
      - use: sign_in_alice
        setup: true          # optional: every step of the flow is a set-up step
      - request: {path: /dashboard}
        expect: {contains: Hello, Alice}
```

A ``use:`` item is replaced by the flow's steps when the spec is parsed, so
a check runs exactly as if they had been written out; each step keeps the
line it was written on, for messages, and the name of its flow, for reports.
Flows may use other flows; a cycle, or a name no flow has, is a spec error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from grader.spec.http import StepSource, parse_step
from grader.spec.yamlnodes import Field

USE_STEP_KEYS = frozenset({"use", "setup", "session"})
MAX_DEPTH = 8  # flows inside flows; deeper is surely a mistake
MAX_STEPS = 200  # steps of one check once its flows are expanded
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Flows:
    """The spec's named flows: each name's list of step items, as YAML."""

    steps: tuple[tuple[str, Field], ...] = ()

    def get(self, name: str) -> Field | None:
        return next((f for n, f in self.steps if n == name), None)

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.steps]


def parse_flows(f: Field | None) -> Flows:
    """The top-level ``flows`` mapping; each flow is checked as if a check used it."""
    if f is None:
        return Flows()
    found: list[tuple[str, Field]] = []
    for name, steps in f.mapping():
        if not _NAME.fullmatch(name):
            raise steps.fail(f"a flow's name must be letters, digits and '_', got {name!r}")
        if not steps.sequence():
            raise steps.fail("a flow needs at least one step")
        found.append((name, steps))
    flows = Flows(tuple(found))
    for name, steps in found:
        for source in _expand(steps, flows, (name,)):
            parse_step(source)
    return flows


def expand_steps(steps: Field, flows: Flows) -> list[StepSource]:
    """A check's step items with every ``use:`` replaced by the flow's steps."""
    return _expand(steps, flows, ())


def _expand(steps: Field, flows: Flows, chain: tuple[str, ...],
            setup: bool = False, session: str | None = None) -> list[StepSource]:
    out: list[StepSource] = []
    label = " > ".join(chain) or None
    for item in steps.sequence():
        if "use" not in item.mapping():
            out.append(StepSource(item, label, setup, session))
            continue
        m = item.mapping(USE_STEP_KEYS)
        use = m.require("use")
        name = use.string()
        flow = flows.get(name)
        if flow is None:
            raise use.fail(_unknown(name, flows))
        if name in chain:
            raise use.fail(f"flow {name!r} uses itself ({' > '.join((*chain, name))}); a "
                           "flow cannot use a flow that uses it")
        if len(chain) >= MAX_DEPTH:
            raise use.fail(f"flows nest more than {MAX_DEPTH} deep here; write the steps out")
        inner_setup = setup or (st.boolean() if (st := m.get("setup")) else False)
        inner_session = session
        if (s := m.get("session")) is not None:
            inner_session = s.string()
            if not _NAME.fullmatch(inner_session):
                raise s.fail(f"a session name must be letters, digits and '_', "
                             f"got {inner_session!r}")
        out.extend(_expand(flow, flows, (*chain, name), inner_setup, inner_session))
        if len(out) > MAX_STEPS:
            raise item.fail(f"more than {MAX_STEPS} steps once its flows are expanded")
    return out


def _unknown(name: str, flows: Flows) -> str:
    if not flows.names:
        return (f"no flow is named {name!r}: the spec has no `flows:`; define it at the top "
                "level (flows: {NAME: [steps...]})")
    close = difflib.get_close_matches(name, flows.names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no flow is named {name!r}{hint} (flows: {', '.join(flows.names)})"

