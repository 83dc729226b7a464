"""Hostile ex01: patches every test framework it can reach, then answers wrongly.

The checks run with pytest on the host, so none of this can change the score.
"""

import builtins
import sys
import types
import unittest

from flask import Flask


def always_pass(*args, **kwargs):
    return None


try:
    import pytest
except ImportError:
    print("PATCH: pytest is not importable here", flush=True)
    pytest = None
if pytest is not None:
    pytest.Item.runtest = always_pass
    pytest.TestReport.passed = property(lambda self: True)
    pytest.TestReport.failed = property(lambda self: False)
    print("PATCH: patched pytest", flush=True)
try:
    import _pytest.runner
except ImportError:
    print("PATCH: _pytest is not importable here", flush=True)
else:
    _pytest.runner.call_and_report = always_pass

# A fake pytest for anything that imports it later.
fake = types.ModuleType("pytest")
fake.main = lambda *a, **k: 0
fake.Item = type("Item", (), {"runtest": always_pass})
sys.modules.setdefault("pytest", fake)
sys.modules.setdefault("_pytest", fake)

unittest.TestCase.run = always_pass
unittest.TestCase.assertEqual = always_pass
unittest.TestResult.wasSuccessful = lambda self: True

real_import = builtins.__import__


def spying_import(name, *args, **kwargs):
    module = real_import(name, *args, **kwargs)
    if name in ("pytest", "_pytest", "unittest"):
        print(f"PATCH: someone imported {name}", flush=True)
    return module


builtins.__import__ = spying_import

# Even "assert" answers: make AssertionError impossible to raise meaningfully.
builtins.AssertionError = type("AssertionError", (Exception,), {})

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, pytest is patched!"
