from flask import Flask, redirect, render_template_string, session, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

app = Flask(__name__)
app.config["SECRET_KEY"] = "hard to guess string"


class NameForm(FlaskForm):
    name = StringField("What is your name?", validators=[DataRequired()])
    submit = SubmitField("Submit")


PAGE = """
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Flasky</title></head>
<body>
  <div class="page-header">
    <h1>Hello, {% if name %}{{ name }}{% else %}Stranger{% endif %}!</h1>
  </div>
  <form action="" method="post" class="form" role="form">
    {{ form.hidden_tag() }}
    <div class="form-group">{{ form.name.label }} {{ form.name(class="form-control") }}</div>
    {{ form.submit(class="btn btn-default") }}
  </form>
</body>
</html>
"""


@app.route("/", methods=["GET", "POST"])
def index():
    form = NameForm()
    if form.validate_on_submit():
        session["name"] = form.name.data
        return redirect(url_for("index"))
    return render_template_string(PAGE, form=form, name=session.get("name"))
