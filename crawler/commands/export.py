"""``scrapy export``: archived articles or stories as JSON Lines, CSV or Parquet.

Rows stream from the database in batches (a server-side cursor on PostgreSQL) and are
written as they come (Parquet: one row group a batch), so memory stays flat however
large the archive. A file is written under a ``.part`` name and renamed when complete:
an interrupted export never leaves a file that looks finished.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any, ClassVar, NamedTuple, Protocol

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Integer,
    Row,
    Select,
    TypeDecorator,
    select,
)
from sqlalchemy.types import TypeEngine

from archive.models import Article, Source, Story
from crawler.commands.search import open_archive

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
    # Every column but first_published_at_utc (the same instant as first_published_at).
    "stories": select(*(c for c in Story.__table__.c if c.name != "first_published_at_utc"))
    .order_by(Story.story_id),
}


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def csv_cell(value: Any) -> Any:
    """Lists and mappings (authors) as JSON, so a cell never needs another parser."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else plain(value)


class Writer(Protocol):
    def __call__(self, rows: Iterable[Row], columns: Sequence[Any], out: IO[Any],
                 batch_rows: int) -> int: ...


def write_jsonl(rows: Iterable[Row], columns: Sequence[Any], out: IO[Any],
                batch_rows: int) -> int:
    fields = [c.name for c in columns]
    count = 0
    for row in rows:
        record = dict(zip(fields, map(plain, row), strict=True))
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[Row], columns: Sequence[Any], out: IO[Any],
              batch_rows: int) -> int:
    writer = csv.writer(out)
    writer.writerow([c.name for c in columns])
    count = 0
    for row in rows:
        writer.writerow(map(csv_cell, row))
        count += 1
    return count


def arrow_type(sql_type: TypeEngine[Any]) -> Any:
    """The Parquet column type of an exported SQL column: timestamps stay timestamps
    (UTC) and JSON lists (authors) stay lists, so readers need no parsing."""
    import pyarrow as pa

    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, JSON):
        return pa.list_(pa.string())
    return pa.string()


def write_parquet(rows: Iterable[Row], columns: Sequence[Any], out: IO[Any],
                  batch_rows: int) -> int:
    """One row group per batch of rows: only one batch is ever held in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c.name, arrow_type(c.type)) for c in columns])
    rows = iter(rows)
    count = 0
    with pq.ParquetWriter(out, schema) as writer:
        while batch := list(islice(rows, batch_rows)):
            data = [list(values) for values in zip(*batch, strict=True)]
            writer.write_batch(pa.RecordBatch.from_arrays(data, schema=schema))
            count += len(batch)
    return count


class Format(NamedTuple):
    write: Writer
    suffixes: tuple[str, ...]
    binary: bool = False


FORMATS = {
    "jsonl": Format(write_jsonl, (".jsonl", ".json")),
    "csv": Format(write_csv, (".csv",)),
    "parquet": Format(write_parquet, (".parquet",), binary=True),
}


def format_of(output: str, chosen: str | None) -> str:
    """The format to write: --format, else the file's suffix; JSON Lines on stdout.

    A suffix no format has is refused rather than guessed: a ``.parquet`` file holding
    JSON lines breaks every reader that opens it."""
    if chosen or output == "-":
        return chosen or "jsonl"
    suffix = Path(output).suffix.lower()
    found = next((name for name, f in FORMATS.items() if suffix in f.suffixes), None)
    if found is None:
        known = ", ".join(s for f in FORMATS.values() for s in f.suffixes)
        fail(f"cannot tell the format of {output!r} from its suffix: name the file "
             f"{known}, or give --format {'|'.join(FORMATS)}")
    return found


def fail(message: str) -> None:
    """A user's mistake: one line on stderr, exit status 2, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def export(
    connection: Connection, what: str, fmt: str, out: IO[Any], batch_rows: int = BATCH_ROWS
) -> int:
    """Write every row of an export to out (binary for Parquet); the rows written."""
    statement = EXPORTS[what]
    result = connection.execution_options(yield_per=batch_rows).execute(statement)
    return FORMATS[fmt].write(result, list(statement.selected_columns), out, batch_rows)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[articles|stories] [-o FILE] [--format jsonl|csv|parquet]"

    def short_desc(self) -> str:
        return "Export archived articles or stories as JSON Lines, CSV or Parquet"

    def long_desc(self) -> str:
        return (
            "Write every archived article (default) or story to FILE or to stdout: one "
            "JSON object a line, one CSV row each, or a Parquet table (needs pyarrow). The "
            "format comes from --format, else from FILE's suffix (.jsonl, .json, .csv, "
            ".parquet; another suffix is refused); stdout gets JSON Lines."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", default="-",
                            help="file to write (default -: stdout)")
        parser.add_argument("--format", choices=list(FORMATS), help="jsonl, csv or parquet")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        what = args[0] if args else "articles"
        if len(args) > 1 or what not in EXPORTS:
            raise UsageError(f"export what? give one of: {', '.join(EXPORTS)}")
        fmt = format_of(opts.output, opts.format)
        if FORMATS[fmt].binary:
            self.check_binary_output(fmt, opts.output)
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
    def check_binary_output(fmt: str, output: str) -> None:
        """Before the archive is opened: Parquet needs pyarrow, and a file."""
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            fail(f"writing {fmt} needs pyarrow, which is not installed: pip install pyarrow "
                 "(or pip install 'newsarchive[parquet]')")
        if output == "-":
            fail(f"{fmt} is written to a file, not stdout: give -o FILE.{fmt}")

    @staticmethod
    def export_to_file(
        connection: Connection, what: str, fmt: str, path: Path, batch_rows: int
    ) -> int:
        mode = "wb" if FORMATS[fmt].binary else "w"
        text = {} if FORMATS[fmt].binary else {"encoding": "utf-8", "newline": ""}
        if path.exists() and not path.is_file():  # /dev/stdout, a named pipe
            with path.open(mode, **text) as out:
                return export(connection, what, fmt, out, batch_rows)
        part = path.with_name(path.name + ".part")
        try:
            with part.open(mode, **text) as out:
                count = export(connection, what, fmt, out, batch_rows)
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return count
