"""Hostile ex06: logs every request with its form, hoping to read the hidden check's login.

It knows only the visible user (alice), so the hidden "another user can log
in" fails honestly; what that check posted (username=bob&password=builder)
must not reach the student through the app's printed output.
"""

from flask import Flask, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

print("LOG-STARTED", flush=True)

app = Flask(__name__)
app.config["SECRET_KEY"] = "hostile-but-honest"
login_manager = LoginManager(app)
login_manager.login_view = "login"
USERS = {"alice": "wonderland"}  # the only login the visible checks show


class User(UserMixin):
    def __init__(self, username):
        self.id = username


@login_manager.user_loader
def load_user(user_id):
    return User(user_id) if user_id in USERS else None


@app.before_request
def log_request():
    print(f"LOG {request.method} {request.full_path} form={request.form.to_dict()}", flush=True)


PAGE = """<form method="POST"><input name="username"><input name="password" type="password">
<button type="submit">Log in</button></form>{% if error %}<p>{{ error }}</p>{% endif %}"""


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        name = request.form.get("username", "")
        if USERS.get(name) == request.form.get("password"):
            login_user(User(name))
            return redirect(url_for("profile"))
        return render_template_string(PAGE, error="Invalid username or password"), 401
    return render_template_string(PAGE, error=None)


@app.route("/profile")
@login_required
def profile():
    return render_template_string("<p>Hello, {{ name }}!</p>", name=current_user.id)


@app.route("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("login"))
