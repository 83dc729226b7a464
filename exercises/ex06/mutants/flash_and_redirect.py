# Correct, in another common style: a failed login flashes its message and
# redirects back to the form (Post/Redirect/Get); a good one goes to ?next= or /.
from flask import (
    Flask,
    flash,
    get_flashed_messages,
    redirect,
    render_template_string,
    request,
    url_for,
)
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
app.secret_key = "dev-secret"
login_manager = LoginManager()
login_manager.init_app(app)
login_manager.login_view = "login"

users = {"alice": generate_password_hash("wonderland"),
         "bob": generate_password_hash("builder")}


class User(UserMixin):
    def __init__(self, id):
        self.id = id


@login_manager.user_loader
def load_user(id):
    if id in users:
        return User(id)
    return None


@app.route("/")
def home():
    return render_template_string('<a href="{{ url_for(\'profile\') }}">Profile</a>')


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        name = request.form["username"]
        if name in users and check_password_hash(users[name], request.form["password"]):
            login_user(User(name))
            return redirect(request.args.get("next") or url_for("home"))
        flash("Invalid username or password")
        return redirect(url_for("login"))
    return render_template_string("""
      {% for m in get_flashed_messages() %}<div class="alert alert-danger">{{ m }}</div>{% endfor %}
      <form method="post">
        <input type="text" name="username" placeholder="Username">
        <input type="password" name="password" placeholder="Password">
        <input type="submit" value="Login">
      </form>""", get_flashed_messages=get_flashed_messages)


@app.route("/profile")
@login_required
def profile():
    return f"<h1>Hello, {current_user.id}!</h1>"


@app.route("/logout")
def logout():
    logout_user()
    flash("You have been logged out.")
    return redirect(url_for("login"))
