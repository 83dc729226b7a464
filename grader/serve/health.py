"""GET /healthz: 200 when the database answers and the grading processes' engine does."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__)
