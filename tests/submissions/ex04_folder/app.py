from flask import Flask, render_template
from forms import NameForm

app = Flask(__name__)
app.config["SECRET_KEY"] = "a-student-secret-key"


@app.route("/", methods=["GET", "POST"])
def index():
    form = NameForm()
    name = None
    if form.validate_on_submit():
        name = form.name.data
        form.name.data = ""
    return render_template("index.html", form=form, name=name)


if __name__ == "__main__":
    app.run(debug=True)
