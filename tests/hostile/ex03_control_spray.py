"""Hostile ex03: a correct model whose import writes forged answers onto the control channel.

It finds the agent's control connection with gc and writes frames that claim a
perfect model before the agent answers. Every frame from the sandbox is a
claim: the host reads them in order, so the forgeries only make the agent's
real answers arrive out of step, and the checks that ask the agent fail
honestly. No point is gained; the HTTP-free checks that need the agent lose theirs.
"""

import gc
import json
import socket

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.Text)


FORGED = {"ok": True, "result": {"models": {"User": {"table": "user", "columns": [
    {"name": "id", "type": "integer", "length": None, "primary_key": True, "unique": True,
     "nullable": False},
    {"name": "username", "type": "string", "length": 80, "primary_key": False,
     "unique": True, "nullable": False}]}}, "repr": "<User alice>"}}

sprayed = 0
for obj in gc.get_objects():
    if isinstance(obj, socket.socket) and obj.family == socket.AF_UNIX:
        try:
            if obj.getpeername() == "" and obj.fileno() >= 0:
                obj.sendall((json.dumps(FORGED) + "\n").encode() * 20)
                sprayed += 1
        except OSError:
            pass
print(f"FORGE: sprayed {sprayed} connection(s)", flush=True)
