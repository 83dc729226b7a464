"""Hostile ex01: / answers 200 with 5 MB that start like the right answer, one line each.

The client keeps 2 MiB, the exact-body comparison fails, and the report's line
diff must stay small and quick whatever the body (it diffs clipped text): 2/5, failed.
"""

from flask import Flask

app = Flask(__name__)
BODY = "Hello, Flask World!\n" + "x\n" * (5 * 1024 * 1024 // 2)


@app.route("/")
def hello():
    return BODY
