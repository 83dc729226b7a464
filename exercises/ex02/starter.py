from flask import Flask

app = Flask(__name__)


# TODO: add a variable part to the URL so that /greet/Alice works,
#       e.g. "/greet/<name>", and take `name` as a parameter of the function.
@app.route("/greet")
def greet():
    # TODO: return "Hello, <name>!" using the name from the URL.
    return "Hello, stranger!"


if __name__ == "__main__":
    app.run(debug=True)
