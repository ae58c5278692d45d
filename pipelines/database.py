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

import os
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
from sqlalchemy.exc import ArgumentError, DBAPIError

from pipelines import REPO, child_environment
from pipelines.extraction.normalize import search_form

if TYPE_CHECKING:
    from alembic.config import Config
    from scrapy.settings import BaseSettings

DEFAULT_DATABASE_URL = "sqlite:///archive.sqlite"
MIGRATIONS = REPO / "migrations"
# The newest revision in migrations/versions (tests/test_migrations.py checks it).
SCHEMA_REVISION = "0004"
CHILD_DATABASE_ERROR = 3  # exit status of the upgrade's child process, message on stderr
# PostgreSQL advisory lock taken around the schema upgrade, so two crawls starting at
# once on a fresh database do not both create the tables.
MIGRATION_LOCK_KEY = 7_206_519_433_301_442_603


class DatabaseError(RuntimeError):
    """The archive database cannot be used; the message says why and what to do."""


def database_url(setting: str | None = None) -> str:
    """The URL to use: the DATABASE_URL environment variable, the setting, the default."""
    return os.environ.get("DATABASE_URL") or setting or DEFAULT_DATABASE_URL


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


def create_archive_engine(url: str) -> Engine:
    """An engine for url, without touching the database yet."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"DATABASE_URL {mask_url(url)!r} is not a database URL; "
            "use e.g. sqlite:///archive.sqlite or postgresql+psycopg://user@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        # Wait up to 30 s for another writer's lock (?timeout=SECONDS in the URL), then
        # "database is locked": an outage, ridden out by pipelines.outage.
        connect_args = {} if "timeout" in parsed.query else {"timeout": 30}
        engine = create_engine(parsed, connect_args=connect_args)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Fail in seconds, not after the TCP timeout, when the server is unreachable.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


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
        [sys.executable, "-m", "pipelines.database"], input=url, text=True,
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
