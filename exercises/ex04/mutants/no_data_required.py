# Mutant: no DataRequired(), so an empty name is greeted.
from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField

app = Flask(__name__)
app.config["SECRET_KEY"] = "change-me-to-a-random-secret"


class NameForm(FlaskForm):
    name = StringField("What is your name?")
    submit = SubmitField("Submit")


PAGE = """
<!doctype html>
<html>
  <head><title>Name form</title></head>
  <body>
    {% if submitted %}
      <h1>Hello, {{ name }}!</h1>
    {% endif %}
    <form method="POST">
      {{ form.hidden_tag() }}
      {{ form.name.label }} {{ form.name() }}
      {{ form.submit() }}
    </form>
  </body>
</html>
"""


@app.route("/", methods=["GET", "POST"])
def index():
    form = NameForm()
    submitted = form.validate_on_submit()
    return render_template_string(PAGE, form=form, name=form.name.data, submitted=submitted)


if __name__ == "__main__":
    app.run(debug=True)
