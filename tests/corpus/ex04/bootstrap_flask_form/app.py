from flask import Flask, render_template
from flask_bootstrap import Bootstrap5
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

app = Flask(__name__)
app.config["SECRET_KEY"] = "bootstrap-demo-key"
bootstrap = Bootstrap5(app)


class NameForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired()])
    submit = SubmitField("Say hello")


@app.route("/", methods=["GET", "POST"])
def index():
    form = NameForm()
    name = form.name.data if form.validate_on_submit() else None
    return render_template("index.html", form=form, name=name)
