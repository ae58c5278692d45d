"""Batched, transactional writes: a bad page never takes a batch down with it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, Capture, Source
from archive.outage import write_pages
from archive.writer import Archive
from crawler.items import Page
from pipelines.keys.copies import content_hash


def page(url: str, text: str | None) -> Page:
    article = {"url": url, "title": "t", "text": text, "content_hash": content_hash(text or "")}
    return Page(url=url, fetched_at=datetime.now(UTC), source="s", article=article)


def table_sizes(archive: Archive) -> tuple[int, int, int]:
    with Session(archive.engine) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (Article, Capture, Source)
        )


def test_a_failing_batch_writes_nothing(database_url: str) -> None:
    archive = Archive(open_database(database_url))
    batch = [page("https://a.test/1", "first story text"), page("https://a.test/2", None)]
    try:
        archive.write(batch, None)
    except Exception:
        pass
    else:
        raise AssertionError("an article without text must not be stored")
    # No article or capture; the batch's new source is committed before it (in a short
    # transaction of its own, so that concurrent writers never wait on it for a batch).
    assert table_sizes(archive) == (0, 0, 1)
    archive.write([page("https://a.test/1", "first story text")], None)
    assert table_sizes(archive) == (1, 1, 1)
    archive.engine.dispose()


def test_store_falls_back_to_page_by_page_and_fails_only_the_bad_page(database_url: str) -> None:
    archive = Archive(open_database(database_url))
    good, bad = page("https://a.test/1", "first story text"), page("https://a.test/2", None)
    write_pages(archive, [good, bad], None)
    assert (good.outcome, good.error) == ("new", None)
    assert (bad.outcome, bad.error) == ("failed", "store-failed")
    # The bad page is still a capture: its failure, recorded.
    assert table_sizes(archive) == (1, 2, 1)
    archive.engine.dispose()
