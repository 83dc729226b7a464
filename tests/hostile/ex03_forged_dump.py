"""Hostile ex03: no constraints on username, and a hand-made database sent as the dump.

The agent runs in this interpreter, so the table of its operations can be found
with gc and its `dump_db` replaced. The forged file declares username as
VARCHAR(80) UNIQUE NOT NULL and refuses duplicates; the model says plain Text.
The host keeps only facts the source declares, so the constraint points stay
unearned: 3 + 0.4 of 11, as for an honest Text column.
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
