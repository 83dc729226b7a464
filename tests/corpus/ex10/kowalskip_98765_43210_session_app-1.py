import flask
from markupsafe import escape
from werkzeug.security import check_password_hash, generate_password_hash

app = flask.Flask(__name__)
app.secret_key = "s3cr3t-for-class"

USER_HASHES = {}
for user, pw in {"alice": "wonderland", "bob": "builder"}.items():
    USER_HASHES[user] = generate_password_hash(pw)


@app.get("/login")
def login_form():
    return """<form method="post" action="/login">
    <input name="username"> <input name="password" type="password">
    <button type="submit">Sign in</button></form>"""


@app.post("/login")
def login_submit():
    username = flask.request.form.get("username")
    password = flask.request.form.get("password") or ""
    stored = USER_HASHES.get(username)
    if not stored or not check_password_hash(stored, password):
        return "<p>Invalid username or password</p>" + login_form(), 401
    flask.session["user"] = username
    return flask.redirect(flask.url_for("dashboard"))


@app.get("/dashboard")
def dashboard():
    user = flask.session.get("user")
    if user is None:
        return flask.redirect(flask.url_for("login_form"))
    return f"<h1>Welcome, {escape(user)}!</h1>"


@app.get("/logout")
def logout():
    flask.session.pop("user", None)
    return flask.redirect(flask.url_for("login_form"))
