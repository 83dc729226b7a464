# Mutant: Migrate is set up, but no migration was made (only `flask db init`).
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///users.db"
db = SQLAlchemy(app)
migrate = Migrate(app, db)


class User(db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True, nullable=False)

    def __repr__(self):
        return f"<User {self.username}>"


# Mutant: the tables come from create_all() at import, not from a migration.
with app.app_context():
    db.create_all()


@app.route("/")
def index():
    return "Migrations are ready!"


if __name__ == "__main__":
    app.run(debug=True)
