# Session login where the session keeps a small profile dict instead of a bare name
from datetime import datetime, timezone

from flask import Flask, render_template_string, request, session, redirect, url_for
from werkzeug.security import generate_password_hash, check_password_hash

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev-key-not-for-production"

USERS = {
    "alice": generate_password_hash("wonderland"),
    "bob": generate_password_hash("builder"),
}

PAGE = """
{% if current %}
  <h1>Welcome, {{ current['name'] }}!</h1>
  <small>signed in at {{ current['since'] }}</small>
  <p><a href="{{ url_for('logout') }}">log out</a></p>
{% else %}
  {% if err %}<div class="alert">{{ err }}</div>{% endif %}
  <form method="post" action="{{ url_for('login') }}">
    <input name="username" required>
    <input name="password" type="password" required>
    <input type="submit" value="Sign in">
  </form>
{% endif %}
"""


def current_user():
    return session.get("profile")


@app.route("/login", methods=("GET", "POST"))
def login():
    err = None
    if request.method == "POST":
        user = request.form["username"]
        if user in USERS and check_password_hash(USERS[user], request.form["password"]):
            session["profile"] = {"name": user,
                                  "since": datetime.now(timezone.utc).strftime("%H:%M")}
            return redirect(url_for("dashboard"))
        err = "Invalid username or password"
    return render_template_string(PAGE, current=None, err=err)


@app.route("/dashboard")
def dashboard():
    if current_user() is None:
        return redirect(url_for("login"))
    return render_template_string(PAGE, current=current_user())


@app.route("/logout")
def logout():
    session.pop("profile", None)
    return redirect(url_for("login"))
