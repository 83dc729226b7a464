from flask import Blueprint, render_template, request

bp = Blueprint("shop", __name__)

PRODUCTS = [{"name": "Tea", "cents": 350}, {"name": "Cake", "cents": 1275},
            {"name": "Gift box", "cents": 123456}]


@bp.app_template_filter("money")
def money(cents):
    return "$" + format(cents / 100, ",.2f")


@bp.route("/")
def index():
    return render_template("index.html", products=PRODUCTS)


@bp.route("/price")
def price():
    return render_template("price.html", cents=request.args.get("cents", 0, type=int))
