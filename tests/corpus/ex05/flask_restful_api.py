from flask import Flask, request
from flask_restful import Api, Resource

app = Flask(__name__)
api = Api(app)

BOOKS = {1: {"id": 1, "title": "Flask Web Development", "author": "Miguel Grinberg"}}


class BookList(Resource):
    def get(self):
        return list(BOOKS.values())

    def post(self):
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("title"), str) \
                or not data["title"]:
            return {"error": "title must be a non-empty string"}, 400
        book = {"id": max(BOOKS) + 1, "title": data["title"], "author": data.get("author")}
        BOOKS[book["id"]] = book
        return book, 201


class Book(Resource):
    def get(self, book_id):
        if book_id not in BOOKS:
            return {"error": "book not found"}, 404
        return BOOKS[book_id]


api.add_resource(BookList, "/api/books")
api.add_resource(Book, "/api/books/<int:book_id>")
