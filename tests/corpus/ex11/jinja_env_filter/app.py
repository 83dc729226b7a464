from flask import Flask, render_template, request

app = Flask(__name__)

products = [("Tea", 350), ("Cake", 1275), ("Gift box", 123456)]


def to_money(value):
    dollars = value / 100
    return "${:,.2f}".format(dollars)


app.jinja_env.filters["money"] = to_money


@app.route("/")
def index():
    return render_template("index.html",
                           products=[{"name": n, "cents": c} for n, c in products])


@app.route("/price")
def price():
    return render_template("price.html", cents=int(request.args.get("cents", "0")))
