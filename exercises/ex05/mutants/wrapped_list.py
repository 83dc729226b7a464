# Mutant: the list is wrapped in an object, {"books": [...]}.
from flask import Flask, jsonify, request

app = Flask(__name__)

BOOKS = {
    1: {"id": 1, "title": "Flask Web Development", "author": "Miguel Grinberg"},
    2: {"id": 2, "title": "Fluent Python", "author": "Luciano Ramalho"},
}


@app.get("/api/books")
def list_books():
    return jsonify(books=list(BOOKS.values()))


@app.get("/api/books/<int:book_id>")
def get_book(book_id):
    book = BOOKS.get(book_id)
    if book is None:
        return jsonify(error="book not found"), 404
    return jsonify(book)


@app.post("/api/books")
def add_book():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="send a JSON object"), 400
    title, author = data.get("title"), data.get("author")
    if not isinstance(title, str) or not title.strip():
        return jsonify(error="title must be a non-empty string"), 400
    if not isinstance(author, str) or not author.strip():
        return jsonify(error="author must be a non-empty string"), 400
    book = {"id": max(BOOKS, default=0) + 1, "title": title, "author": author}
    BOOKS[book["id"]] = book
    return jsonify(book), 201


if __name__ == "__main__":
    app.run(debug=True)
