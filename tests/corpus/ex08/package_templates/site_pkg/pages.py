from flask import Blueprint, render_template, request

pages = Blueprint("pages", __name__)


@pages.route("/")
def home():
    return render_template("index.html")


@pages.route("/hello")
def hello():
    return render_template("hello.html", name=request.args.get("name", "World"))
