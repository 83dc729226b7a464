"""Hostile ex03: a forged dump whose names and defaults are SQL aimed at the host.

The forged file's user table has an extra column named with quotes and SQL, and
a DEFAULT expression that tries to end the statement. The host quotes every
name and builds the copy statement by statement in its evaluator, so nothing
runs but what it planned; the facts still follow the source: 3.4 of 11.
"""
import base64
import gc
import os
import sqlite3
import tempfile

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.Text)  # no length, not unique, nullable


def forged_dump():
    path = os.path.join(tempfile.mkdtemp(), "forged.sqlite")
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE user (id INTEGER NOT NULL, username TEXT, '
                 '"x""); DROP TABLE user; --" TEXT DEFAULT (\'1); DROP TABLE user; --\'), '
                 'PRIMARY KEY (id))')
    conn.execute('CREATE TABLE "user""; DROP TABLE user; --" (a)')
    conn.commit()
    conn.close()
    with open(path, "rb") as fh:
        return {"dialect": "sqlite", "data": base64.b64encode(fh.read()).decode()}


replaced = 0
for obj in gc.get_objects():
    if isinstance(obj, dict) and {"load", "models", "dump_db"} <= set(obj):
        obj["dump_db"] = forged_dump
        replaced += 1
print(f"FORGE: replaced dump_db in {replaced} operation table(s)", flush=True)
