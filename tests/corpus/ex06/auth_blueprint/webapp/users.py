from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from . import login_manager

_HASHES = {
    "alice": generate_password_hash("wonderland"),
    "bob": generate_password_hash("builder"),
}


class User(UserMixin):
    def __init__(self, name):
        self.id = name
        self.name = name

    @staticmethod
    def check(name, password):
        stored = _HASHES.get(name)
        return stored is not None and check_password_hash(stored, password)


@login_manager.user_loader
def load_user(user_id):
    return User(user_id) if user_id in _HASHES else None
