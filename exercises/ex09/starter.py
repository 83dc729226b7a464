"""ex09 starter: a todo JSON API. Copy this file to app.py and fix the TODOs.

The todos live in a Python list for now, so they vanish whenever the server
restarts. The task is to keep them in SQLite instead (see README.md).
"""

from flask import Flask, jsonify, request

app = Flask(__name__)

# TODO: keep the todos in the SQLite file todo.db (table todos), not in memory.
TODOS = []


@app.get("/api/todos")
def list_todos():
    return jsonify(TODOS)


@app.post("/api/todos")
def create_todo():
    data = request.get_json(silent=True)
    # TODO: answer 400 with {"error": ...} when the title is missing, not text or empty.
    todo = {"id": len(TODOS) + 1, "title": data["title"], "done": False}
    TODOS.append(todo)
    return jsonify(todo), 201


@app.get("/api/todos/<int:todo_id>")
def get_todo(todo_id):
    for todo in TODOS:
        if todo["id"] == todo_id:
            return jsonify(todo)
    # TODO: answer 404 with {"error": "todo not found"}.
    return jsonify(None)


# TODO: PATCH /api/todos/<id> with {"done": true} marks a todo done.


if __name__ == "__main__":
    app.run(debug=True)
