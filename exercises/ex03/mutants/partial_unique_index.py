# Mutant: username is unique only where it is 'alice' (a partial unique index).
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class User(db.Model):
    __table_args__ = (
        db.Index("ix_user_alice", "username", unique=True,
                 sqlite_where=db.text("username = 'alice'")),
    )
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


@app.route("/")
def index():
    return "User model is ready!"
