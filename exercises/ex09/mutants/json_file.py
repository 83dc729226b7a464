"""ex09 mutant: the todos persist, but in todos.json rather than in SQLite's todo.db."""

import json
import os

from flask import Flask, jsonify, request

app = Flask(__name__)
STORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "todos.json")


def load():
    if not os.path.exists(STORE):
        return {"next": 1, "todos": {}}
    with open(STORE) as fh:
        return json.load(fh)


def save(state):
    with open(STORE, "w") as fh:
        json.dump(state, fh)


@app.get("/api/todos")
def list_todos():
    return jsonify(list(load()["todos"].values()))


@app.post("/api/todos")
def create_todo():
    data = request.get_json(silent=True)
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not title.strip():
        return jsonify(error="title must be a non-empty string"), 400
    state = load()
    todo = {"id": state["next"], "title": title, "done": False}
    state["next"] += 1
    state["todos"][str(todo["id"])] = todo
    save(state)
    return jsonify(todo), 201


@app.get("/api/todos/<int:todo_id>")
def get_todo(todo_id):
    todo = load()["todos"].get(str(todo_id))
    if todo is None:
        return jsonify(error="todo not found"), 404
    return jsonify(todo)


@app.patch("/api/todos/<int:todo_id>")
def update_todo(todo_id):
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("done"), bool):
        return jsonify(error="done must be true or false"), 400
    state = load()
    todo = state["todos"].get(str(todo_id))
    if todo is None:
        return jsonify(error="todo not found"), 404
    todo["done"] = data["done"]
    save(state)
    return jsonify(todo)


@app.delete("/api/todos/<int:todo_id>")
def delete_todo(todo_id):
    state = load()
    if state["todos"].pop(str(todo_id), None) is None:
        return jsonify(error="todo not found"), 404
    save(state)
    return "", 204
