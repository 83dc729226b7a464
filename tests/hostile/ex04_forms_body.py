"""Hostile ex04 and tests/hostile/exercises: every page is 500 KB of "<form" repeated.

A spec regex such as ex04's ``(?i)<form[^>]*method=["']?post`` starts a match at
each "<form", runs [^>]* to the end of the body and backtracks: quadratic, minutes
of re.search on the host. The grader must stop that work at the check's time
limit and score the rest honestly.
"""

from flask import Flask

app = Flask(__name__)
FORMS = "<form" * 100_000


@app.route("/", methods=["GET", "POST"])
def forms():
    return FORMS
