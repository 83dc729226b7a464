"""Hostile ex03: a CHECK constraint that builds a 2 GB string in whoever inserts a row.

hex(zeroblob(10**9)) is one SQLite call: without a length limit the host's own
inspection would allocate gigabytes. With the limit the insert fails with
"string or blob too big", so the database refuses every row: "accepts a user"
and "rejects a duplicate" (its first row is refused) fail; NOT NULL is checked
before any CHECK, so that check passes: 11 - 1 - 2 = 8 points, failed.
"""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)

HUGE = "length(hex(zeroblob(1000000000)) || username) > 0"


class User(db.Model):
    __table_args__ = (db.CheckConstraint(HUGE, name="huge"),)
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


@app.route("/")
def index():
    return "User model is ready!"
