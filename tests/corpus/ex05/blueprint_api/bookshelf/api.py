from flask import Blueprint, abort, jsonify, request

from .store import store

api = Blueprint("api", __name__)


@api.get("/books")
def list_books():
    return jsonify(store.all())


@api.get("/books/<int:book_id>")
def one_book(book_id):
    book = store.get(book_id)
    if book is None:
        abort(404, description="book not found")
    return jsonify(book)


@api.post("/books")
def new_book():
    data = request.get_json()  # a malformed body is a 400 already
    if not isinstance(data, dict):
        abort(400, description="the body must be a JSON object")
    title, author = data.get("title"), data.get("author")
    if not isinstance(title, str) or not title:
        abort(400, description="title must be a non-empty string")
    if not isinstance(author, str) or not author:
        abort(400, description="author must be a non-empty string")
    return jsonify(store.add(title, author)), 201
