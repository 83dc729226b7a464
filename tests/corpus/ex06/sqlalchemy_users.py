from flask import Flask, redirect, render_template_string, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, \
    logout_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash


class Base(DeclarativeBase):
    pass


app = Flask(__name__)
app.config["SECRET_KEY"] = "dev-key"
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///login.db"
db = SQLAlchemy(app, model_class=Base)
login_manager = LoginManager(app)
login_manager.login_view = "login"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


with app.app_context():
    db.create_all()
    for name, password in [("alice", "wonderland"), ("bob", "builder")]:
        if db.session.scalar(db.select(User).filter_by(username=name)) is None:
            user = User(username=name)
            user.set_password(password)
            db.session.add(user)
    db.session.commit()

LOGIN = """{% if error %}<p>{{ error }}</p>{% endif %}
<form method="post"><input name="username"><input name="password" type="password">
<button type="submit">Sign in</button></form>"""


@app.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user = db.session.scalar(db.select(User).filter_by(username=request.form["username"]))
        if user is not None and user.check_password(request.form["password"]):
            login_user(user)
            return redirect(url_for("profile"))
        error = "Invalid username or password"
    return render_template_string(LOGIN, error=error)


@app.route("/profile")
@login_required
def profile():
    return render_template_string("<h1>Hello, {{ u.username }}!</h1>", u=current_user)


@app.route("/logout")
def logout():
    logout_user()
    return redirect(url_for("login"))
