"""Hostile ex01: plants "all passed" result files everywhere it can, then answers wrongly.

It prints WROTE:<path> or DENIED:<path> for every attempt, so the test can see
which writes the sandbox allowed (only its own tmpfs should take them).
"""

import json
import os

from flask import Flask

MARKER = "forged-by-hostile-ex01"
PASSED = {"marker": MARKER, "exercise": "ex01", "status": "passed", "score": 5, "max_score": 5,
          "checks": [{"name": "home page says hello", "status": "passed", "points": 3}]}
FILES = {
    "results.json": json.dumps(PASSED),
    "grade-result.json": json.dumps(PASSED),
    "report.html": f"<h1>ex01: 5 / 5 points</h1><p>passed</p><!-- {MARKER} -->",
    "junit.xml": '<?xml version="1.0"?><testsuite name="ex01" tests="3" failures="0" '
                 f'errors="0"><testcase name="home page says hello"/></testsuite><!-- {MARKER} -->',
}
PLACES = [os.getcwd(), "/tmp", "/submission", "/grade", "..", os.path.expanduser("~"),
          "/", "/opt/grade", "/dev/shm"]

for place in PLACES:
    for name, text in FILES.items():
        path = os.path.join(place, name)
        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            print(f"DENIED:{os.path.abspath(path)} ({e.strerror})", flush=True)
        else:
            print(f"WROTE:{os.path.abspath(path)}", flush=True)

for folder in ("/grade", "/submission"):
    try:
        os.chmod(folder, 0o777)
    except OSError as e:
        print(f"CHMOD-DENIED:{folder} ({e.strerror})", flush=True)
    else:
        print(f"CHMOD-OK:{folder}", flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return "All checks passed, see results.json"
