from flask import Flask, render_template_string, request

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"

# "CSRF protection" by hand: one token, written into the page, the same for everyone.
CSRF_TOKEN = "a3f9c2e4b1d04c6f8e7a5b3c2d1e0f9a"

PAGE = """
<!doctype html>
<html>
  <head><title>Name form</title></head>
  <body>
    {% if name %}<h1>Hello, {{ name }}!</h1>{% endif %}
    <form method="POST">
      <input type="hidden" name="csrf_token" value="{{ token }}">
      <label for="name">What is your name?</label>
      <input type="text" id="name" name="name" required>
      <input type="submit" name="submit" value="Submit">
    </form>
  </body>
</html>
"""


@app.route("/", methods=["GET", "POST"])
def index():
    name = None
    if request.method == "POST" and request.form.get("csrf_token") == CSRF_TOKEN:
        name = request.form.get("name", "").strip() or None
    return render_template_string(PAGE, token=CSRF_TOKEN, name=name)
