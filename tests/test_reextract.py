"""``scrapy reextract`` after an extractor upgrade: real crawls, real WARC files, real CLI.

The pages are first crawled with an "old extractor" (the real one, patched in the crawl
process to keep only the first paragraph and to sign as ``old-extractor/0.1``); then the
real, unpatched ``scrapy reextract`` runs the extractor installed now over the archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.exceptions import UsageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.commands.reextract import time_bound
from pipelines.archive import Archive
from pipelines.database import open_database
from pipelines.extraction.html_page import EXTRACTOR
from pipelines.models import Article, ArticleVersion, Source
from tests.conftest import run_scrapy
from tests.test_warc import Server, crawl_arguments, run_scrapy_after, story_routes

OLD = "old-extractor/0.1"
OLD_EXTRACTOR = f"""
import pipelines.extraction
real_extract_page = pipelines.extraction.extract_page
def old_extract_page(body, url, headers=None):
    result = real_extract_page(body, url, headers)
    result.text, result.extractor = result.text.split("\\n\\n")[0], {OLD!r}
    return result
pipelines.extraction.extract_page = old_extract_page
"""
ALPHA = ("/gz-story.html", "/copy-story.html", "/chunked-story.html")  # one is a revisit
BETA = ("/old-story",)  # redirected to /moved-story.html


def articles(database_url: str) -> dict[str, tuple]:
    """url → (text, extractor, version, source name)."""
    engine = open_database(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Article.url, Article.text, Article.extractor, Article.version, Source.name)
            .join(Source, Source.id == Article.source_id)
        ).all()
    engine.dispose()
    return {url: tuple(rest) for url, *rest in rows}


def versions(database_url: str) -> list[tuple[str, int, str, str]]:
    """(article url, version, text, extractor) of every kept earlier text."""
    engine = open_database(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Article.url, ArticleVersion.version, ArticleVersion.text,
                   ArticleVersion.extractor)
            .join(Article, Article.id == ArticleVersion.article_id)
            .order_by(Article.url)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_reextract_keeps_the_old_text_as_a_version_and_records_the_new_extractor(
    database_url: str, tmp_path: Path
) -> None:
    warc = tmp_path / "warc"
    with Server(story_routes()) as server:
        for paths, source in ((ALPHA, "alpha"), (BETA, "beta")):
            old = run_scrapy_after(OLD_EXTRACTOR, *crawl_arguments(server, warc, paths),
                                   "-a", f"source={source}", database_url=database_url)
            assert old.returncode == 0, old.stderr[-3000:]
            if source == "alpha":
                between = datetime.now(UTC)
    crawled = articles(database_url)
    alpha = {server.url + path for path in ALPHA}
    beta = {server.url + "/moved-story.html"}
    assert set(crawled) == alpha | beta
    assert all(extractor == OLD and version == 1 for _, extractor, version, _ in crawled.values())

    # What each filter selects: each article's latest capture, oldest first.
    engine = open_database(database_url)
    archive = Archive(engine)
    assert {page.url for page in archive.article_captures(source="alpha")} == alpha
    assert {page.url for page in archive.article_captures(until=between)} == alpha
    assert [page.url for page in archive.article_captures(since=between)] == [*beta]
    assert list(archive.article_captures(source="beta", until=between)) == []
    # Streamed a batch at a time, not a list: the same captures whatever the batch size.
    streamed = archive.article_captures(batch_rows=1)
    assert isinstance(streamed, Iterator) and not isinstance(streamed, list)
    whole = [(page.url, page.warc) for page in archive.article_captures()]
    assert [(page.url, page.warc) for page in streamed] == whole and len(whole) == 4
    engine.dispose()

    # Batches smaller than the selection: the spider reads them as it goes.
    first = run_scrapy("reextract", "--source", "alpha", "--until", between.isoformat(),
                       "-s", "REEXTRACT_BATCH_ROWS=2", database_url=database_url)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "3 archived captures extracted again: 3 changed" in first.stdout
    after = articles(database_url)
    for url in alpha:
        text, extractor, version, _ = after[url]
        assert (extractor, version) == (EXTRACTOR, 2)
        assert text.startswith(crawled[url][0]) and len(text) > len(crawled[url][0])
    assert after[next(iter(beta))] == crawled[next(iter(beta))]  # not selected: untouched
    assert versions(database_url) == sorted(
        (url, 1, crawled[url][0], OLD) for url in alpha
    )

    # All of it again, from the WARC files moved elsewhere: only beta's text changes now.
    moved = tmp_path / "moved"
    warc.rename(moved)
    second = run_scrapy("reextract", "-s", f"WARC_DIR={moved}", "-s", "REEXTRACT_BATCH_ROWS=1",
                        database_url=database_url)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "4 archived captures extracted again: 1 changed" in second.stdout
    assert "3 unchanged" in second.stdout
    final = articles(database_url)
    assert {url: final[url] for url in alpha} == {url: after[url] for url in alpha}
    assert final[next(iter(beta))][1:3] == (EXTRACTOR, 2)
    assert len(versions(database_url)) == 4


def test_reextract_time_bounds() -> None:
    assert time_bound("--since", "2025-06-01") == datetime(2025, 6, 1, tzinfo=UTC)
    assert time_bound("--until", "2025-06-01", day_end=True) == datetime(2025, 6, 2, tzinfo=UTC)
    assert time_bound("--until", "2025-06-01T12:00:00+05:30", day_end=True) == datetime(
        2025, 6, 1, 6, 30, tzinfo=UTC)
    assert time_bound("--until", None) is None
    with pytest.raises(UsageError, match="--since 'yesterday' is not an ISO 8601 date"):
        time_bound("--since", "yesterday")
