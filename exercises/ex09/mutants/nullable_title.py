"""ex09 mutant: the title column may be NULL; only the route checks it."""

import os
import sqlite3

from flask import Flask, g, jsonify, request

app = Flask(__name__)
DATABASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "todo.db")


def get_db():
    """One connection per request, closed when the request ends."""
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE)
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close_db(exception):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db():
    with sqlite3.connect(DATABASE) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS todos ("
                     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                     " title TEXT,"
                     " done INTEGER NOT NULL DEFAULT 0)")


init_db()


def as_json(row):
    return {"id": row["id"], "title": row["title"], "done": bool(row["done"])}


def find(todo_id):
    return get_db().execute("SELECT * FROM todos WHERE id = ?", (todo_id,)).fetchone()


@app.get("/api/todos")
def list_todos():
    rows = get_db().execute("SELECT * FROM todos ORDER BY id").fetchall()
    return jsonify([as_json(r) for r in rows])


@app.post("/api/todos")
def create_todo():
    data = request.get_json(silent=True)
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not title.strip():
        return jsonify(error="title must be a non-empty string"), 400
    db = get_db()
    cursor = db.execute("INSERT INTO todos (title) VALUES (?)", (title,))
    db.commit()
    return jsonify(as_json(find(cursor.lastrowid))), 201


@app.get("/api/todos/<int:todo_id>")
def get_todo(todo_id):
    row = find(todo_id)
    if row is None:
        return jsonify(error="todo not found"), 404
    return jsonify(as_json(row))


@app.patch("/api/todos/<int:todo_id>")
def update_todo(todo_id):
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("done"), bool):
        return jsonify(error="done must be true or false"), 400
    if find(todo_id) is None:
        return jsonify(error="todo not found"), 404
    db = get_db()
    db.execute("UPDATE todos SET done = ? WHERE id = ?", (int(data["done"]), todo_id))
    db.commit()
    return jsonify(as_json(find(todo_id)))


@app.delete("/api/todos/<int:todo_id>")
def delete_todo(todo_id):
    if find(todo_id) is None:
        return jsonify(error="todo not found"), 404
    db = get_db()
    db.execute("DELETE FROM todos WHERE id = ?", (todo_id,))
    db.commit()
    return "", 204


if __name__ == "__main__":
    app.run(debug=True)
