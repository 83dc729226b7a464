from typing import Optional

import sqlalchemy as sa
import sqlalchemy.orm as so

from app import db


class User(db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(80), index=True, unique=True)
    about_me: so.Mapped[Optional[str]] = so.mapped_column(sa.String(140))

    def __repr__(self):
        return "<User {}>".format(self.username)
