"""The naive baseline's checks for ex02: a plain pytest file, run inside the container.

The same five checks as exercises/ex02/exercise.yaml, written the way a
hand-rolled Docker loop would: import the student's app in-process and use
Flask's test client. No sandboxing beyond `docker run --network none`.
"""

import importlib
import sys

import pytest


@pytest.fixture(scope="module")
def client():
    sys.path.insert(0, "/submission")
    module = importlib.import_module("app")
    app = getattr(module, "app", None)
    if app is None and hasattr(module, "create_app"):
        app = module.create_app()
    assert app is not None, "no Flask app"
    return app.test_client()


def test_greets_alice(client):
    r = client.get("/greet/Alice")
    assert r.status_code == 200 and r.get_data(as_text=True) == "Hello, Alice!"


def test_greets_a_name_with_a_space(client):
    r = client.get("/greet/Ada%20Lovelace")
    assert r.status_code == 200 and r.get_data(as_text=True) == "Hello, Ada Lovelace!"


def test_greets_a_non_ascii_name(client):
    r = client.get("/greet/Zo%C3%AB")
    assert r.status_code == 200 and r.get_data(as_text=True) == "Hello, Zoë!"


@pytest.mark.parametrize("name", ["Bob", "Grace Hopper", "Łukasz", "x"])
def test_greets_any_name(client, name):
    r = client.get("/greet/" + name.replace(" ", "%20").replace("Ł", "%C5%81"))
    assert r.status_code == 200 and r.get_data(as_text=True) == f"Hello, {name}!"


def test_greet_without_a_name_is_404(client):
    assert client.get("/greet/").status_code == 404
