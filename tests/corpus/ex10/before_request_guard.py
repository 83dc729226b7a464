from flask import Flask, redirect, request, session, url_for, render_template_string
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.secret_key = b'_5#y2L"F4Q8z\n\xec]/'

ACCOUNTS = {name: generate_password_hash(pw) for name, pw in
            [("alice", "wonderland"), ("bob", "builder")]}

PUBLIC = {"login", "static"}


@app.before_request
def require_login():
    if request.endpoint not in PUBLIC and "user" not in session:
        return redirect(url_for("login"))


@app.route("/login", methods=["GET", "POST"])
def login():
    message = ""
    if request.method == "POST":
        name = request.form.get("username", "").strip()
        if name in ACCOUNTS and check_password_hash(ACCOUNTS[name], request.form.get("password", "")):
            session["user"] = name
            return redirect(url_for("dashboard"))
        message = "Invalid username or password"
    return render_template_string("""
<h2>Login</h2>
<p>{{ message }}</p>
<form action="{{ url_for('login') }}" method="post">
  <input type="text" name="username" placeholder="Username">
  <input type="password" name="password" placeholder="Password">
  <button>Login</button>
</form>""", message=message)


@app.route("/dashboard")
def dashboard():
    return render_template_string("<h1>Welcome, {{ name }}!</h1><a href='{{ url_for(\"logout\") }}'>Logout</a>",
                                  name=session["user"])


@app.route("/logout")
def logout():
    session.clear()
    return redirect(url_for("login"))
