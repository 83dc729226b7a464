# Zoë Lefèvre - exercice 1
from flask import Flask

app = Flask(__name__)


@app.route("/")
def accueil():
    return "Hello, Flask World!", 200


if __name__ == "__main__":
    app.run(debug=True)
