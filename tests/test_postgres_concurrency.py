"""Two crawls writing to one PostgreSQL database at once: one schema upgrade, and never
a duplicate source or article.

Races are made certain, not left to timing: the test holds a lock that the first writer
needs, waits until PostgreSQL shows both crawl processes waiting (for that lock, or one
for the other), then releases it, so both write at the same moment.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from archive.database import MIGRATION_LOCK_KEY, open_database
from archive.models import Source
from tests.conftest import SEEDS, reset_postgres, run_scrapy

PAGES = len(list(SEEDS.glob("*.txt")))
WAITERS = """
SELECT count(*) FROM pg_locks
WHERE NOT granted AND (
    database = (SELECT oid FROM pg_database WHERE datname = current_database())
    -- a wait for another transaction's row (its new source, say) names no database
    OR locktype = 'transactionid')
"""


def crawl(database_url: str) -> subprocess.CompletedProcess[str]:
    return run_scrapy(
        "crawl", "replay", "-a", f"path={SEEDS}", "-s", "EXTRACT_WORKERS=0",
        "-s", "LOG_LEVEL=WARNING", database_url=database_url,
    )


def two_crawls_racing_for(database_url: str, lock: str) -> None:
    """Run two crawls while this connection holds lock (SQL); release once both wait."""
    engine = create_engine(database_url)
    with ThreadPoolExecutor(2) as pool, engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text(lock))
        runs: list[Future] = [pool.submit(crawl, database_url) for _ in range(2)]
        deadline = time.monotonic() + 180
        while connection.execute(text(WAITERS)).scalar() < 2:
            finished = [run.result() for run in runs if run.done()]
            assert not finished, f"a crawl ended without waiting: {finished[0].stderr}"
            assert time.monotonic() < deadline, "the crawls never both waited"
            time.sleep(0.2)
        transaction.commit()
        results = [run.result() for run in runs]
    engine.dispose()
    for result in results:
        assert result.returncode == 0, result.stderr


def assert_archived_once(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        def counts(sql: str) -> tuple:
            return tuple(connection.execute(text(sql)).one())

        # "seeds", and "The Printlines" that seeds/manifest.jsonl names for one seed.
        assert counts("SELECT count(*), count(DISTINCT name) FROM sources") == (2, 2)
        assert counts("SELECT count(*), count(DISTINCT url) FROM articles") == (PAGES, PAGES)
        assert counts("SELECT count(*) FROM alembic_version") == (1,)
        outcomes = connection.execute(text("SELECT outcome FROM captures")).scalars()
        # Each article new for one crawl, already archived for the other.
        assert Counter(outcomes) == {"new": PAGES, "unchanged": PAGES}
    engine.dispose()


def test_two_crawls_starting_on_a_fresh_database_upgrade_it_once(postgres_database: str) -> None:
    reset_postgres(postgres_database)
    two_crawls_racing_for(postgres_database, f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    assert_archived_once(postgres_database)


@pytest.mark.parametrize("source_exists", [False, True], ids=["new-source", "known-source"])
def test_two_crawls_archiving_the_same_pages_at_once(
    postgres_database: str, source_exists: bool
) -> None:
    """Both crawls reach their first write before either commits: the story-index lock
    (``archive.stories``) is taken only once a batch's articles are in, so they collide
    on the new source, or on the articles of a known one. Either way: both runs
    succeed, nothing is archived twice."""
    reset_postgres(postgres_database)
    engine = open_database(postgres_database)
    if source_exists:
        with Session(engine) as session, session.begin():
            session.add(Source(name=SEEDS.name))
    engine.dispose()
    two_crawls_racing_for(postgres_database, "LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE")
    assert_archived_once(postgres_database)
