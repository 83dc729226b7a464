from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    # TODO: return the text "Hello, Flask World!" instead of "TODO".
    return "TODO"


if __name__ == "__main__":
    app.run(debug=True)
