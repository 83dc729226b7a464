from datetime import datetime, timezone

from flask import Flask, render_template, request
from flask_moment import Moment

app = Flask(__name__)
moment = Moment(app)


@app.route("/")
def index():
    return render_template("index.html", current_time=datetime.now(timezone.utc))


@app.route("/hello")
def hello():
    return render_template("hello.html", name=request.args.get("name", "World"))
