from flask import Flask

app = Flask(__name__)


@app.route("/")
def home():
    message = "Hello, Flask World!"
    return message


app.run()
