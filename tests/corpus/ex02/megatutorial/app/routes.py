from app import app


@app.route("/greet/<name>")
def greet(name):
    return "Hello, {}!".format(name)
