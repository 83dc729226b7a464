"""Hostile ex07: no migrations at all; `migrate` made a no-op, the tables made at import.

The app creates the users table with create_all() when it is imported, writes
an alembic_version row with a made-up revision, and replaces the agent's
`migrate` operation (found with gc) by one that claims success. Once scored
12/12. No migration script of the submission creates the table, so the
database facts do not count.
"""

import gc

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
db = SQLAlchemy(app)
migrate = Migrate(app, db)


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True, nullable=False)


with app.app_context():
    db.create_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('74568521a95a')")


def no_op_migrate():
    return {"directory": "migrations", "tables": ["alembic_version", "users"]}


replaced = 0
for obj in gc.get_objects():
    if isinstance(obj, dict) and {"load", "migrate", "dump_db"} <= set(obj):
        obj["migrate"] = no_op_migrate
        replaced += 1
print(f"FORGE: replaced migrate in {replaced} operation table(s)", flush=True)


@app.route("/")
def index():
    return "users"
