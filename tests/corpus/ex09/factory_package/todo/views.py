from flask import Blueprint, jsonify, request

from .db import get_db

bp = Blueprint("todos", __name__, url_prefix="/api/todos")


def row_to_json(row):
    return {"id": row["id"], "title": row["title"], "done": bool(row["done"])}


def fetch(todo_id):
    return get_db().execute("SELECT * FROM todos WHERE id = ?", (todo_id,)).fetchone()


@bp.get("")
def index():
    return jsonify([row_to_json(r) for r in get_db().execute("SELECT * FROM todos")])


@bp.post("")
def create():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("title"), str) \
            or not data["title"].strip():
        return jsonify(error="title is required"), 400
    db = get_db()
    new_id = db.execute("INSERT INTO todos (title) VALUES (?)", (data["title"],)).lastrowid
    db.commit()
    return jsonify(row_to_json(fetch(new_id))), 201


@bp.get("/<int:todo_id>")
def show(todo_id):
    row = fetch(todo_id)
    if row is None:
        return jsonify(error="todo not found"), 404
    return jsonify(row_to_json(row))


@bp.patch("/<int:todo_id>")
def update(todo_id):
    if fetch(todo_id) is None:
        return jsonify(error="todo not found"), 404
    done = bool((request.get_json(silent=True) or {}).get("done"))
    db = get_db()
    db.execute("UPDATE todos SET done = ? WHERE id = ?", (done, todo_id))
    db.commit()
    return jsonify(row_to_json(fetch(todo_id)))


@bp.delete("/<int:todo_id>")
def delete(todo_id):
    db = get_db()
    db.execute("DELETE FROM todos WHERE id = ?", (todo_id,))
    db.commit()
    return "", 204
