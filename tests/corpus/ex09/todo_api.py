import sqlite3
from contextlib import closing

from flask import Flask, jsonify, request

app = Flask(__name__)
DB = "todo.db"


def connect():
    conn = sqlite3.connect(DB)
    conn.row_factory = sqlite3.Row
    return conn


with closing(connect()) as c:
    c.execute("create table if not exists todos (id integer primary key, "
              "title text not null, done boolean not null default 0)")
    c.commit()


def todo_dict(row):
    return {"id": row["id"], "title": row["title"], "done": row["done"] == 1}


@app.route("/api/todos", methods=["GET", "POST"])
def todos():
    with closing(connect()) as c:
        if request.method == "GET":
            return jsonify([todo_dict(r) for r in c.execute("select * from todos")])
        body = request.get_json(silent=True) or {}
        title = body.get("title") if isinstance(body, dict) else None
        if not isinstance(title, str) or title.strip() == "":
            return jsonify({"error": "a title is required"}), 400
        cur = c.execute("insert into todos (title) values (?)", (title,))
        c.commit()
        row = c.execute("select * from todos where id = ?", (cur.lastrowid,)).fetchone()
        return jsonify(todo_dict(row)), 201


@app.route("/api/todos/<int:id>", methods=["GET", "PATCH", "DELETE"])
def one_todo(id):
    with closing(connect()) as c:
        row = c.execute("select * from todos where id = ?", (id,)).fetchone()
        if row is None:
            return jsonify({"error": "todo not found"}), 404
        if request.method == "DELETE":
            c.execute("delete from todos where id = ?", (id,))
            c.commit()
            return jsonify({"deleted": id})
        if request.method == "PATCH":
            body = request.get_json(silent=True) or {}
            c.execute("update todos set done = ? where id = ?", (1 if body.get("done") else 0, id))
            c.commit()
            row = c.execute("select * from todos where id = ?", (id,)).fetchone()
        return jsonify(todo_dict(row))
