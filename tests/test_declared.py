"""The schema a submission declares, read from its source on the host (no code runs)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.grading.declared import DeclaredColumn, DeclaredSchema, from_plain, read_schema
from grader.grading.evaluator import shared


def schema_of(tmp_path: Path, files: dict[str, str]) -> DeclaredSchema:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return read_schema(tmp_path, list(files))


@pytest.mark.parametrize(("source", "table", "column"), [
    # the lesson's style
    ("class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
     "    username = db.Column(db.String(80), unique=True, nullable=False)\n",
     "user", DeclaredColumn("username", "string", 80, False, True, False)),
    # SQLAlchemy 2.0: Mapped[] with mapped_column; a non-Optional Mapped is NOT NULL
    ("class User(db.Model):\n    __tablename__ = 'users'\n"
     "    id: Mapped[int] = mapped_column(primary_key=True)\n"
     "    username: Mapped[str] = mapped_column(String(80), unique=True)\n",
     "users", DeclaredColumn("username", "string", 80, False, True, False)),
    # Optional[...] and `X | None` are nullable
    ("class User(Base):\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
     "    username: Mapped[Optional[str]] = mapped_column(sa.String(length=80))\n",
     "user", DeclaredColumn("username", "string", 80, False, False, True)),
    ("class User(Base):\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
     "    username: Mapped[str | None]\n",
     "user", DeclaredColumn("username", "string", None, False, False, True)),
    # a uniqueness declared in __table_args__, a column named apart from its attribute
    ("class UserAccount(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
     "    name = db.Column('username', db.Text, nullable=False)\n"
     "    __table_args__ = (db.UniqueConstraint('username'),)\n",
     "user_account", DeclaredColumn("username", "text", None, False, True, False)),
])
def test_model_styles(tmp_path: Path, source: str, table: str, column: DeclaredColumn) -> None:
    schema = schema_of(tmp_path, {"app.py": source})
    declared = schema.table(table, migrations_only=False)
    assert declared is not None, schema
    assert declared.columns[column.name] == column


def test_a_migration_script_declares_its_tables_and_revision(tmp_path: Path) -> None:
    script = (
        "revision = 'abc123'\ndown_revision = None\n"
        "def upgrade():\n"
        "    op.create_table('users',\n"
        "        sa.Column('id', sa.Integer(), nullable=False),\n"
        "        sa.Column('username', sa.String(length=80), nullable=False),\n"
        "        sa.PrimaryKeyConstraint('id'))\n"
        "    op.add_column('users', sa.Column('email', sa.String(120), nullable=True))\n"
        "    op.create_index('ix_users_username', 'users', ['username'], unique=True)\n"
        "def downgrade():\n    op.drop_table('users')\n")
    schema = schema_of(tmp_path, {"migrations/versions/abc123_users.py": script,
                                  "app.py": "x = 1\n"})
    users = schema.table("users", migrations_only=True)
    assert users is not None and schema.revisions == {"abc123"}
    assert users.columns["id"] == DeclaredColumn("id", "integer", None, True, False, False)
    assert users.columns["username"].unique and not users.columns["username"].nullable
    assert users.columns["email"] == DeclaredColumn("email", "string", 120, False, False, True)


def test_models_do_not_count_where_only_migrations_may(tmp_path: Path) -> None:
    schema = schema_of(tmp_path, {"app.py": "class User(db.Model):\n"
                                            "    id = db.Column(db.Integer, primary_key=True)\n"})
    assert schema.table("user", migrations_only=False) is not None
    assert schema.table("user", migrations_only=True) is None
    assert schema.model_table("User") == "user"


def test_repr_counts_from_the_class_or_a_base_class_here(tmp_path: Path) -> None:
    schema = schema_of(tmp_path, {"app.py": (
        "class Base(db.Model):\n    __abstract__ = True\n"
        "    def __repr__(self):\n        return 'x'\n"
        "class User(Base):\n    id = db.Column(db.Integer, primary_key=True)\n"
        "class Post(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n")})
    assert "User" in schema.reprs and "Post" not in schema.reprs


@pytest.mark.parametrize("text", [
    "def broken(:\n",  # a syntax error declares nothing
    "x = " + "(" * 500 + ")" * 500 + "\n",  # too deeply nested for the parser
    "\x00",  # not text at all
])
def test_unparsable_source_declares_nothing(tmp_path: Path, text: str) -> None:
    schema = schema_of(tmp_path, {"app.py": text})
    assert schema == DeclaredSchema()


def test_flask_migrate_batch_operations(tmp_path: Path) -> None:
    # Flask-Migrate on SQLite writes later changes as batch operations.
    script = (
        "revision = 'b2'\n"
        "def upgrade():\n"
        "    op.create_table('users', sa.Column('id', sa.Integer(), nullable=False),\n"
        "                    sa.PrimaryKeyConstraint('id'))\n"
        "    with op.batch_alter_table('users', schema=None) as batch_op:\n"
        "        batch_op.add_column(sa.Column('email', sa.String(length=120), nullable=False))\n"
        "        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=True)\n")
    schema = schema_of(tmp_path, {"migrations/versions/b2_email.py": script})
    users = schema.table("users", migrations_only=True)
    assert users is not None
    assert users.columns["email"] == DeclaredColumn("email", "string", 120, False, True, False)


def test_a_unique_index_in_table_args(tmp_path: Path) -> None:
    schema = schema_of(tmp_path, {"models.py": (
        "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
        "    username = db.Column(db.String(80))\n"
        "    __table_args__ = (db.Index('ix_name', 'username', unique=True),\n"
        "                      db.Index('ix_part', 'id', unique=True, sqlite_where=True))\n")})
    user = schema.table("user", migrations_only=False)
    assert user is not None and user.columns["username"].unique
    assert not user.columns["id"].unique  # a partial index is not uniqueness


def test_a_decoy_declaration_gains_nothing(tmp_path: Path) -> None:
    real = ("class Member(db.Model):\n    __tablename__ = 'user'\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    username = db.Column(db.Text)\n")
    decoy = ("class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
             "    username = db.Column(db.String(80), unique=True, nullable=False)\n")
    dead = "if False:\n" + "".join("    " + line + "\n" for line in decoy.splitlines())
    schema = schema_of(tmp_path, {"app.py": real + dead, "unused.py": decoy})
    user = schema.table("user", migrations_only=False)
    assert user is not None
    assert user.columns["username"] == DeclaredColumn("username", None, None, False, False, True)
    assert schema.model_table("User") is None  # two classes claim the table: neither counts


def test_the_evaluator_reads_the_same_schema(tmp_path: Path) -> None:
    # grade() reads the schema in the evaluator process, under a deadline
    files = {"app.py": "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
                       "    name = db.Column(db.String(80), unique=True)\n"
                       "    def __repr__(self):\n        return 'u'\n",
             "migrations/versions/a.py": "revision = 'a1'\ndef upgrade():\n"
                                         "    op.create_table('t', sa.Column('x', sa.Text()))\n"}
    here = schema_of(tmp_path, files)
    plain = shared().call("declared_schema", str(tmp_path), list(files),
                          deadline=time.monotonic() + 30)
    assert from_plain(plain) == here
    assert from_plain({"models": "not a mapping"}) == DeclaredSchema()
