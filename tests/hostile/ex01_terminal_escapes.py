"""Hostile ex01: fails to load with an error message full of terminal control sequences.

On a terminal, the message would erase the real score line of `grade submit`
and print a green "5/5 points (passed)" in its place.
"""

FAKE_SCORE = "ex01 \u00b7 Hello route: 5/5 points (passed)"
raise RuntimeError(f"\r\x1b[2K\x1b[1A\x1b[2K\x1b[32m{FAKE_SCORE}\x1b[0m")
