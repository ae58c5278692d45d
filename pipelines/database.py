"""Opening the archive database: URL, engine, schema upgrade, readable errors.

Every entry point (spiders, commands, tests) opens the database through
:func:`open_database`, so the schema is always at the latest Alembic revision and a
failure to connect always reads the same way, with the password masked.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

DEFAULT_DATABASE_URL = "sqlite:///archive.sqlite"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseError(RuntimeError):
    """The archive database cannot be used; the message says why and what to do."""


def database_url(setting: str | None = None) -> str:
    """The URL to use: the DATABASE_URL environment variable, the setting, the default."""
    return os.environ.get("DATABASE_URL") or setting or DEFAULT_DATABASE_URL


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
    # WAL lets readers query the archive while a crawl writes; busy_timeout makes a
    # second writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


def describe_error(url: str, exc: Exception) -> str:
    """A sentence a person can act on, with the password masked."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    reason = reason.replace(make_url(url).password or "\0", "***")
    return (
        f"cannot use the archive database {mask_url(url)}: {reason}. "
        "Check DATABASE_URL (server running and reachable, user and password right, "
        "database created, file folder writable)."
    )


def open_database(url: str) -> Engine:
    """An engine on url with the schema upgraded to the latest revision."""
    engine = create_archive_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseError(describe_error(url, exc)) from None
    return engine
