"""Four store processes writing copies of the same stories into one PostgreSQL archive at
once group them exactly as one writer does.

Writers overlap most of a batch and take the story-index lock only to link stories
(``archive.writer.Archive._write``). The race is made certain, not left to timing:
the test holds ``captures`` locked, which every batch writes before it links, waits
until PostgreSQL shows all four processes waiting, then releases them together, so
that each has inserted its copies before any links a story. Without a lock around the
linking, each would miss the others' uncommitted copies and start stories of its own.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from archive import stories
from archive.database import open_database
from archive.models import Article, Capture, Source
from archive.writer import Archive
from crawler.items import Page
from tests.conftest import POSTGRES_ADMIN_URL, postgres_problem
from tests.test_stories import (
    copies,
    expected_stories,
    fresh_page,
    stories_from_copies,
    stories_table,
)

WRITERS = 4
SEEDS = range(5)
KINDS = list(copies(0))  # original, other template, trimmed, edited: four outlets


def again(page: Page) -> Page:
    """The page's text under another URL: an exact duplicate of it."""
    url = page.url + "?syndicated=again"
    return dataclasses.replace(page, url=url, article={**(page.article or {}), "url": url})


def batches(syndicated: bool) -> list[list[list[Page]]]:
    """Each writer's batches: first, its outlet's copy of every story, and
    (``syndicated``) the page the next writer archives in its own first batch, under
    another URL (the same text, at the same moment); then the first batch's pages again
    (revisits)."""
    own = [[fresh_page(*copies(n)[kind]) for n in SEEDS] for kind in KINDS]
    first = [own[w] + [again(page) for page in own[(w + 1) % WRITERS] if syndicated]
             for w in range(WRITERS)]
    return [[pages, [fresh_page(*copies(n)[KINDS[w]]) for n in SEEDS]]
            for w, pages in enumerate(first)]


def write(url: str, pages: list[list[Page]], log_batches: int | None) -> None:
    """A store process: its own engine, ``Archive.write`` per batch, as a crawl does;
    ``log_batches``: how many batches ``story_link_log`` keeps, if not the default."""
    if log_batches is not None:
        stories.LOG_BATCHES = log_batches
    archive = Archive(open_database(url))
    for batch in pages:
        archive.write(batch, None)
    archive.engine.dispose()


@pytest.fixture
def lock_databases() -> Iterator[tuple[str, str]]:
    """Two fresh databases (lock_*): one for the four writers, one for a single writer."""
    problem = postgres_problem()
    if problem:
        pytest.fail(f"PostgreSQL must answer at 127.0.0.1:5432 for this test: {problem}")
    names = [f"lock_writers_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE "
                                    "'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def archived(url: str) -> tuple[set[frozenset[str]], dict[str, int], list[str]]:
    """The stories as sets of article URLs, after checking that every article is in
    exactly one story, each URL archived once and the ``stories`` rows right; how many
    captures had each outcome; the texts archived as more than one original."""
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(Article.url, Article.story_id)).all()
        assert all(story is not None for _, story in rows), "an article is in no story"
        assert len({row_url for row_url, _ in rows}) == len(rows), "a URL archived twice"
        assert stories_table(session) == stories_from_copies(session)
        originals = session.execute(
            select(Article.content_hash, func.count()).where(Article.duplicate_of_id.is_(None))
            .group_by(Article.content_hash)).all()
        twice = sorted(digest for digest, count in originals if count > 1)
        outcomes = dict(session.execute(
            select(Capture.outcome, func.count()).group_by(Capture.outcome)).all())
    engine.dispose()
    groups: dict[int, set[str]] = defaultdict(set)
    for row_url, story in rows:
        groups[story].add(row_url)
    return {frozenset(urls) for urls in groups.values()}, outcomes, twice


def wait_for_waiters(url: str, count: int, deadline: float, writers: list) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        while connection.execute(text(
                "SELECT count(DISTINCT pid) FROM pg_locks JOIN pg_stat_activity USING (pid) "
                "WHERE NOT granted AND datname = current_database()"
        )).scalar_one() < count:
            assert all(w.exitcode is None for w in writers), "a writer ended before its batch"
            assert time.monotonic() < deadline, f"the {count} writers never all waited"
            connection.rollback()
            time.sleep(0.2)
    engine.dispose()


@pytest.mark.parametrize(("log_batches", "syndicated"), [(None, True), (0, False)],
                         ids=["log", "log-pruned"])
def test_four_store_processes_at_once_group_stories_as_one_writer_does(
    lock_databases: tuple[str, str], log_batches: int | None, syndicated: bool
) -> None:
    """Under the lock, a writer reads what the others linked meanwhile from
    ``story_link_log``. A log pruned past that point (here it keeps only the last
    batch: the third writer finds the first's gone) makes it search every bucket again;
    no writer's texts are another's there, so that each links copies, not duplicates."""
    concurrent, single = lock_databases
    work = batches(syndicated)

    one = Archive(open_database(single))
    for pages in work:
        for batch in pages:
            one.write([dataclasses.replace(page, outcome=None) for page in batch], None)
    one.engine.dispose()
    alone, alone_outcomes, _ = archived(single)
    duplicated = {url + "?syndicated=again" for url in expected_stories(SEEDS)
                  for url in url if syndicated}
    expected = {story | {url for url in duplicated if url.split("?")[0] in story}
                for story in expected_stories(SEEDS)}
    assert alone == expected

    # The schema and the outlets, before the writers start: two writers creating one
    # outlet would wait for each other, not race.
    engine = open_database(concurrent)
    with Session(engine) as session, session.begin():
        session.add_all(Source(name=name) for name in sorted({
            page.source for pages in work for batch in pages for page in batch}))
    engine.dispose()
    barrier = create_engine(concurrent)
    spawn = multiprocessing.get_context("spawn")  # no inherited connections
    with barrier.connect() as connection:
        connection.execute(text("LOCK TABLE captures IN EXCLUSIVE MODE"))
        writers = [spawn.Process(target=write, args=(concurrent, pages, log_batches))
                   for pages in work]
        for writer in writers:
            writer.start()
        wait_for_waiters(concurrent, WRITERS, time.monotonic() + 120, writers)
        connection.commit()
    barrier.dispose()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0, "a store process failed: its error is above"

    together, outcomes, twice = archived(concurrent)
    assert together == alone
    if log_batches == 0:  # the log is pruned as it grows: the last batch is left
        engine = create_engine(concurrent)
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT count(DISTINCT batch) FROM story_link_log")).scalar_one() == 1
        engine.dispose()
    assert not twice, "a text archived at once by two writers became two originals"
    assert outcomes == alone_outcomes  # as many new, duplicate and unchanged pages
