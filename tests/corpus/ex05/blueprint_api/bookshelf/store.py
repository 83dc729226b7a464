class BookStore:
    def __init__(self):
        self._books = {}
        self._next = 1

    def add(self, title, author):
        book = {"id": self._next, "title": title, "author": author}
        self._books[self._next] = book
        self._next += 1
        return book

    def get(self, book_id):
        return self._books.get(book_id)

    def all(self):
        return list(self._books.values())


store = BookStore()
store.add("Flask Web Development", "Miguel Grinberg")
store.add("Fluent Python", "Luciano Ramalho")
