from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import SubmitField

# TODO: also import StringField from wtforms, and the DataRequired
#       validator from wtforms.validators.

app = Flask(__name__)
app.config["SECRET_KEY"] = "change-me-to-a-random-secret"


class NameForm(FlaskForm):
    # TODO: add a `name` StringField labelled "What is your name?"
    #       with validators=[DataRequired()].
    submit = SubmitField("Submit")


# TODO: add {{ form.hidden_tag() }} inside the form (the CSRF token)
#       and show the `name` field before the submit button.
# TODO: show "Hello, <name>!" when a name was submitted.
PAGE = """
<!doctype html>
<html>
  <head><title>Name form</title></head>
  <body>
    <form method="POST">
      {{ form.submit() }}
    </form>
  </body>
</html>
"""


# TODO: accept POST requests as well (methods=["GET", "POST"]).
@app.route("/")
def index():
    form = NameForm()
    # TODO: if form.validate_on_submit(): read the name from form.name.data
    #       and pass it to the template.
    return render_template_string(PAGE, form=form)


if __name__ == "__main__":
    app.run(debug=True)
