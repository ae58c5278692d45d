"""Alembic environment: the archive's metadata, batch mode for SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from archive.database import create_archive_engine, database_url
from archive.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Leave out full-text search shadow tables, which no model describes."""
    return not (type_ == "table" and name is not None and name.startswith("articles_fts"))


def include_object(item: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Leave out the model's indexes written for another database (``info["dialect"]``,
    archive.models): a name has one definition per database."""
    dialect = getattr(item, "info", {}).get("dialect")
    return reflected or dialect is None or dialect == context.get_bind().dialect.name


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
        include_object=include_object,
        compare_type=True,
        user_module_prefix="models.",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.attributes.get("database_url") or database_url()
    engine = create_archive_engine(url)
    with engine.begin() as connection:
        run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_online()
