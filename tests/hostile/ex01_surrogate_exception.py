"""Hostile ex01: fails to load with an exception whose message holds lone surrogates.

The report and the terminal once raised UnicodeEncodeError on it.
"""

raise RuntimeError("bad \ud800 news \udfff" * 500)
