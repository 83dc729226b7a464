"""Hostile ex03: a correct model whose __repr__ returns a str that claims to equal anything.

The underlying text is wrong ("<Nobody>"), so both repr checks must fail.
"""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy


class Chameleon(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0

    def __str__(self):
        return self

    def __repr__(self):
        return self


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return Chameleon("<Nobody>")


@app.route("/")
def index():
    return "User model is ready!"
