import os

from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]  # kept in .env, never in git


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired()])
    submit = SubmitField("Go")


PAGE = """<form method="post">{{ form.csrf_token }} {{ form.name() }} {{ form.submit() }}</form>
{% if name %}<p>Hello, {{ name }}!</p>{% endif %}"""


@app.route("/", methods=["GET", "POST"])
def index():
    form = NameForm()
    if form.validate_on_submit():
        return render_template_string(PAGE, form=form, name=form.name.data)
    return render_template_string(PAGE, form=form, name=None)
