from flask import Flask, redirect, render_template_string, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash  # noqa: F401

app = Flask(__name__)
app.secret_key = "change-me-to-a-random-secret"

# username -> password hash; never keep the passwords themselves.
USERS = {
    "alice": generate_password_hash("wonderland"),
    "bob": generate_password_hash("builder"),
}

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

DASHBOARD_PAGE = """
<!doctype html>
<title>Dashboard</title>
<h1>Welcome, {{ user }}!</h1>
<a href="{{ url_for('logout') }}">Log out</a>
"""


@app.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")  # noqa: F841 - for the TODO below
        password = request.form.get("password", "")  # noqa: F841
        # TODO: check the password with check_password_hash, remember the user in
        # the session and redirect to the dashboard; else show the error message.
        error = "Invalid username or password"
    return render_template_string(LOGIN_PAGE, error=error)


@app.route("/dashboard")
def dashboard():
    # TODO: only for a logged-in user; redirect everyone else to the login page.
    return render_template_string(DASHBOARD_PAGE, user=session.get("user", "?"))


@app.route("/logout")
def logout():
    # TODO: forget the user, then go back to the login page.
    return redirect(url_for("login"))
