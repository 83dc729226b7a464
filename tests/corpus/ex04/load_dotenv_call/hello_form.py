import os

from dotenv import load_dotenv
from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

load_dotenv()

app = Flask(__name__)
app.config["SECRET_KEY"] = os.getenv("SECRET_KEY")


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired()])
    submit = SubmitField()


@app.route("/", methods=["GET", "POST"])
def index():
    form = NameForm()
    greeting = f"Hello, {form.name.data}!" if form.validate_on_submit() else ""
    return render_template_string(
        '<p>{{ greeting }}</p><form method="POST">{{ form.hidden_tag() }}'
        "{{ form.name() }}{{ form.submit() }}</form>", form=form, greeting=greeting)
