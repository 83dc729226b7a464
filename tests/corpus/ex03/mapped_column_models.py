from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///project.db"
db.init_app(app)


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


with app.app_context():
    db.create_all()


@app.route("/")
def index():
    users = db.session.execute(db.select(User)).scalars().all()
    return {"users": [u.username for u in users]}
