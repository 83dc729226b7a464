"""The sandbox agent: the only grader code that runs inside the container.

It runs as an unprivileged user next to the student's code, so nothing it says
is trusted: the host treats every answer as untrusted JSON and decides the
score itself. Its jobs are narrow:

1. bind ``/grade/ctl.sock`` (JSON lines) and ``/grade/app.sock`` (HTTP) before
   any student code exists, then wait for ``/grade`` to be made read-only (by
   the relay in a container, sandbox/relay.py; by the host for a process);
2. on ``put``: receive the submission's files (a tar, in base64 pieces) and
   unpack them into a writable tmpfs; no host folder is ever mounted;
3. on ``load``: read ``.flaskenv`` and ``.env``, import the submission and
   find the Flask app as ``flask run`` does (``FLASK_APP``, module-level
   ``app``, the only Flask instance, or a ``create_app()`` factory), optionally
   ``db.create_all()`` inside an app context, and serve it on ``app.sock``;
4. answer ``models``, ``repr`` and ``dump_db`` so model checks can be compared
   on the trusted side;
5. on ``migrate`` (specs with ``setup: {migrate: true}``): run the submission's
   Flask-Migrate migrations, as ``flask db upgrade`` would;
6. on ``restart`` (a ``restart`` step): start the app again in a fresh
   interpreter. The agent execs itself, handing the new process its two
   sockets (the control connection and the app's listening socket, bound
   before any student code existed) and the load's arguments; the new process
   loads the app again and answers the ``restart`` request. Files on disk are
   kept, everything in memory is gone, as when a server restarts;
7. on ``dump_file``: a consistent copy of a SQLite file the spec names
   (``database_file``), for apps that use ``sqlite3`` directly.

Standard library plus the sandbox image's Flask packages only.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import socket
import sqlite3
import stat
import sys
import tarfile
import threading
import traceback
import urllib.parse
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # the image's packages are imported only once they are needed
    from collections.abc import Callable, Iterable
    from types import ModuleType

    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import Column, Table
    from sqlalchemy.orm import Mapper, registry
    from sqlalchemy.types import TypeEngine
    from werkzeug.serving import BaseWSGIServer

SOCK_DIR = "/grade"
WORKDIR = "/tmp/app"
MAX_REQUEST = 1 << 20
MAX_ARCHIVE = 16 << 20  # the host stages at most 10 MiB of files
MAX_DB_BYTES = 8 << 20
RESTART_FLAG = "--grade-restart"  # argv[1] of an agent started again by `restart`
PREFERRED = ("app", "wsgi", "main", "application", "run", "server")
FACTORIES = ("create_app", "make_app")


class LoadError(Exception):
    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info.get("message", "load failed"))
        self.info = info


class Agent:
    def __init__(self) -> None:
        self.app: Flask | None = None
        self.loaded = threading.Event()
        self.archive = bytearray()
        self.received = False
        self.load_args: dict[str, Any] | None = None  # what `restart` loads again

    # -- WSGI front door ----------------------------------------------------

    def wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"app not loaded"]
        return self.app(environ, start_response)

    # -- control operations -------------------------------------------------

    def op_put(self, data: str, last: bool) -> dict[str, Any]:
        if self.received:
            raise LoadError({"type": "AgentError", "message": "the submission came already"})
        self.archive += base64.b64decode(data, validate=True)
        if len(self.archive) > MAX_ARCHIVE:
            raise LoadError({"type": "AgentError", "message": "the submission is too big"})
        if last:
            unpack(bytes(self.archive), WORKDIR)
            self.archive = bytearray()
            self.received = True
        return {}

    def op_load(self, entry: list[str], create_tables: bool) -> dict[str, Any]:
        if os.access(SOCK_DIR, os.W_OK):
            raise LoadError({"type": "AgentError", "message": "socket folder still writable"})
        if not self.received:
            raise LoadError({"type": "AgentError", "message": "no submission received"})
        # Flask first, before the submission's folder is on the path: a student's
        # flask.py must not stand in for it.
        importlib.import_module("flask")

        os.chdir(WORKDIR)
        sys.path.insert(0, WORKDIR)
        env_files = load_dotenv(WORKDIR)  # as `flask run`: .flaskenv, then .env
        # Like `flask run`: a stray app.run() at import must not block loading.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"
        self.load_args = {"entry": list(entry), "create_tables": bool(create_tables)}
        module_name, app, how = find_app(entry)
        self.app = app
        db: SQLAlchemy | None = app.extensions.get("sqlalchemy")
        if create_tables and db is not None:
            try:
                with app.app_context():
                    db.create_all()
            except Exception as e:
                raise LoadError(describe(e, "creating the database tables")) from e
        self.loaded.set()
        return {"module": module_name, "app": how, "sqlalchemy": db is not None,
                "env_files": env_files,
                "blueprints": sorted(str(b) for b in app.blueprints)}

    def op_models(self) -> dict[str, Any]:
        db = self._db()
        models: dict[str, Any] = {}
        for mapper in mappers(db):
            cls = mapper.class_
            table = cast("Table", mapper.local_table)  # what Flask-SQLAlchemy models map
            models[str(cls.__name__)] = {
                "table": str(table.name),
                "columns": [column_info(table, c) for c in table.columns],
            }
        return {"models": models}

    def op_repr(self, model: str, fields: dict[str, Any]) -> dict[str, Any]:
        db = self._db()
        cls = next((m.class_ for m in mappers(db) if m.class_.__name__ == model), None)
        if cls is None:
            return {"found": False}
        with self._app().app_context():
            text = repr(cls(**fields))
        return {"found": True, "repr": str.__str__(text) if isinstance(text, str) else None}

    def op_jinja_filters(self) -> dict[str, Any]:
        """The names of the app's Jinja filters (Jinja's own included), as plain text."""
        names = [str.__str__(k) for k in self._app().jinja_env.filters if isinstance(k, str)]
        return {"filters": sorted(n for n in names if len(n) <= 100)[:1000]}

    def op_dump_db(self) -> dict[str, Any]:
        db = self._db()
        with self._app().app_context():
            engine = db.engine
            if engine.dialect.name != "sqlite":
                return {"dialect": str(engine.dialect.name), "data": None}
            raw = engine.raw_connection()
            try:
                return dump_sqlite(cast("sqlite3.Connection", raw.driver_connection))
            finally:
                raw.close()

    def op_dump_file(self, path: str) -> dict[str, Any]:
        """A consistent copy of the SQLite file *path* in the app's folder (``database_file``)."""
        full = inside_workdir(path)
        if full is None:
            return {"dialect": "sqlite", "data": None, "missing": True}
        source = sqlite3.connect(f"file:{urllib.parse.quote(full)}?mode=ro", uri=True,
                                 timeout=2.0)
        try:
            return dump_sqlite(source)
        finally:
            source.close()

    def op_migrate(self) -> dict[str, Any]:
        """Upgrade the app's database to the submission's latest migration."""
        db = self._db()
        config = self._app().extensions.get("migrate")
        if config is None:
            raise LoadError({"type": "NoMigrate",
                             "message": "the app does not set up Flask-Migrate; add "
                                        "`migrate = Migrate(app, db)` after creating `db`"})
        directory = str(config.directory)
        if not os.path.isfile(os.path.join(directory, "env.py")):
            raise LoadError({"type": "NoMigrations",
                             "message": f"the submission has no migrations ({directory}/env.py "
                                        "is missing). Run `flask db init` and `flask db migrate`"
                                        f" and hand in the {directory}/ folder with your app."})
        import flask_migrate
        import sqlalchemy

        # flask_migrate.upgrade reports a failure by sys.exit(1); the function it
        # wraps raises the real error, which is what the student needs to see.
        upgrade: Callable[..., None] = getattr(flask_migrate.upgrade, "__wrapped__",
                                               flask_migrate.upgrade)
        try:
            with self._app().app_context():
                upgrade(directory=directory)
                tables = sorted(sqlalchemy.inspect(db.engine).get_table_names())
        except BaseException as e:  # noqa: B036 - migration scripts are student code
            info = describe(e, "running the migrations")
            info["message"] = f"`flask db upgrade` failed: {info['message']}"
            raise LoadError(info) from e
        return {"directory": directory, "tables": [str(t) for t in tables]}

    def _app(self) -> Flask:
        if self.app is None:
            raise LoadError({"type": "AgentError", "message": "the app is not loaded"})
        return self.app

    def _db(self) -> SQLAlchemy:
        db: SQLAlchemy | None = self._app().extensions.get("sqlalchemy")
        if db is None:
            raise LoadError({"type": "NoDatabase",
                             "message": "the app does not use Flask-SQLAlchemy "
                                        "(no SQLAlchemy(app) or db.init_app(app) found)"})
        return db


def dump_sqlite(source: sqlite3.Connection) -> dict[str, Any]:
    """The database *source* holds, copied with SQLite's backup (consistent mid-write), base64."""
    # Next to WORKDIR (/tmp in the image), never in a /tmp shared with other runs.
    target = os.path.join(os.path.dirname(WORKDIR), ".grade-dump.sqlite")
    if os.path.exists(target):
        os.unlink(target)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
    size = os.path.getsize(target)
    if size > MAX_DB_BYTES:
        return {"dialect": "sqlite", "data": None, "too_big": size}
    with open(target, "rb") as fh:
        data = base64.b64encode(fh.read()).decode("ascii")
    return {"dialect": "sqlite", "data": data}


def inside_workdir(path: str) -> str | None:
    """*path* in the app's folder, or None if no regular file is there.

    The host refuses absolute paths and ``..`` already; a symbolic link on the
    way (the submission's, or one the app made) is refused here, so the copy
    never reads a file outside the app's folder.
    """
    parts = path.replace("\\", "/").split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise LoadError({"type": "BadPath", "message": f"database_file {path!r} is not a "
                                                       "relative path inside the app's folder"})
    current = WORKDIR
    for part in parts:
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            raise LoadError({"type": "Symlink",
                             "message": f"database_file {path!r}: {part!r} is a symbolic link; "
                                        "the grader reads only files inside the app's folder"})
    if not stat.S_ISREG(info.st_mode):
        raise LoadError({"type": "NotAFile",
                         "message": f"database_file {path!r} is not a regular file"})
    return current


def mappers(db: SQLAlchemy) -> frozenset[Mapper[Any]]:
    """The app's mapped classes. db.Model is made at run time, so mypy cannot see its registry."""
    models: registry = db.Model.registry  # type: ignore[attr-defined]
    return models.mappers


def column_info(table: Table, column: Column[Any]) -> dict[str, Any]:
    unique = bool(column.unique)
    for constraint in table.constraints:
        cols = [c.name for c in getattr(constraint, "columns", [])]
        if type(constraint).__name__ == "UniqueConstraint" and cols == [column.name]:
            unique = True
    for index in table.indexes:
        if index.unique and [c.name for c in index.columns] == [column.name]:
            unique = True
    length = getattr(column.type, "length", None)
    return {
        "name": str(column.name),
        "type": type_name(column.type),
        "length": int(length) if isinstance(length, int) else None,
        "primary_key": bool(column.primary_key),
        "unique": unique,
        "nullable": bool(column.nullable),
    }


def type_name(sqltype: TypeEngine[Any]) -> str:
    names = {"Integer": "integer", "SmallInteger": "integer", "BigInteger": "integer",
             "String": "string", "Unicode": "string", "Text": "text", "UnicodeText": "text",
             "Boolean": "boolean", "Float": "float", "Double": "float", "Numeric": "numeric",
             "DateTime": "datetime", "Date": "date", "Time": "time", "JSON": "json",
             "LargeBinary": "blob"}
    for klass in type(sqltype).__mro__:
        if klass.__name__ in names:
            return names[klass.__name__]
    return type(sqltype).__name__.lower()


def unpack(archive: bytes, folder: str) -> None:
    """Write the host's tar of the submission: folders and regular files, names kept inside."""
    os.makedirs(folder, exist_ok=True)
    root = os.path.realpath(folder)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            path = os.path.realpath(os.path.join(root, member.name))
            if not path.startswith(root + os.sep):
                continue  # the host never sends such a name; skip rather than trust it
            if member.isdir():
                os.makedirs(path, mode=0o755, exist_ok=True)
            elif member.isreg():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                source = tar.extractfile(member)
                if source is not None:
                    with open(path, "wb") as out:
                        out.write(source.read())


# -- finding the app -----------------------------------------------------------
#
# As `flask run` does (flask/cli.py: load_dotenv, prepare_import, locate_app,
# find_best_app), with three differences students need: file names that are not
# identifiers are imported too, every candidate module is looked at in a fixed
# order until one yields an app, and a factory that needs arguments is skipped
# with a reason instead of ending the search.

MAX_TRIED = 10  # lines of "what was tried" in a load error
UNLIKELY = ("setup", "conftest", "tests", "test")  # tried last: rarely the app


def load_dotenv(folder: str) -> list[str]:
    """Set the variables of *folder*'s .flaskenv, then .env, as `flask run` does.

    Variables already in the environment win, and .env wins over .flaskenv.
    python-dotenv parses the files when the image has it; otherwise simple
    ``KEY=VALUE`` lines are read here. Returns the names of the files read.
    """
    values: dict[str, str | None] = {}
    read: list[str] = []
    for name in (".flaskenv", ".env"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            values.update(dotenv_values(path))
            read.append(name)
    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    return read


def dotenv_values(path: str) -> dict[str, str | None]:
    try:
        import dotenv
    except ImportError:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_env(fh.read())
    return dict(dotenv.dotenv_values(path, encoding="utf-8"))


def parse_env(text: str) -> dict[str, str | None]:
    """``KEY=VALUE`` lines: ``export``, quotes and ``#`` comments, no expansion."""
    values: dict[str, str | None] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not key.isidentifier():
            continue
        if not sep:
            values[key] = None
            continue
        value = value.strip()
        if value[:1] in ("'", '"') and value.find(value[0], 1) > 0:
            quoted = value[1:value.find(value[0], 1)]
            value = quoted.replace("\\n", "\n") if value[0] == '"' else quoted
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def candidates(entry: list[str], folder: str = ".") -> list[str]:
    """What to import, in order: the exercise's entry, else FLASK_APP, then every module.

    Modules are ``.py`` files (any name, ``1_start.py`` and ``greet app.py`` too)
    and packages: the usual app names first, then the rest in sorted order,
    then packages, then files that are rarely the app (setup.py, tests).
    """
    if entry:
        return list(entry)
    names = sorted(os.listdir(folder))
    modules = [n[:-3] for n in names if n.endswith(".py") and n != "__init__.py"
               and len(n) > 3 and os.path.isfile(os.path.join(folder, n))]
    packages = [n for n in names if n.isidentifier()
                and os.path.isfile(os.path.join(folder, n, "__init__.py"))]
    unlikely = [m for m in modules if m in UNLIKELY or m.startswith("test_")
                or m.endswith("_test")]
    found = [m for m in PREFERRED if m in modules or m in packages]
    found += [m for m in modules if m not in found and m not in unlikely]
    found += [p for p in packages if p not in found]
    found += unlikely
    flask_app = os.environ.get("FLASK_APP", "").strip()
    return ([flask_app] if flask_app else []) + found


def split_target(target: str) -> tuple[str, str | None]:
    """``module``, ``path/to/file.py``, ``module:name`` or ``module:create_app(...)``."""
    module, sep, attr = target.partition(":")
    if sep and len(module) == 1 and attr[:1] in ("\\", "/"):  # a Windows drive letter
        drive, sep, attr = attr.partition(":")
        module = f"{module}:{drive}"
    return module, (attr.strip() or None) if sep else None


def import_target(module: str) -> ModuleType:
    """Import *module*, a module name or a .py path, as Flask's prepare_import would."""
    if module.endswith(".py") or "/" in module or "\\" in module:
        path = os.path.normpath(module.replace("\\", "/"))
        path = path[:-3] if path.endswith(".py") else path
        folder, name = os.path.split(os.path.abspath(path))
        if name == "__init__":
            folder, name = os.path.split(folder)
        parts = [name]
        while os.path.isfile(os.path.join(folder, "__init__.py")):
            folder, name = os.path.split(folder)
            parts.insert(0, name)
        if folder not in sys.path:
            sys.path.insert(1, folder)
        module = ".".join(parts)
    filename = module.replace(".", os.sep) + ".py"
    if "." in module and os.path.isfile(module + ".py"):  # app.v2.py: no package app
        return import_file(module + ".py", module.replace(".", "_"))
    known = sys.modules.get(module)
    if known is not None and os.path.isfile(filename) and not same_file(
            getattr(known, "__file__", None), filename):
        # site.py, json.py: a name Python (or the agent) had imported already from its
        # own library, which import_module would hand back instead of the student's file
        return import_file(filename, f"_submission_{module.replace('.', '_')}")
    return importlib.import_module(module)


def same_file(one: str | None, other: str) -> bool:
    try:
        return one is not None and os.path.samefile(one, other)
    except OSError:  # a frozen module's __file__ need not exist
        return False


def import_file(filename: str, name: str) -> ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.abspath(filename))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {filename}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def display(module: str) -> str:
    """How a candidate is named to the student: its file where there is one."""
    if module.endswith(".py") or "/" in module:
        return module
    if os.path.isfile(module + ".py"):
        return module + ".py"
    return module


class Skip(Exception):
    """A candidate that holds no app it can give: why, in a few words."""


def find_app(entry: list[str]) -> tuple[str, Flask, str]:
    """Import the candidates in order; the first that yields a Flask app is graded."""
    names = candidates(entry)
    if not names:
        raise LoadError({"type": "NoApp",
                         "message": "no Python file found in the submission (a .py file or a "
                                    "package folder with __init__.py)"})
    tried: list[str] = []
    first_error: dict[str, Any] | None = None
    imported: set[str] = set()
    for target in dict.fromkeys(names):
        module_name, attr = split_target(target)
        label = display(module_name)
        if attr is None and module_name in imported:
            continue
        try:
            module = import_target(module_name)
        except BaseException as e:  # noqa: B036 - SystemExit at import is a student error too
            info = describe(e, f"importing {label}")
            first_error = first_error or info
            tried.append(f"{label}: {info['type']}: {info['message']}")
            imported.add(module_name)
            continue
        imported.add(module_name)
        try:
            app, how = locate(module, attr)
        except Skip as e:
            tried.append(f"{label}: {e}")
            continue
        except BaseException as e:  # noqa: B036 - the factory is student code
            info = describe(e, f"calling {label}'s factory")
            first_error = first_error or info
            tried.append(f"{label}: {info['type']} in the factory: {info['message']}")
            continue
        return module_name, app, f"{label}:{how}"
    lines = [t if len(t) <= 200 else t[:199] + "…" for t in tried[:MAX_TRIED]]
    if len(tried) > MAX_TRIED:
        lines.append(f"… and {len(tried) - MAX_TRIED} more")
    if first_error is not None:
        first_error["tried"] = lines
        raise LoadError(first_error)
    raise LoadError({
        "type": "NoApp", "tried": lines,
        "message": "no Flask app found. Define `app = Flask(__name__)` at module level, or a "
                   "`create_app()` function that needs no arguments and returns the app, or "
                   "name it in .flaskenv (`FLASK_APP=module:name`).",
    })


def locate(module: ModuleType, attr: str | None) -> tuple[Flask, str]:
    """The app in *module*: *attr* if named (FLASK_APP), else as Flask's find_best_app."""
    import flask

    if attr is not None:
        return by_expression(module, attr)
    for name in ("app", "application"):
        if isinstance(getattr(module, name, None), flask.Flask):
            return getattr(module, name), name
    apps = [k for k, v in vars(module).items() if isinstance(v, flask.Flask)]
    if len(apps) == 1:
        return getattr(module, apps[0]), apps[0]
    if len(apps) > 1:
        raise Skip(f"{len(apps)} Flask apps ({', '.join(sorted(apps)[:5])}) and none named "
                   "`app`; name the one to grade `app`")
    needs: list[str] = []
    for name in FACTORIES:
        factory = getattr(module, name, None)
        if not callable(factory):
            continue
        required = required_arguments(factory)
        if required:
            needs.append(f"{name}({', '.join(required)}) needs arguments")
            continue
        made = factory()
        if isinstance(made, flask.Flask):
            return made, f"{name}()"
        needs.append(f"{name}() returned {type(made).__name__}, not a Flask app")
    if needs:
        raise Skip("; ".join(needs) + " (no module-level `app` either)")
    raise Skip("no `app`, no Flask instance and no create_app()")


def required_arguments(function: Callable[..., Any]) -> list[str]:
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.default is p.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def by_expression(module: ModuleType, expression: str) -> tuple[Flask, str]:
    """``name`` or ``name(literal, key=literal)``, the forms `flask --app` accepts."""
    import ast

    import flask

    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as e:
        raise Skip(f"FLASK_APP's `{expression}` is not a name or a call") from e
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    call = isinstance(node, ast.Call)
    if isinstance(node, ast.Call):
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
        except ValueError as e:
            raise Skip(f"FLASK_APP's `{expression}`: arguments must be literals") from e
        node = node.func
    if not isinstance(node, ast.Name):
        raise Skip(f"FLASK_APP's `{expression}` is not a name or a call")
    found = getattr(module, node.id, None)
    if found is None:
        raise Skip(f"has no `{node.id}` (FLASK_APP names it)")
    if not call and callable(found) and not isinstance(found, flask.Flask):
        if required_arguments(found):  # flask --app module:create_app calls it too
            raise Skip(f"`{node.id}` needs arguments; name them in FLASK_APP")
        call, expression = True, f"{node.id}()"
    made = found(*args, **kwargs) if call else found
    if not isinstance(made, flask.Flask):
        raise Skip(f"`{expression}` is a {type(made).__name__}, not a Flask app")
    return made, expression.strip()


def describe(e: BaseException, doing: str) -> dict[str, Any]:
    info: dict[str, Any] = {"type": type(e).__name__, "doing": doing, "message": str(e)}
    if isinstance(e, SyntaxError):
        info.update(file=relative(e.filename), line=e.lineno, offset=e.offset,
                    text=(e.text or "").rstrip("\n"), message=e.msg)
        return info
    if isinstance(e, SystemExit):
        info["message"] = f"the code called exit({e.code!r}) while loading"
    if "unable to open database file" in str(e):
        # The database URL SQLAlchemy was opening, from the engine in the failing
        # frames (SQLAlchemy's str() hides a password); the host treats it as a claim.
        tb = e.__traceback__
        while tb is not None and "database" not in info:
            for value in list(tb.tb_frame.f_locals.values()):
                if type(value).__name__ == "Engine" and hasattr(value, "url"):
                    info["database"] = str(value.url)[:500]
                    break
            tb = tb.tb_next
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if f.filename.startswith(WORKDIR + "/")]
    if frames:
        last = frames[-1]
        info.update(file=relative(last.filename), line=last.lineno, text=last.line or "")
    info["traceback"] = "".join(
        f'  File "{relative(f.filename)}", line {f.lineno}, in {f.name}\n    {f.line}\n'
        for f in frames)[-4000:]
    return info


def relative(filename: str | None) -> str | None:
    if filename and filename.startswith(WORKDIR + "/"):
        return filename[len(WORKDIR) + 1:]
    return filename


# -- sockets ----------------------------------------------------------------------


def serve_app(agent: Agent, fd: int | None = None) -> BaseWSGIServer:
    """The app's HTTP server on app.sock; *fd*: the socket a restarted agent inherited."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    path = os.path.join(SOCK_DIR, "app.sock")
    server = make_server(f"unix://{path}", 0, agent.wsgi, threaded=True,
                         request_handler=QuietHandler, fd=fd)
    if fd is None:
        os.chmod(path, 0o666)
    return server


def start_serving(server: BaseWSGIServer) -> None:
    try:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    except RuntimeError as e:  # no thread left: the app used up the process limit
        raise LoadError({"type": "ResourceError",
                         "message": f"the app's server could not start ({e}); the code "
                                    "started too many processes or threads while loading"}
                        ) from e


class Boot:
    """How this agent was started, taken before any student code runs: what a restart reuses."""

    def __init__(self) -> None:
        self.env = dict(os.environ)
        self.path = list(sys.path)
        self.flags = interpreter_flags()
        self.source = own_source()


def interpreter_flags() -> list[str]:
    """The interpreter's options (``-I -S -u -B`` in process mode), as this process got them."""
    flags: list[str] = []
    for arg in sys.orig_argv[1:]:
        if not arg.startswith("-") or arg in ("-c", "-m"):
            break
        flags.append(arg)
    return flags


def own_source() -> str:
    """This file's text: the process launcher hands it over, a restarted agent got it as -c."""
    given = globals().get("__agent_source__")
    if isinstance(given, str):
        return given
    if "-c" in sys.orig_argv:
        return sys.orig_argv[sys.orig_argv.index("-c") + 1]
    with open(__file__, encoding="utf-8") as fh:
        return fh.read()


def restart(agent: Agent, boot: Boot, conn: socket.socket, server: BaseWSGIServer,
            request_id: Any) -> None:
    """Become a fresh agent that loads the app again; returns only if that cannot start."""
    if agent.load_args is None:
        raise LoadError({"type": "AgentError", "message": "the app was never loaded"})
    state = {"ctl": conn.fileno(), "app": server.socket.fileno(), "id": request_id,
             "load": agent.load_args, "path": boot.path}
    for fd in (state["ctl"], state["app"]):
        os.set_inheritable(fd, True)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110 - the app may have closed or replaced it
            pass
    # Not the app's folder: the new interpreter puts its working folder on sys.path
    # before the agent's own imports, and a student's json.py must not stand in.
    os.chdir("/")
    argv = [sys.executable, *boot.flags, "-c", boot.source, RESTART_FLAG, json.dumps(state)]
    try:
        os.execve(sys.executable, argv, boot.env)
    except OSError as e:
        raise LoadError({"type": "RestartError",
                         "message": f"the app's process could not be started again: {e}"}
                        ) from e


def answer(writer: io.BufferedIOBase, request_id: Any, call: Callable[[], dict[str, Any]],
           doing: str) -> None:
    """Run *call* and write its reply, or its error, for the request *request_id*."""
    try:
        reply: dict[str, Any] = {"ok": True, "result": call()}
    except LoadError as e:
        reply = {"ok": False, "error": e.info}
    except Exception as e:
        reply = {"ok": False, "error": describe(e, doing)}
    reply["id"] = request_id  # the host matches each answer to its request
    writer.write(json.dumps(reply, default=str).encode() + b"\n")
    writer.flush()


def control_loop(agent: Agent, boot: Boot, conn: socket.socket,
                 server: BaseWSGIServer) -> None:
    reader = conn.makefile("rb")
    writer = cast("io.BufferedIOBase", conn.makefile("wb"))
    ops: dict[str, Callable[..., dict[str, Any]]] = {
        "put": agent.op_put, "load": agent.op_load, "models": agent.op_models,
        "repr": agent.op_repr, "dump_db": agent.op_dump_db, "migrate": agent.op_migrate,
        "dump_file": agent.op_dump_file, "jinja_filters": agent.op_jinja_filters}
    while True:
        line = reader.readline(MAX_REQUEST)
        if not line:
            return
        request = json.loads(line)
        name = request.get("op")
        args = request.get("args", {})
        request_id = request.get("id")

        def call(name: Any = name, args: Any = args, request_id: Any = request_id
                 ) -> dict[str, Any]:
            if name == "restart":
                restart(agent, boot, conn, server, request_id)
            op = ops.get(name)
            if op is None:
                raise LoadError({"type": "AgentError", "message": "unknown op"})
            result = op(**args)
            if name == "load":
                start_serving(server)
            return result

        answer(writer, request_id, call, str(name))


def resume(boot: Boot, state: dict[str, Any]) -> None:
    """The agent after a restart: load the app again, answer `restart`, then serve as before."""
    agent = Agent()
    agent.received = True  # the files are on disk already
    server = serve_app(agent, fd=int(state["app"]))
    conn = socket.socket(fileno=int(state["ctl"]))
    writer = cast("io.BufferedIOBase", conn.makefile("wb"))

    def load() -> dict[str, Any]:
        result = agent.op_load(**state["load"])
        start_serving(server)
        return result

    answer(writer, state.get("id"), load, "loading the app again after the restart")
    control_loop(agent, boot, conn, server)


def _import_flask() -> None:
    try:
        importlib.import_module("flask")
    except BaseException:  # noqa: BLE001 - op_load imports it again and reports the error
        pass


def main() -> None:
    # The image uses the defaults; `--sandbox process` runs without a container and
    # points these at its own folders.
    global SOCK_DIR, WORKDIR
    SOCK_DIR = os.environ.get("GRADE_SOCK_DIR", SOCK_DIR)
    WORKDIR = os.environ.get("GRADE_WORKDIR", WORKDIR)
    if len(sys.argv) == 3 and sys.argv[1] == RESTART_FLAG:
        state = json.loads(sys.argv[2])
        sys.path[:] = [str(p) for p in state["path"]]
        resume(Boot(), state)
        os._exit(0)
    boot = Boot()
    agent = Agent()
    server = serve_app(agent)
    ctl_path = os.path.join(SOCK_DIR, "ctl.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bind under a temporary name: the host takes ctl.sock appearing to mean "listening".
    listener.bind(ctl_path + ".tmp")
    listener.listen(1)
    os.chmod(ctl_path + ".tmp", 0o666)
    os.rename(ctl_path + ".tmp", ctl_path)
    # Flask is imported now, while the host connects and sends the files (or the
    # sandbox waits in a pool): no student code exists yet, and op_load's own
    # import waits for this one under the import lock.
    threading.Thread(target=_import_flask, name="import-flask", daemon=True).start()
    conn, _ = listener.accept()
    listener.close()  # one controller only: the host
    control_loop(agent, boot, conn, server)
    os._exit(0)


if __name__ == "__main__":
    main()
