from flask import Flask, jsonify, request

app = Flask(__name__)

BOOKS = {
    1: {"id": 1, "title": "Flask Web Development", "author": "Miguel Grinberg"},
    2: {"id": 2, "title": "Fluent Python", "author": "Luciano Ramalho"},
}


@app.get("/api/books")
def list_books():
    return jsonify(list(BOOKS.values()))


@app.get("/api/books/<int:book_id>")
def get_book(book_id):
    # TODO: answer 404 with {"error": "book not found"} for an unknown id.
    return jsonify(BOOKS.get(book_id))


@app.post("/api/books")
def add_book():
    data = request.get_json(silent=True)
    # TODO: answer 400 with {"error": "..."} unless data is a JSON object whose
    #       "title" and "author" are non-empty strings.
    book = {"id": max(BOOKS, default=0) + 1, "title": data["title"], "author": data["author"]}
    BOOKS[book["id"]] = book
    # TODO: a new resource answers 201 Created, not 200.
    return jsonify(book)


if __name__ == "__main__":
    app.run(debug=True)
