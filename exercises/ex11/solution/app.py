from flask import Flask, render_template, request

app = Flask(__name__)

PRODUCTS = [
    {"name": "Tea", "cents": 350},
    {"name": "Cake", "cents": 1275},
    {"name": "Gift box", "cents": 123456},
]


@app.template_filter("money")
def money(cents):
    """1234 -> $12.34; thousands get a comma: 123456 -> $1,234.56."""
    return f"${int(cents) / 100:,.2f}"


@app.route("/")
def index():
    return render_template("index.html", products=PRODUCTS)


@app.route("/price")
def price():
    cents = request.args.get("cents", 0, type=int)
    return render_template("price.html", cents=cents)


if __name__ == "__main__":
    app.run(debug=True)
