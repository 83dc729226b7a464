"""Hostile ex03: a correct model whose dump is replaced by 24 MB of base64.

The answer is over the control channel's 16 MiB cap: the agent is "gone" for
that question, so every check that reads the database fails honestly, and the
grader's memory stays bounded. The model, table name and repr checks pass: 3 of 11.
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
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


def forged_dump():
    return {"dialect": "sqlite", "data": "A" * (24 << 20)}


replaced = 0
for obj in gc.get_objects():
    if isinstance(obj, dict) and {"load", "models", "dump_db"} <= set(obj):
        obj["dump_db"] = forged_dump
        replaced += 1
print(f"FORGE: replaced dump_db in {replaced} operation table(s)", flush=True)
