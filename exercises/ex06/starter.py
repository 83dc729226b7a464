from flask import Flask, redirect, render_template_string, request, url_for
from flask_login import LoginManager, UserMixin, login_user
from werkzeug.security import generate_password_hash

# TODO: you will also need current_user, login_required and logout_user from
#       flask_login, and check_password_hash from werkzeug.security.

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


def password_ok(username, password):
    # TODO: return True only when username is in USERS and
    #       check_password_hash(USERS[username], password) says the password matches.
    return False


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
        if password_ok(username, request.form.get("password", "")):
            login_user(User(username))
            return redirect(url_for("profile"))
        return render_template_string(LOGIN_PAGE, error="Invalid username or password"), 401
    return render_template_string(LOGIN_PAGE, error=None)


# TODO: only logged-in users may see the profile: add @login_required.
@app.route("/profile")
def profile():
    # TODO: greet the logged-in user by name (current_user.id): "Hello, alice!".
    return "Hello, stranger!"


# TODO: add a /logout route that logs the user out with logout_user()
#       and redirects to the login page.

if __name__ == "__main__":
    app.run(debug=True)
