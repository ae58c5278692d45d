"""``scrapy reextract`` after an extractor upgrade: real crawls and replays, real WARC
files and replayed files, real CLI.

The pages are first crawled or replayed with an "old extractor" (the real one, patched in
the crawl process to keep only the first paragraph and to sign as ``old-extractor/0.1``);
then the real, unpatched ``scrapy reextract`` runs the extractor installed now over the
archive.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.exceptions import UsageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, ArticleVersion, Capture, CrawlRun, Source
from archive.writer import Archive
from crawler.commands.reextract import time_bound
from pipelines.extraction.html_page import EXTRACTOR
from tests.conftest import run_scrapy
from tests.test_replay import ENGLISH_BODY, article_html
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

    # The WARC files gone altogether: each capture is counted, with its reason, not skipped.
    moved.rename(tmp_path / "gone")
    third = run_scrapy("reextract", "-s", f"WARC_DIR={moved}", database_url=database_url)
    assert third.returncode == 1, third.stderr[-3000:]  # some captures failed
    assert "0 archived captures extracted again" in third.stdout
    assert "4 could not be read again (missing-file 4)" in third.stdout
    assert articles(database_url) == final


def test_reextract_reads_replayed_files_again_and_counts_those_it_cannot(
    database_url: str, tmp_path: Path
) -> None:
    """A replayed folder, then one file deleted, one changed, one replaced by a FIFO: the
    others get the new extractor's text; each of those three is a failed capture with its
    reason, counted in the run's stats and its summary, and its article is left as it was."""
    folder = tmp_path / "pages"
    folder.mkdir()
    names = ("kept.html", "packed.html.gz", "gone.html", "changed.html", "fifo.html")
    for number, name in enumerate(names):
        html = article_html(f"Story {number}: {name}",
                            [f"Reported from desk {number} of the newsroom today.", *ENGLISH_BODY])
        (folder / name).write_bytes(gzip.compress(html) if name.endswith(".gz") else html)
    replayed = run_scrapy_after(OLD_EXTRACTOR, "crawl", "replay", "-a", f"path={folder}",
                                "-s", "EXTRACT_WORKERS=0",  # the patch is in this process
                                database_url=database_url)
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    before = articles(database_url)
    urls = {name: (folder / name).as_uri() for name in names}
    assert set(before) == set(urls.values())
    assert all(extractor == OLD and version == 1 for _, extractor, version, _ in before.values())

    (folder / "gone.html").unlink()
    (folder / "changed.html").write_bytes(article_html("Another story", ENGLISH_BODY[::-1]))
    (folder / "fifo.html").unlink()
    os.mkfifo(folder / "fifo.html")

    run = run_scrapy("reextract", database_url=database_url)
    assert run.returncode == 1, run.stderr[-3000:]  # some captures could not be read again
    assert ("2 archived captures extracted again: 2 changed (the earlier text is kept in "
            "article_versions), 0 unchanged, 0 new articles, 0 no longer articles, 0 failed; "
            "3 could not be read again (file-changed 1, missing-file 1, not-a-file 1)"
            ) in run.stdout

    after = articles(database_url)
    assert set(after) == set(before)  # nothing lost, nothing new
    for name in ("kept.html", "packed.html.gz"):
        text, extractor, version, source = after[urls[name]]
        assert (extractor, version, source) == (EXTRACTOR, 2, before[urls[name]][3])
        old_text = before[urls[name]][0]
        assert text.startswith(old_text) and len(text) > len(old_text)
    for name in ("gone.html", "changed.html", "fifo.html"):
        assert after[urls[name]] == before[urls[name]]  # not re-extracted: as archived
    assert versions(database_url) == sorted(
        (urls[name], 1, before[urls[name]][0], OLD) for name in ("kept.html", "packed.html.gz")
    )

    engine = open_database(database_url)
    with Session(engine) as session:
        last = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert last is not None and (last.spider, last.status) == ("reextract", "failed")
        captures = session.execute(
            select(Capture.local_path, Capture.outcome, Capture.error, Capture.error_detail,
                   Capture.content_hash)
            .where(Capture.crawl_run_id == last.id)
        ).all()
        reasons = {Path(path).name: error for path, _, error, _, _ in captures}
        assert reasons == {"kept.html": None, "packed.html.gz": None, "gone.html": "missing-file",
                           "changed.html": "file-changed", "fifo.html": "not-a-file"}
        for _, outcome, error, detail, digest in captures:
            if error is not None:  # stored with a sentence, and no body
                assert outcome == "failed" and digest is None
                assert str(folder) in detail and len(detail) > 60
        stats = last.stats
    engine.dispose()
    counted = ("archive/failed", "reextract/unread")
    assert {key: value for key, value in stats.items() if key.startswith(counted)} == {
        "archive/failed": 3, "archive/failed/missing-file": 1,
        "archive/failed/file-changed": 1, "archive/failed/not-a-file": 1,
        "reextract/unread": 3, "reextract/unread/missing-file": 1,
        "reextract/unread/file-changed": 1, "reextract/unread/not-a-file": 1,
    }


def test_reextract_time_bounds() -> None:
    assert time_bound("--since", "2025-06-01") == datetime(2025, 6, 1, tzinfo=UTC)
    assert time_bound("--until", "2025-06-01", day_end=True) == datetime(2025, 6, 2, tzinfo=UTC)
    assert time_bound("--until", "2025-06-01T12:00:00+05:30", day_end=True) == datetime(
        2025, 6, 1, 6, 30, tzinfo=UTC)
    assert time_bound("--until", None) is None
    with pytest.raises(UsageError, match="--since 'yesterday' is not an ISO 8601 date"):
        time_bound("--since", "yesterday")
