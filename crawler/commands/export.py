"""``scrapy export``: archived articles or stories as JSON Lines or CSV.

Rows stream from the database in batches (a server-side cursor on PostgreSQL) and are
written as they come, so memory stays flat however large the archive. A file is
written under a ``.part`` name and renamed when complete: an interrupted export never
leaves a file that looks finished.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TextIO

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy import Connection, Integer, Select, Text, column, select, table

from crawler.commands.search import open_archive
from pipelines.models import Article, Source, UTCDateTime

# Rows fetched from the database at a time (setting EXPORT_BATCH_ROWS): memory use is
# about this many rows, whatever the archive's size.
BATCH_ROWS = 500

EXPORTS: dict[str, Select] = {
    "articles": select(
        Article.id,
        Article.url,
        Source.name.label("source"),
        Article.title,
        Article.text,
        Article.authors,
        Article.published_at,
        Article.published_at_utc,
        Article.language,
        Article.description,
        Article.wire_agency,
        Article.story_id,
        Article.duplicate_of_id,
        Article.version,
        Article.first_seen_at,
        Article.last_seen_at,
        Article.content_hash,
        Article.extractor,
    )
    .outerjoin(Source, Source.id == Article.source_id)
    .order_by(Article.id),
    # The stories view (migration 0001): typed here, as views have no model.
    "stories": select(
        table(
            "stories",
            column("story_id", Integer),
            column("title", Text),
            column("first_article_id", Integer),
            column("first_url", Text),
            column("first_source", Text),
            column("first_published_at", Text),
            column("wire_agency", Text),
            column("copies", Integer),
            column("outlets", Integer),
            column("first_seen_at", UTCDateTime),
            column("last_seen_at", UTCDateTime),
        )
    ).order_by(column("story_id")),
}


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def jsonl_writer(out: TextIO, fields: Sequence[str]) -> Callable[[Sequence[Any]], None]:
    def write(row: Sequence[Any]) -> None:
        record = dict(zip(fields, map(plain, row), strict=True))
        out.write(json.dumps(record, ensure_ascii=False) + "\n")

    return write


def csv_cell(value: Any) -> Any:
    """Lists and mappings (authors) as JSON, so a cell never needs another parser."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else plain(value)


def csv_writer(out: TextIO, fields: Sequence[str]) -> Callable[[Sequence[Any]], None]:
    writer = csv.writer(out)
    writer.writerow(fields)
    return lambda row: writer.writerow(map(csv_cell, row))


WRITERS = {"jsonl": jsonl_writer, "csv": csv_writer}


def export(
    connection: Connection, what: str, fmt: str, out: TextIO, batch_rows: int = BATCH_ROWS
) -> int:
    """Write every row of an export to out; the number of rows written."""
    result = connection.execution_options(yield_per=batch_rows).execute(EXPORTS[what])
    write = WRITERS[fmt](out, list(result.keys()))
    count = 0
    for row in result:
        write(row)
        count += 1
    return count


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[articles|stories] [-o FILE] [--format jsonl|csv]"

    def short_desc(self) -> str:
        return "Export archived articles or stories as JSON Lines or CSV"

    def long_desc(self) -> str:
        return (
            "Write every archived article (default) or story, one per line of JSON or one "
            "CSV row each, to FILE or to stdout. The format comes from --format, else from "
            "FILE's suffix (.csv), else JSON Lines."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", default="-",
                            help="file to write (default -: stdout)")
        parser.add_argument("--format", choices=sorted(WRITERS), help="jsonl or csv")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        what = args[0] if args else "articles"
        if len(args) > 1 or what not in EXPORTS:
            raise UsageError(f"export what? give one of: {', '.join(EXPORTS)}")
        fmt = opts.format or ("csv" if opts.output.lower().endswith(".csv") else "jsonl")
        assert self.settings is not None
        batch_rows = self.settings.getint("EXPORT_BATCH_ROWS", BATCH_ROWS)
        engine = open_archive(self.settings)
        try:
            with engine.connect() as connection:
                if opts.output == "-":
                    count = export(connection, what, fmt, sys.stdout, batch_rows)
                    sys.stdout.flush()
                else:
                    path = Path(opts.output)
                    count = self.export_to_file(connection, what, fmt, path, batch_rows)
        finally:
            engine.dispose()
        print(f"exported {count} {what} to {opts.output}", file=sys.stderr)

    @staticmethod
    def export_to_file(
        connection: Connection, what: str, fmt: str, path: Path, batch_rows: int
    ) -> int:
        if path.exists() and not path.is_file():  # /dev/stdout, a named pipe
            with path.open("w", encoding="utf-8", newline="") as out:
                return export(connection, what, fmt, out, batch_rows)
        part = path.with_name(path.name + ".part")
        try:
            with part.open("w", encoding="utf-8", newline="") as out:
                count = export(connection, what, fmt, out, batch_rows)
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return count
