from app import app, db  # noqa: F401
from app.models import User  # noqa: F401
