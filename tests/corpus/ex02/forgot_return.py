from flask import Flask

app = Flask(__name__)


@app.route("/greet/<name>")
def greet(name):
    message = "Hello, " + name + "!"
    print(message)
    # TODO return it


if __name__ == "__main__":
    app.run(debug=True)
