"""Opening the archive database: URL, engine, schema upgrade, readable errors.

Every entry point (spiders, commands, tests) opens the database through
:func:`open_database`, so the schema is always at the latest Alembic revision and a
failure to connect always reads the same way, with the password masked.

A database already at :data:`SCHEMA_REVISION` is opened without Alembic; an older or
empty one is upgraded by Alembic in a short-lived child process. Imported, Alembic (with
Mako and Pygments) would stay in the crawl process for the whole crawl: 22 MB of its
~130 MB, for a step that takes a fraction of a second once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from pipelines import REPO, child_environment
from pipelines.extraction.normalize import search_form

if TYPE_CHECKING:
    from alembic.config import Config
    from scrapy.settings import BaseSettings

DEFAULT_DATABASE_URL = "sqlite:///archive.sqlite"
MIGRATIONS = REPO / "migrations"
# The newest revision in migrations/versions (tests/test_migrations.py checks it).
SCHEMA_REVISION = "0009"
CHILD_DATABASE_ERROR = 3  # exit status of the upgrade's child process, message on stderr
# PostgreSQL advisory lock taken around the schema upgrade, so two crawls starting at
# once on a fresh database do not both create the tables.
MIGRATION_LOCK_KEY = 7_206_519_433_301_442_603


class DatabaseError(RuntimeError):
    """The archive database cannot be used; the message says why and what to do."""


def database_url(setting: str | None = None) -> str:
    """The URL to use: the DATABASE_URL environment variable, the setting, the default."""
    return normalise_url(os.environ.get("DATABASE_URL") or setting or DEFAULT_DATABASE_URL)


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` (the spelling of Heroku, Render, libpq) as
    ``postgresql+psycopg://``: SQLAlchemy reads them as psycopg2, which is not installed
    here (psycopg 3 is), and would fail with NoSuchModuleError."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def folder_beside_archive(
    settings: BaseSettings, name: str, beside: Callable[[Path], Path], default: str
) -> Path:
    """The folder setting ``name``; else ``beside(SQLite file)``; else ``./default`` (a
    PostgreSQL archive has no folder of its own). WARC files and the spool go there."""
    if settings.get(name):
        return Path(settings[name]).expanduser().resolve()
    try:
        url = make_url(database_url(settings.get("DATABASE_URL")))
    except ArgumentError:
        return Path(default).resolve()
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return beside(Path(url.database).expanduser().resolve())
    return Path(default).resolve()


def mask_url(url: str) -> str:
    """The URL with its password hidden, for every log line and message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so
    # SAVEPOINTs work and every transaction can be BEGIN IMMEDIATE (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers query the archive while a crawl writes. A second writer waits for
    # the lock (sqlite3's timeout: see create_archive_engine) instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # The full-text index triggers (migration 0003) call this, so SQLite indexes
    # exactly the form that queries use.
    dbapi_connection.create_function("search_form", 1, _sql_search_form, deterministic=True)


def _sql_search_form(value: str | None) -> str | None:
    return None if value is None else search_form(value)


def _sqlite_begin(connection) -> None:
    # Take the write lock up front: a deferred transaction that reads and then writes
    # fails at once with "database is locked" when another process writes meanwhile,
    # instead of waiting for busy_timeout.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def readable_json(value: object) -> str:
    """JSON with non-ASCII text as itself, so a plain SELECT of a Hindi byline reads
    ``["शिवेन्द्र कुमार राय"]``, not ``["\\u0936..."]`` (sqlite3, Datasette, psql).
    A string no UTF-8 database can hold (a lone surrogate) keeps its escapes."""
    readable = json.dumps(value, ensure_ascii=False)
    try:
        readable.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return readable


def create_archive_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for url, without touching the database yet; with ``read_only`` one that
    cannot write (see :func:`open_read_only`)."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise DatabaseError(
            f"DATABASE_URL {mask_url(url)!r} is not a database URL; "
            "use e.g. sqlite:///archive.sqlite or postgresql+psycopg://user@host/db"
        ) from None
    try:
        return _archive_engine(parsed, read_only)
    except (ArgumentError, ImportError):  # NoSuchModuleError, or a driver not installed
        raise DatabaseError(
            f"DATABASE_URL {mask_url(url)!r}: no database driver {parsed.drivername!r} "
            "here; use sqlite:///archive.sqlite or postgresql://user@host/db"
        ) from None


def _archive_engine(parsed: URL, read_only: bool) -> Engine:
    if read_only and parsed.get_backend_name() == "sqlite":
        return _sqlite_read_only_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        # Wait up to 30 s for another writer's lock (?timeout=SECONDS in the URL), then
        # "database is locked": an outage, ridden out by archive.outage.
        connect_args = {} if "timeout" in parsed.query else {"timeout": 30}
        engine = create_engine(
            parsed, connect_args=connect_args, json_serializer=readable_json
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Fail in seconds, not after the TCP timeout, when the server is unreachable.
    connect_args: dict[str, object] = (
        {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    )
    if read_only and "options" not in parsed.query:  # the server refuses every write
        connect_args["options"] = "-c default_transaction_read_only=on"
    return create_engine(
        parsed, pool_pre_ping=True, connect_args=connect_args,
        json_serializer=readable_json,
    )


def _sqlite_read_only_engine(parsed: URL) -> Engine:
    """SQLite opened with ``mode=ro``: no write, no journal-mode change, so an archive on
    read-only media (or a read-only file) can be searched. A WAL archive in a folder
    that cannot be written and with no ``-shm`` file beside it cannot even be opened
    ``mode=ro``; there, where nothing can write either, it is opened ``immutable``."""
    path = Path(parsed.database or "").expanduser().resolve()
    if not parsed.database or not path.is_file():
        raise DatabaseError(
            f"there is no archive at {path}: build one first (scrapy crawl replay -a "
            "path=seeds, or scrapy crawl news -a sources=FILE) or set DATABASE_URL"
        )
    uri = f"{path.as_uri()}?mode=ro"
    if not os.access(path.parent, os.W_OK) and not path.with_name(f"{path.name}-shm").exists():
        uri += "&immutable=1"
    timeout = float(parsed.query.get("timeout", 30))  # type: ignore[arg-type]

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

    engine = create_engine(parsed, creator=connect, json_serializer=readable_json)
    event.listen(engine, "connect", _sqlite_connect_read_only)
    event.listen(engine, "begin", _sqlite_begin_deferred)
    return engine


def _sqlite_connect_read_only(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions begin as SQLAlchemy says
    dbapi_connection.execute("PRAGMA query_only=ON")
    dbapi_connection.create_function("search_form", 1, _sql_search_form, deterministic=True)


def _sqlite_begin_deferred(connection) -> None:
    # One snapshot for all the reads of a transaction; BEGIN IMMEDIATE would ask for
    # the write lock, which a read-only connection cannot take.
    connection.exec_driver_sql("BEGIN")


def open_read_only(url: str) -> Engine:
    """An engine on url that never writes, for the commands that only read (search,
    export, report): they then work on read-only media, and never wait for a crawl's
    write lock. The schema is not upgraded (that is a write): an older one is refused
    with what to do."""
    engine = create_archive_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            current = schema_revision(connection)
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(describe_error(url, exc)) from None
    if current != SCHEMA_REVISION:
        engine.dispose()
        raise DatabaseError(schema_problem(url, current))
    return engine


def schema_problem(url: str, current: str | None) -> str:
    """Why a reading command cannot use a database at schema revision ``current``."""
    where = mask_url(url)
    if current is None:
        return (f"{where} holds no archive yet: build one first (scrapy crawl replay -a "
                "path=seeds, or scrapy crawl news -a sources=FILE) or set DATABASE_URL")
    if current < SCHEMA_REVISION:
        return (f"the archive {where} has schema revision {current}, older than this "
                f"version's {SCHEMA_REVISION}: run any crawl once to upgrade it")
    return (f"the archive {where} has schema revision {current}, newer than this "
            f"version's {SCHEMA_REVISION}: upgrade newsarchive")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def describe_error(url: str, exc: Exception) -> str:
    """A sentence a person can act on, with the password masked."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    parsed = make_url(url)
    reason = reason.replace(parsed.password or "\0", "***").removesuffix(".")
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database or ".").expanduser().resolve().parent
        hint = f"Check that the folder {folder} exists and is writable, or set DATABASE_URL."
    else:
        hint = (
            "Check DATABASE_URL: server running and reachable, user and password right, "
            "database created (see README, PostgreSQL)."
        )
    return f"cannot use the archive database {mask_url(url)}: {reason}. {hint}"


def open_database(url: str) -> Engine:
    """An engine on url with the schema upgraded to the latest revision."""
    engine = create_archive_engine(url)
    try:
        with engine.connect() as connection:
            current = schema_revision(connection)
        if current != SCHEMA_REVISION:
            upgrade_in_child(url)
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(describe_error(url, exc)) from None
    except DatabaseError:
        engine.dispose()
        raise
    return engine


def schema_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at; None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_in_child(url: str) -> None:
    """Run :func:`upgrade_schema` in a child process (the URL goes through stdin, not
    the command line, where any user of the machine could read its password)."""
    child = subprocess.run(
        [sys.executable, "-m", "archive.database"], input=url, text=True,
        capture_output=True, env=child_environment(), check=False,
    )
    if child.returncode == CHILD_DATABASE_ERROR:
        raise DatabaseError(child.stderr.strip())
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        raise DatabaseError(
            f"upgrading the schema of {mask_url(url)} failed: {last}. For the whole "
            "traceback run: DATABASE_URL=... alembic upgrade head"
        )


def upgrade_schema(url: str) -> None:
    """Upgrade the database at url to the latest Alembic revision."""
    from alembic import command

    engine = create_archive_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as exc:
        raise DatabaseError(describe_error(url, exc)) from None
    finally:
        engine.dispose()


if __name__ == "__main__":  # the child of upgrade_in_child
    try:
        upgrade_schema(sys.stdin.read())
    except DatabaseError as error:
        print(error, file=sys.stderr)
        sys.exit(CHILD_DATABASE_ERROR)
