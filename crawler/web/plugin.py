"""The Datasette plugin of ``scrapy serve``: the archive's SQL functions, and links.

Registered by the command itself (never through an entry point), so it only runs when
Datasette serves a newsarchive archive.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Request, Response
from markupsafe import Markup, escape
from sqlalchemy import create_engine

from archive.database import _sql_search_form
from archive.report import STALE_HOURS, OutletReport, outlet_report
from archive.search import SearchError, parse_query, sqlite_match

DATABASE = "archive"  # the archive's name in Datasette's URLs: /archive/...
# An FTS5 phrase with no tokens: a valid MATCH expression that matches nothing, for a
# query with no words (an empty search box).
MATCH_NOTHING = '""'


def fts_query(query: str | None) -> str:
    """The FTS5 MATCH expression ``scrapy search`` would run for query: same parsing,
    same ``search_form`` normalisation, so the web view finds exactly what the
    command finds (Devanagari included)."""
    try:
        return sqlite_match(parse_query(query or ""))
    except SearchError:
        return MATCH_NOTHING


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    # search_form: the FTS triggers call it (and a user's SQL may); fts_query: the
    # canned query "search" turns :q into a MATCH expression with it.
    conn.create_function("search_form", 1, _sql_search_form, deterministic=True)
    conn.create_function("fts_query", 1, fts_query, deterministic=True)


# Columns that name a story or an article, in query results, become links to the
# story's copies and the article's page (Datasette links foreign keys of tables only).
LINKS = {
    "story_id": "/" + DATABASE + "/story?story_id={}",
    "article_id": "/" + DATABASE + "/articles/{}",
}


@hookimpl
def render_cell(value: Any, column: str, table: str | None) -> Markup | None:
    if column not in LINKS or not isinstance(value, int):
        return None
    if column == "article_id" and table is not None:
        return None  # a foreign key in a table view: Datasette links it already
    href = LINKS[column].format(value)
    return Markup(f'<a href="{escape(href)}">{value}</a>')


def read_report(path: str, stale_hours: float) -> list[OutletReport]:
    """``scrapy report``'s numbers, read through a read-only connection of their own
    (the report is SQLAlchemy code; Datasette's connections are plain sqlite3)."""
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    )
    try:
        with engine.connect() as connection:
            return outlet_report(connection, stale_hours=stale_hours)
    finally:
        engine.dispose()


async def outlets(datasette: Any, request: Request) -> Response:
    """The outlet report of ``scrapy report``, as a page (or ``.json``)."""
    config = datasette.plugin_config("newsarchive") or {}
    stale_hours = float(config.get("stale_hours", STALE_HOURS))
    path = datasette.get_database(DATABASE).path
    reports = await asyncio.to_thread(read_report, path, stale_hours)
    if request.url_vars.get("format"):
        return Response.json([report.as_dict() for report in reports])
    return Response.html(await datasette.render_template(
        "outlets.html", {"reports": reports, "stale_hours": stale_hours}, request=request
    ))


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/outlets(?P<format>\.json)?$", outlets)]
