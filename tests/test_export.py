"""``scrapy export`` writes articles and stories as JSON Lines, CSV or Parquet, streaming."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archive.writer import Archive
from crawler.commands.export import export, plain
from crawler.items import Page
from tests.conftest import REPO, SEEDS, reset_postgres, run_scrapy
from tests.test_search import BATTLE, FETCHED, SUPPORT, archive

WITH_AUTHORS = {**SUPPORT, "authors": ["आईएएनएस", "Jane Doe"]}


def test_articles_as_json_lines_on_stdout_and_csv_in_a_file(database_url: str, tmp_path) -> None:
    archive(database_url, WITH_AUTHORS, BATTLE).dispose()

    jsonl = run_scrapy("export", database_url=database_url)
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["url"] for r in records] == [SUPPORT["url"], BATTLE["url"]]
    first = records[0]
    assert (first["title"], first["text"]) == (SUPPORT["title"], SUPPORT["text"])
    assert first["authors"] == ["आईएएनएस", "Jane Doe"]
    assert first["source"] == "example"
    assert first["published_at"] == "2025-06-05T09:00:00+05:30"
    assert first["published_at_utc"] == "2025-06-05T03:30:00+00:00"

    folder = tmp_path / "export"
    folder.mkdir()
    path = folder / "articles.csv"
    to_file = run_scrapy("export", "articles", "-o", str(path), database_url=database_url)
    assert to_file.returncode == 0, to_file.stderr
    assert f"exported 2 articles to {path}" in to_file.stderr
    assert to_file.stdout == ""
    assert [p.name for p in folder.iterdir()] == ["articles.csv"]  # no .part left
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["url"] for row in rows] == [SUPPORT["url"], BATTLE["url"]]
    assert json.loads(rows[0]["authors"]) == ["आईएएनएस", "Jane Doe"]
    assert rows[0]["text"] == SUPPORT["text"]
    assert rows[0]["published_at_utc"] == first["published_at_utc"]
    assert rows[1]["description"] == ""  # None


def test_stories(database_url: str) -> None:
    copy = {**SUPPORT, "url": "https://other.test/copy", "source": "other",
            "published_at": "2025-06-05T10:00:00+05:30"}
    engine = archive(database_url, copy, WITH_AUTHORS, BATTLE)  # the copy archived first
    out = io.StringIO()
    with engine.connect() as connection:
        count = export(connection, "stories", "jsonl", out)
    engine.dispose()
    stories = {story["first_url"]: story for story in map(json.loads, out.getvalue().splitlines())}
    assert count == len(stories) == 2
    support = stories[SUPPORT["url"]]  # the first published copy represents the story
    assert (support["first_source"], support["copies"], support["outlets"]) == ("example", 2, 2)
    assert support["first_published_at"] == SUPPORT["published_at"]
    assert support["first_seen_at"] == "2025-06-06T12:00:00+00:00"
    assert stories[BATTLE["url"]]["copies"] == 1


# ``python -m scrapy export`` that reports its peak resident memory (VmHWM) at exit.
# Not ru_maxrss: across fork and exec that includes the parent's (the test's) peak.
EXPORT_REPORTING_MEMORY = """
import atexit, sys
from scrapy.cmdline import execute
def report():
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM:")), file=sys.stderr)
atexit.register(report)
execute(["scrapy", "export", "-s", "EXPORT_BATCH_ROWS=2"])
"""


def peak_memory_of_export(database_url: str) -> int:
    """Peak resident memory (KiB) of a real ``scrapy export`` of all articles."""
    run = subprocess.run(
        [sys.executable, "-c", EXPORT_REPORTING_MEMORY], cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return int(re.search(r"VmHWM:\s*(\d+) kB", run.stderr).group(1))  # type: ignore[union-attr]


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    reset_postgres(postgres_database)
    return postgres_database


def test_export_memory_does_not_grow_with_the_archive(postgres_url: str) -> None:
    """PostgreSQL only: SQLite's cursor reads rows lazily whatever the options, while
    psycopg holds a whole result in memory unless it comes from a server-side cursor."""
    engine = archive(postgres_url, SUPPORT)
    small = peak_memory_of_export(postgres_url)

    # The bulk goes in the description, which is exported but not indexed: the test
    # is about reading, and indexing 20 MB would take long.
    size, pages = 0, []
    for n in range(100):
        description = f"article {n} " + "some words of a long article description " * 5000
        size += len(description)
        page = Page(url=f"https://example.in/long/{n}", fetched_at=FETCHED, source="example")
        page.article = {"url": page.url, "text": f"article {n}", "description": description,
                        "content_hash": hashlib.sha256(description.encode()).hexdigest()}
        pages.append(page)
    Archive(engine).write(pages, None)
    engine.dispose()
    large = peak_memory_of_export(postgres_url)

    assert size > 20_000_000
    # Two rows in flight are 0.4 MB; holding the result would take over 20 MB more.
    assert large - small < size / 1024 / 4, (small, large)


def test_demo_archive_as_parquet_holds_the_json_lines_rows(database_url: str, tmp_path) -> None:
    replay = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", database_url=database_url)
    assert replay.returncode == 0, replay.stderr
    jsonl = run_scrapy("export", database_url=database_url)
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]

    path = tmp_path / "stories.parquet"  # two row groups per file at EXPORT_BATCH_ROWS=3
    run = run_scrapy("export", "-o", str(path), "-s", "EXPORT_BATCH_ROWS=3",
                     database_url=database_url)
    assert run.returncode == 0, run.stderr
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 2
    assert parquet.schema_arrow.field("authors").type == pa.list_(pa.string())
    assert parquet.schema_arrow.field("published_at_utc").type == pa.timestamp("us", tz="UTC")
    rows = parquet.read().to_pylist()
    assert len(rows) == len(records) == 5
    for row, record in zip(rows, records, strict=True):
        assert {k: plain(v) for k, v in row.items()} == record
    assert any("किम जोंग" in row["text"] for row in rows)  # Hindi text as stored


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "stories.xlsx"], "cannot tell the format of 'stories.xlsx' from its suffix: name "
     "the file .jsonl, .json, .csv, .parquet, or give --format jsonl|csv|parquet"),
    (["--format", "parquet"], "parquet is written to a file, not stdout: give -o FILE.parquet"),
])
def test_a_format_that_cannot_be_written_is_refused_in_one_line(
        args: list[str], message: str, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    run = run_scrapy("export", *args, database_url=url, cwd=REPO)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f"error: {message}"]
    assert not (REPO / "stories.xlsx").exists()


# ``python -m scrapy export`` in an interpreter where pyarrow cannot be imported.
EXPORT_WITHOUT_PYARROW = """
import sys
sys.modules["pyarrow"] = None  # what "not installed" looks like to an import
from scrapy.cmdline import execute
execute(["scrapy", "export", "-o", sys.argv[1]])
"""


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path) -> None:
    path = tmp_path / "articles.parquet"
    run = subprocess.run(
        [sys.executable, "-c", EXPORT_WITHOUT_PYARROW, str(path)], cwd=REPO,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'archive.sqlite'}"},
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert len(run.stderr.splitlines()) == 1
    assert "pip install pyarrow" in run.stderr
    assert list(tmp_path.iterdir()) == []  # no archive created, no file written
