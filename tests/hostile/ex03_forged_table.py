"""Hostile ex03: a class named Account whose `models` answer is rewritten to say User.

The agent's `models` operation is replaced (found with gc) to rename the
app's Account model to User. No class User exists in the source, so the
host does not count the claim: every check that needs the model fails (0 of 11).
"""

import gc

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class Account(db.Model):
    __tablename__ = "user"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


real_models = None


def forged_models():
    answer = real_models()
    answer["models"] = {"User" if name == "Account" else name: info
                        for name, info in answer["models"].items()}
    return answer


replaced = 0
for obj in gc.get_objects():
    if isinstance(obj, dict) and {"load", "models", "repr"} <= set(obj):
        real_models = obj["models"]
        obj["models"] = forged_models
        replaced += 1
print(f"FORGE: replaced models in {replaced} operation table(s)", flush=True)
