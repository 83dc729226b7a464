from flask import Flask, redirect, render_template_string, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

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
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        if username in USERS and check_password_hash(USERS[username], password):
            session.clear()
            session["user"] = username
            return redirect(url_for("dashboard"))
        error = "Invalid username or password"
    return render_template_string(LOGIN_PAGE, error=error)


@app.route("/dashboard")
def dashboard():
    if "user" not in session:
        return redirect(url_for("login"))
    return render_template_string(DASHBOARD_PAGE, user=session["user"])


@app.route("/logout")
def logout():
    session.clear()
    return redirect(url_for("login"))
