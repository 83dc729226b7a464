import os

from flask import Flask, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, \
    logout_user
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]

login_manager = LoginManager()
login_manager.init_app(app)
login_manager.login_view = "login"

users = {"alice": generate_password_hash("wonderland"), "bob": generate_password_hash("builder")}


class User(UserMixin):
    def __init__(self, id):
        self.id = id


@login_manager.user_loader
def user_loader(id):
    if id in users:
        return User(id)
    return None


FORM = """<form method="post">
<input type="text" name="username" placeholder="username">
<input type="password" name="password" placeholder="password">
<button type="submit">Login</button></form>"""


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return FORM
    username = request.form["username"]
    if username in users and check_password_hash(users[username], request.form["password"]):
        login_user(User(username))
        return redirect(url_for("profile"))
    return "<p>Invalid username or password</p>" + FORM


@app.route("/profile")
@login_required
def profile():
    return f"<h1>Hello, {current_user.id}!</h1>"


@app.route("/logout")
def logout():
    logout_user()
    return redirect(url_for("login"))
