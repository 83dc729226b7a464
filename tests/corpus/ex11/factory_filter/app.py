from flask import Flask, render_template, request


def money(cents):
    return f"${cents / 100:,.2f}"


def create_app():
    app = Flask(__name__)
    app.add_template_filter(money, "money")

    @app.route("/")
    def index():
        items = [dict(name="Tea", cents=350), dict(name="Cake", cents=1275),
                 dict(name="Gift box", cents=123456)]
        return render_template("index.html", products=items)

    @app.route("/price")
    def price():
        return render_template("price.html", cents=request.args.get("cents", 0, type=int))

    return app
