"""The JSON API under /api (bearer tokens; what `grade submit --server` calls)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
