from flask import Flask, jsonify, request
from flask_cors import CORS

app = Flask(__name__)
CORS(app)  # the React front end runs on another port

books = [
    {"id": 1, "title": "Flask Web Development", "author": "Miguel Grinberg"},
    {"id": 2, "title": "Fluent Python", "author": "Luciano Ramalho"},
]
next_id = 3


def find_book(book_id):
    return next((b for b in books if b["id"] == book_id), None)


@app.route("/api/books", methods=["GET"])
def get_books():
    return jsonify(books)


@app.route("/api/books/<int:book_id>", methods=["GET"])
def get_book(book_id):
    book = find_book(book_id)
    if book is None:
        return jsonify({"error": "book not found"}), 404
    return jsonify(book)


@app.route("/api/books", methods=["POST"])
def create_book():
    global next_id
    data = request.get_json()
    if not isinstance(data, dict):
        return jsonify({"error": "expected a JSON object"}), 400
    title = data.get("title")
    author = data.get("author")
    if not isinstance(title, str) or title.strip() == "":
        return jsonify({"error": "title is required"}), 400
    if not isinstance(author, str) or author.strip() == "":
        return jsonify({"error": "author is required"}), 400
    book = {"id": next_id, "title": title, "author": author}
    next_id += 1
    books.append(book)
    return jsonify(book), 201
