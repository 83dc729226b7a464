from flask import Flask, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.config["SECRET_KEY"] = "change-me-to-a-random-secret"

login_manager = LoginManager(app)
login_manager.login_view = "login"

# username -> password hash; never keep the passwords themselves.
USERS = {
    "alice": generate_password_hash("wonderland"),
    "bob": generate_password_hash("builder"),
}


class User(UserMixin):
    def __init__(self, username):
        self.id = username


@login_manager.user_loader
def load_user(user_id):
    return User(user_id) if user_id in USERS else None


LOGIN_PAGE = """
<!doctype html>
<title>Log in</title>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="POST">
  <label>Username <input name="username"></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Log in</button>
</form>
"""


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        if username in USERS and check_password_hash(USERS[username], password):
            login_user(User(username))
            return redirect(url_for("profile"))
        return render_template_string(LOGIN_PAGE, error="Invalid username or password"), 401
    return render_template_string(LOGIN_PAGE, error=None)


@app.route("/profile/")
@login_required
def profile():
    return render_template_string("<p>Hello, {{ name }}!</p>", name=current_user.id)


@app.route("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("login"))


if __name__ == "__main__":
    app.run(debug=True)
