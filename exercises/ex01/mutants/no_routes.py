from flask import Flask

app = Flask(__name__)

# TODO: the home page


if __name__ == "__main__":
    app.run(debug=True)
