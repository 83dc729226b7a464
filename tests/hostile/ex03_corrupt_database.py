"""Hostile ex03: a correct model over a database file whose table b-tree page is garbage.

The schema (page 1) reads fine, but the rows do not: the host, which rebuilds
the database to keep only the facts it can establish, meets the corrupt page
("database disk image is malformed"), so every check that reads the database
fails honestly, naming it, instead of "the grader failed on this check".
"""

import os
import sqlite3
import tempfile

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

PATH = os.path.join(tempfile.gettempdir(), "corrupt.db")  # the sandbox's own tmp
conn = sqlite3.connect(PATH)
conn.execute("PRAGMA page_size = 4096")
conn.execute("CREATE TABLE user (id INTEGER NOT NULL, username VARCHAR(80) NOT NULL, "
             "PRIMARY KEY (id), UNIQUE (username))")
conn.executemany("INSERT INTO user (username) VALUES (?)", [(f"u{i:04}",) for i in range(500)])
conn.commit()
(root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'user'").fetchone()
conn.close()
with open(PATH, "r+b") as fh:  # the table's root page: overwritten
    fh.seek((root - 1) * 4096)
    fh.write(b"\xff" * 4096)

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{PATH}"
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"
