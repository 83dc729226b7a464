from flask import Flask, render_template, request

app = Flask(__name__)


@app.route("/")
def index():
    return render_template("index.html")


@app.route("/hello")
def hello():
    name = request.args["nmae"]  # a typo: every /hello is a 400 error page
    return render_template("hello.html", name=name)
