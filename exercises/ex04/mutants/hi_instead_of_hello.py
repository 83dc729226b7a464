from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

app = Flask(__name__)
app.config["SECRET_KEY"] = "change-me-to-a-random-secret"


class NameForm(FlaskForm):
    name = StringField("What is your name?", validators=[DataRequired()])
    submit = SubmitField("Submit")


PAGE = """
<!doctype html>
<html>
  <head><title>Name form</title></head>
  <body>
    {% if name %}
      <h1>Hi, {{ name }}!</h1>
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
    name = None
    if form.validate_on_submit():
        name = form.name.data
    return render_template_string(PAGE, form=form, name=name)


if __name__ == "__main__":
    app.run(debug=True)
