"""``scrapy search "<query>"``: archived articles matching a query, one per line.

Each line is URL, published date (as the page states it), source and title, separated
by tabs; "-" stands for an unknown value. ``--stories`` gives one line per story (its
first published copy) with two more columns, its copies and outlets. No match: "no
matches for ..." on stderr and exit status 1, as grep does, stdout left empty for
pipes. See ``archive.search`` for the query syntax.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from sqlalchemy import Engine

from archive.database import (
    DatabaseError,
    create_archive_engine,
    database_url,
    open_read_only,
)
from archive.search import Filters, SearchError, search, search_stories
from archive.spool import SUFFIX as SPOOL_SUFFIX
from archive.spool import recover, spool_dir
from archive.writer import Archive


def open_archive(settings: BaseSettings) -> Engine:
    """The archive's engine, read-only (archive.database.open_read_only), so that the
    commands that only read work on read-only media and never take the write lock. The
    spools earlier runs left through a database outage (archive.spool) are stored
    first, when their folder can be written, so that the answer includes them. If the
    archive is unusable, one line on stderr and exit status 2."""
    url = database_url(settings.get("DATABASE_URL"))
    engine = writer = None
    notes: list[str] = []
    try:
        engine = open_read_only(url)
        spools = spool_dir(settings)
        if any(spools.glob(f"*{SPOOL_SUFFIX}")):
            if os.access(spools, os.W_OK):  # stored spools are deleted
                writer = create_archive_engine(url)
                notes = recover(Archive(writer), spools, url,
                                settings.getfloat("RUN_STALE_SECONDS", 600),
                                settings.getint("STORE_BATCH_SIZE", 200)).notes
            else:
                notes = [f"{spools} holds pages an earlier run could not store; they are "
                         "not in this answer (the folder is read-only)"]
    except DatabaseError as exc:
        if engine is not None:
            engine.dispose()
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        if writer is not None:
            writer.dispose()
    for note in notes:
        print(note, file=sys.stderr)
    return engine


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD") from None


def one_line(value: Any) -> str:
    return " ".join(str(value).split()) if value else "-"


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return ('"<query>" [--stories] [--source S] [--since D] [--until D] [--language L] '
                "[--limit N]")

    def short_desc(self) -> str:
        return "Search archived articles by words and \"quoted phrases\""

    def long_desc(self) -> str:
        return (
            "Print the articles whose title or text contains every word of the query "
            '(whole words; "quoted words" as a phrase), newest first, one per line: '
            "URL, published date, source, title, separated by tabs. With --stories, one "
            "line per story (its first published copy) and two more columns: its copies and "
            "its outlets. No match: 'no matches for ...' on stderr, exit status 1."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--source", help="only this source (name or domain)")
        parser.add_argument("--since", type=iso_date, metavar="YYYY-MM-DD",
                            help="published on or after this date")
        parser.add_argument("--until", type=iso_date, metavar="YYYY-MM-DD",
                            help="published on or before this date")
        parser.add_argument("--language", help="only this language code (hi, en, ...)")
        parser.add_argument("--stories", action="store_true",
                            help="one line per story: its first published copy, copies, outlets")
        parser.add_argument("--limit", type=int, default=50,
                            help="at most this many results (default 50, 0: all)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError('give a query: scrapy search "<query>"')
        assert self.settings is not None
        filters = Filters(opts.source, opts.since, opts.until, opts.language)
        query = " ".join(args)
        find = search_stories if opts.stories else search
        engine = open_archive(self.settings)
        try:
            with engine.connect() as connection:
                rows = find(connection, query, filters, opts.limit or None)
        except SearchError as exc:
            raise UsageError(str(exc), print_help=False) from None
        finally:
            engine.dispose()
        if not rows:
            print(f"no matches for {query}", file=sys.stderr)
            raise SystemExit(1)
        for row in rows:
            print("\t".join(one_line(value) for value in row))
