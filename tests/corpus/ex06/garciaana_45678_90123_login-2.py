from flask import Flask, flash, get_flashed_messages, redirect, render_template_string, \
    request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, \
    logout_user
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.config.update(SECRET_KEY="ana-dev-key")
lm = LoginManager(app)
lm.login_view = "login"


class User(UserMixin):
    PASSWORDS = {"alice": generate_password_hash("wonderland"),
                 "bob": generate_password_hash("builder")}

    def __init__(self, username):
        self.id = username


@lm.user_loader
def load(user_id):
    return User(user_id) if user_id in User.PASSWORDS else None


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        u, p = request.form.get("username"), request.form.get("password")
        if u in User.PASSWORDS and check_password_hash(User.PASSWORDS[u], p):
            login_user(User(u))
            return redirect(url_for("profile"))
        flash("Invalid username or password")
        return redirect(url_for("login"))
    return render_template_string("""
{% for m in get_flashed_messages() %}<div>{{ m }}</div>{% endfor %}
<form method=post><input name=username><input name=password type=password>
<input type=submit value=Login></form>""")


@app.route("/profile")
@login_required
def profile():
    return "Hello, " + current_user.id + "!"


@app.route("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("login"))
