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
    # TODO: username: String(80), unique and required.
    # TODO: email: String(120), unique and required.

    def __repr__(self):
        return f"<User {self.username}>"


@app.route("/")
def index():
    return "Migrations are ready!"


# TODO: after finishing the model, create the migration:
#       flask --app app db migrate -m "create users table"
#       then apply it to your own database: flask --app app db upgrade

if __name__ == "__main__":
    app.run(debug=True)
