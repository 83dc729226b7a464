"""The minimal baseline's checks for ex02: run inside the container, no pytest.

The same checks as bench/naive_test_ex02.py (and exercises/ex02/exercise.yaml),
the least a hand-written loop needs: import the student's app in-process, call
it with Flask's test client, print pass or fail, exit 0 only when all passed.
"""

import importlib
import sys

NAMES = [("Alice", "Alice"), ("Ada%20Lovelace", "Ada Lovelace"), ("Zo%C3%AB", "Zoë"),
         ("Bob", "Bob"), ("Grace%20Hopper", "Grace Hopper"), ("%C5%81ukasz", "Łukasz"),
         ("x", "x")]


def load_client():
    sys.path.insert(0, "/submission")
    module = importlib.import_module("app")
    app = getattr(module, "app", None)
    if app is None and hasattr(module, "create_app"):
        app = module.create_app()
    if app is None:
        raise RuntimeError("no Flask app")
    return app.test_client()


def main():
    try:
        client = load_client()
    except BaseException as e:  # a broken submission: SyntaxError, ImportError, SystemExit...
        print(f"fail: the app did not load: {type(e).__name__}: {e}")
        return 1
    failed = []
    for path, name in NAMES:
        r = client.get("/greet/" + path)
        if r.status_code != 200 or r.get_data(as_text=True) != f"Hello, {name}!":
            failed.append(f"/greet/{path}")
    if client.get("/greet/").status_code != 404:
        failed.append("/greet/ is not a 404")
    print("pass" if not failed else "fail: " + ", ".join(failed))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
