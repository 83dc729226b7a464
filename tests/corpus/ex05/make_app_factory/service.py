from flask import Flask, jsonify, request

import storage


def make_app():
    app = Flask(__name__)

    @app.errorhandler(400)
    def bad_request(error):
        return jsonify(error="the body is not valid JSON"), 400

    @app.get("/api/books")
    def all_books():
        return jsonify(list(storage.BOOKS.values()))

    @app.get("/api/books/<int:book_id>")
    def one(book_id):
        book = storage.BOOKS.get(book_id)
        return (jsonify(book), 200) if book else (jsonify(error="book not found"), 404)

    @app.post("/api/books")
    def create():
        data = request.json
        if not isinstance(data, dict):
            return jsonify(error="expected an object"), 400
        title, author = data.get("title"), data.get("author")
        if not isinstance(title, str) or not title.strip():
            return jsonify(error="title must be a non-empty string"), 400
        if not isinstance(author, str) or not author.strip():
            return jsonify(error="author must be a non-empty string"), 400
        return jsonify(storage.add(title, author)), 201

    return app
