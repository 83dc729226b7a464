# Elastic Beanstalk looks for a callable named "application"
from flask import Flask

application = Flask(__name__)


@application.route("/")
def index():
    return "Hello, Flask World!"


if __name__ == "__main__":
    application.debug = True
    application.run()
