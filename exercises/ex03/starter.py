from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    # TODO: make username at most 80 characters long (db.String(80)),
    #       unique (unique=True) and required (nullable=False).
    username = db.Column(db.String)

    # TODO: add a __repr__ method that returns "<User alice>"
    #       for a user whose username is "alice".


@app.route("/")
def index():
    return "User model is ready!"


if __name__ == "__main__":
    with app.app_context():
        db.create_all()
    app.run(debug=True)
