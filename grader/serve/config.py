"""What `grade serve` runs with, parsed once from its options and environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

SECRET_FILE = "secret-key"
DATABASE_FILE = "grade.db"
PAUSE_FILE = "pause-dispatcher"  # the test hook: while it exists, nothing is claimed
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class ServeConfig:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    jobs: int = 1
    # Session cookies carry Secure unless the instructor runs plain HTTP on a LAN
    # (GRADE_INSECURE_COOKIES=1, documented in the README).
    secure_cookies: bool = True
    max_upload: int = 25 << 20  # bytes of one request's files
    signin_per_minute: int = 10  # sign-in attempts per user name and per address
    submissions_per_minute: int = 20  # per user
    image_tag: str = ""  # the sandbox image the graders use (set by grade serve)

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def specs(self) -> Path:
        return self.data_dir / "specs"

    @property
    def pause_file(self) -> Path:
        return self.data_dir / PAUSE_FILE

    @property
    def public_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def database_url(data_dir: Path, database: str | None) -> str:
    """*database* (a SQLAlchemy URL), or the embedded SQLite file under *data_dir*."""
    if database:
        if database.startswith("postgres://"):  # Heroku's and libpq's spelling
            database = "postgresql://" + database[len("postgres://"):]
        if database.startswith("postgresql://"):
            database = "postgresql+psycopg://" + database[len("postgresql://"):]
        if not database.startswith(("postgresql+psycopg://", "sqlite:///")):
            raise UsageError(f"--database {database.split(':', 1)[0]}:...: not a database URL "
                             "grade serves from. Use postgresql://USER:PASSWORD@HOST/NAME, or "
                             "leave it out for the embedded SQLite database under --data.")
        return database
    return f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}"


def prepare_data_dir(data_dir: Path) -> None:
    """Create *data_dir* (private to this user) and its folders on first start."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for sub in ("uploads", "specs"):
            (data_dir / sub).mkdir(exist_ok=True, mode=0o700)
    except OSError as e:
        raise UsageError(f"--data {data_dir}: cannot create it ({e.strerror}). Pass a folder "
                         "this user may write.") from e


def secret_key(data_dir: Path) -> str:
    """The key that signs sessions: made once, kept in DATA/secret-key (mode 0600)."""
    path = data_dir / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key
