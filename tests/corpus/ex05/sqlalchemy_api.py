from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///books.db"
db = SQLAlchemy(app, model_class=Base)


class Book(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(120))

    def to_dict(self):
        return {"id": self.id, "title": self.title, "author": self.author}


with app.app_context():
    db.create_all()
    if db.session.get(Book, 1) is None:
        db.session.add_all([
            Book(id=1, title="Flask Web Development", author="Miguel Grinberg"),
            Book(id=2, title="Fluent Python", author="Luciano Ramalho"),
        ])
        db.session.commit()


@app.get("/api/books")
def books():
    return [b.to_dict() for b in db.session.scalars(db.select(Book).order_by(Book.id))]


@app.get("/api/books/<int:book_id>")
def book(book_id):
    found = db.session.get(Book, book_id)
    if found is None:
        return {"error": "book not found"}, 404
    return found.to_dict()


@app.post("/api/books")
def add():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return {"error": "send a JSON object"}, 400
    title, author = data.get("title"), data.get("author")
    if not (isinstance(title, str) and title.strip()):
        return {"error": "title must be a non-empty string"}, 400
    if not (isinstance(author, str) and author.strip()):
        return {"error": "author must be a non-empty string"}, 400
    new = Book(title=title, author=author)
    db.session.add(new)
    db.session.commit()
    return new.to_dict(), 201
