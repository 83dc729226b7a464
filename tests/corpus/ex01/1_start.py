# Lesson 1, step 1: my first Flask app
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello, Flask World!"


if __name__ == "__main__":
    app.run(debug=True, port=5001)
