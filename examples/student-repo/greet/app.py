from flask import Flask

app = Flask(__name__)


# Work in progress: `grade check` says what is still missing.
@app.route("/greet")
def greet():
    return "Hello, stranger!"


if __name__ == "__main__":
    app.run(debug=True)
