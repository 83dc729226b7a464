import os

from flask import Flask

app = Flask(__name__, instance_relative_config=True)
app.config.from_pyfile("config.py")
os.makedirs(app.instance_path, exist_ok=True)
with open(os.path.join(app.instance_path, "visits.txt"), "w") as fh:
    fh.write("0")


@app.route("/")
def hello():
    return app.config["GREETING"]
