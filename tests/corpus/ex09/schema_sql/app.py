import os
import sqlite3

from flask import Flask, abort, jsonify, request

BASE = os.path.dirname(os.path.abspath(__file__))
app = Flask(__name__)


def db():
    conn = sqlite3.connect(os.path.join(BASE, "todo.db"))
    conn.row_factory = sqlite3.Row
    return conn


with open(os.path.join(BASE, "schema.sql")) as f, db() as conn:
    conn.executescript(f.read())


@app.errorhandler(404)
def not_found(e):
    return jsonify(error="todo not found"), 404


def load(conn, todo_id):
    row = conn.execute("SELECT id, title, done FROM todos WHERE id = ?", (todo_id,)).fetchone()
    if row is None:
        abort(404)
    return {**dict(row), "done": bool(row["done"])}


@app.get("/api/todos")
def all_todos():
    conn = db()
    rows = conn.execute("SELECT id, title, done FROM todos").fetchall()
    conn.close()
    return jsonify([{**dict(r), "done": bool(r["done"])} for r in rows])


@app.post("/api/todos")
def add_todo():
    data = request.get_json(silent=True) or {}
    title = data.get("title", "") if isinstance(data, dict) else ""
    if not isinstance(title, str) or not title.strip():
        return jsonify(error="missing title"), 400
    conn = db()
    with conn:
        todo_id = conn.execute("INSERT INTO todos (title) VALUES (?)", (title,)).lastrowid
    todo = load(conn, todo_id)
    conn.close()
    return jsonify(todo), 201


@app.get("/api/todos/<int:todo_id>")
def get_todo(todo_id):
    conn = db()
    todo = load(conn, todo_id)
    conn.close()
    return jsonify(todo)


@app.patch("/api/todos/<int:todo_id>")
def patch_todo(todo_id):
    conn = db()
    load(conn, todo_id)
    with conn:
        conn.execute("UPDATE todos SET done = ? WHERE id = ?",
                     (int(bool((request.get_json(silent=True) or {}).get("done"))), todo_id))
    todo = load(conn, todo_id)
    conn.close()
    return jsonify(todo)


@app.delete("/api/todos/<int:todo_id>")
def delete_todo(todo_id):
    conn = db()
    with conn:
        conn.execute("DELETE FROM todos WHERE id = ?", (todo_id,))
    conn.close()
    return "", 204
