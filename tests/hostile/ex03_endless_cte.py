"""Hostile ex03: a correct model, plus SQL that never ends wherever the host might look.

A trigger on every insert counts an endless recursive CTE, and a view over one
sits in the schema. The host drops triggers before it inserts and never reads
views, so the honest grade is full marks, in the usual time.
"""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, text

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)

ENDLESS = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
           "SELECT count(*) FROM c")


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


@event.listens_for(User.__table__, "after_create")
def endless(target, connection, **kw):
    connection.execute(text(f"CREATE TRIGGER endless BEFORE INSERT ON user "
                            f"BEGIN SELECT ({ENDLESS}); END"))
    connection.execute(text(f"CREATE VIEW endless_view AS {ENDLESS}"))


@app.route("/")
def index():
    return "User model is ready!"
