"""ex09 mutant: the todos live in a dict, so every HTTP check passes until the app restarts."""

from flask import Flask, jsonify, request

app = Flask(__name__)
TODOS = {}
NEXT_ID = [1]


@app.get("/api/todos")
def list_todos():
    return jsonify(list(TODOS.values()))


@app.post("/api/todos")
def create_todo():
    data = request.get_json(silent=True)
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not title.strip():
        return jsonify(error="title must be a non-empty string"), 400
    todo = {"id": NEXT_ID[0], "title": title, "done": False}
    NEXT_ID[0] += 1
    TODOS[todo["id"]] = todo
    return jsonify(todo), 201


@app.get("/api/todos/<int:todo_id>")
def get_todo(todo_id):
    if todo_id not in TODOS:
        return jsonify(error="todo not found"), 404
    return jsonify(TODOS[todo_id])


@app.patch("/api/todos/<int:todo_id>")
def update_todo(todo_id):
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("done"), bool):
        return jsonify(error="done must be true or false"), 400
    if todo_id not in TODOS:
        return jsonify(error="todo not found"), 404
    TODOS[todo_id]["done"] = data["done"]
    return jsonify(TODOS[todo_id])


@app.delete("/api/todos/<int:todo_id>")
def delete_todo(todo_id):
    if TODOS.pop(todo_id, None) is None:
        return jsonify(error="todo not found"), 404
    return "", 204
