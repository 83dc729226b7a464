"""Hostile ex03: a correct model whose CHECK constraint costs minutes per insert.

instr() of a 4 MB string in an 8 MB one is one SQLite function call, quadratic,
between two VM opcodes: the progress handler is never asked and
sqlite3_interrupt() waits for it. The host's inserts must stop at each check's
time limit; the schema facts (no insert) and NOT NULL (checked before any
CHECK) are still earned: 11 - 1 - 2 = 8 points, status timeout.
"""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)

SLOW = "instr(hex(zeroblob(4000000)), hex(zeroblob(2000000)) || username) = 0"


class User(db.Model):
    __table_args__ = (db.CheckConstraint(SLOW, name="slow"),)
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


@app.route("/")
def index():
    return "User model is ready!"
