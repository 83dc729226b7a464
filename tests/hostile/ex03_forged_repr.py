"""Hostile ex03: no __repr__, but the agent's `repr` operation replaced to answer perfectly.

The agent's table of operations is found with gc, and `repr` made to return
"<User NAME>" for whatever is asked. The class defines no __repr__, so the host
does not count the claim: 3.4 of 11, as for an app without one.
"""

import gc

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.Text)


def forged_repr(model, fields):
    return {"found": True, "repr": f"<{model} {fields.get('username')}>"}


replaced = 0
for obj in gc.get_objects():
    if isinstance(obj, dict) and {"load", "models", "repr"} <= set(obj):
        obj["repr"] = forged_repr
        replaced += 1
print(f"FORGE: replaced repr in {replaced} operation table(s)", flush=True)
