from flask import Flask, render_template, request

app = Flask(__name__)

PRODUCTS = [
    {"name": "Tea", "cents": 350},
    {"name": "Cake", "cents": 1275},
    {"name": "Gift box", "cents": 123456},
]


def money(cents):
    """1234 -> $12.34; thousands get a comma: 123456 -> $1,234.56."""
    return f"${int(cents) / 100:,.2f}"


@app.route("/")
def index():
    shown = [{"name": p["name"], "price": money(p["cents"])} for p in PRODUCTS]
    return render_template("index.html", products=shown)


@app.route("/price")
def price():
    cents = request.args.get("cents", 0, type=int)
    return render_template("price.html", price=money(cents))


if __name__ == "__main__":
    app.run(debug=True)
