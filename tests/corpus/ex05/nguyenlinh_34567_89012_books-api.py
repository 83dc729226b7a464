from flask import Flask, jsonify, request

app = Flask(__name__)

BOOKS = {
    1: {"id": 1, "title": "Flask Web Development", "author": "Miguel Grinberg"},
    2: {"id": 2, "title": "Fluent Python", "author": "Luciano Ramalho"},
}


def bad_request(message):
    return jsonify(error=message), 400


@app.get("/api/books")
def index():
    return jsonify(list(BOOKS.values()))


@app.get("/api/books/<int:book_id>")
def show(book_id):
    if book_id not in BOOKS:
        return jsonify(error="book not found"), 404
    return jsonify(BOOKS[book_id])


@app.post("/api/books")
def create():
    payload = request.get_json(silent=True)
    if type(payload) is not dict:
        return bad_request("send a JSON object")
    if not isinstance(payload.get("title"), str) or not payload["title"].strip():
        return bad_request("title must be a non-empty string")
    if not isinstance(payload.get("author"), str) or not payload["author"].strip():
        return bad_request("author must be a non-empty string")
    new_id = max(BOOKS) + 1
    BOOKS[new_id] = {"id": new_id, "title": payload["title"], "author": payload["author"]}
    return jsonify(BOOKS[new_id]), 201
