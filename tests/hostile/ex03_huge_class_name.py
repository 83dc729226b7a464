"""Hostile ex03: no User model, but a model class whose name is 12 million characters.

Every model check said "models found: <12 MB>": seven 12 MB messages, 84 MB of
reports. The checks fail; each message and the reports stay small.
"""

import os
import tempfile

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(tempfile.gettempdir(), "h.db")
db = SQLAlchemy(app)

Huge = type("M" * 12_000_000, (db.Model,), {
    "__tablename__": "person",
    "id": db.Column(db.Integer, primary_key=True),
})


@app.route("/")
def index():
    return "no users here"
