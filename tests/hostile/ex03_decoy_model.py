"""Hostile ex03: a decoy model in dead code that declares the constraints, and a forged dump.

The source holds two `User` classes: one under `if False:` that declares
String(80), unique and not null but never runs, and the real one with plain
Text. The dump is replaced by a hand-made file with the constraints. The host
reads only the classes that run at a module's top level, so the decoy
declares nothing: 3.4 of 11, as for an honest Text column.
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


if False:
    class User(db.Model):  # never runs
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(80), unique=True, nullable=False)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.Text)  # no length, not unique, nullable


def forged_dump():
    path = os.path.join(tempfile.mkdtemp(), "forged.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE user (id INTEGER NOT NULL, username VARCHAR(80) NOT NULL, "
                 "PRIMARY KEY (id), UNIQUE (username))")
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
