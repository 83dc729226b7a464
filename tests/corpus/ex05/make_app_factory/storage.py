import itertools

_ids = itertools.count(1)
BOOKS = {}


def add(title, author):
    book_id = next(_ids)
    BOOKS[book_id] = {"id": book_id, "title": title, "author": author}
    return BOOKS[book_id]


add("Flask Web Development", "Miguel Grinberg")
add("Fluent Python", "Luciano Ramalho")
