"""The server-rendered pages (Jinja, no single-page framework)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)
