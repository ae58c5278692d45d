"""Shared fixtures: a real archive database on SQLite and on PostgreSQL.

Tests that take ``database_url`` run once per database. PostgreSQL must answer at
127.0.0.1:5432 (trust auth, user postgres) when ``CI=true``; elsewhere its tests are
skipped with the reason. Each test session creates its own PostgreSQL database (UTF-8
ctype, as the full-text search needs) and drops it at the end.
"""

from __future__ import annotations

import ast
import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, text

from archive.database import create_archive_engine

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
CORPUS = REPO.parent / "shared" / "corpus" / "wcxb-articles"


@pytest.fixture(scope="session")
def wcxb_corpus() -> Path:
    """The real-page corpus with ground truth; CI must have it, elsewhere its tests skip."""
    if not (CORPUS / "ground-truth").is_dir():
        message = f"the WCXB corpus is not at {CORPUS} (a checkout beside ../shared)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must test extraction on it")
        pytest.skip(message)
    return CORPUS


POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_problem() -> str | None:
    engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()
    return None


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """URL of a new PostgreSQL database (UTF-8 ctype, as the full-text search needs),
    dropped afterwards. PostgreSQL not answering fails in CI and skips elsewhere."""
    problem = postgres_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but does not answer: {problem}")
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({problem}); CI runs these")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE "
                                "'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    with fresh_postgres_database("newsarchive_test") as url:
        yield url


def reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def empty_database(request: pytest.FixtureRequest, folder: Path) -> str:
    """An empty archive database (no schema yet) of the fixture's param: an SQLite file
    in folder, or this session's PostgreSQL database, emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'archive.sqlite'}"
    url = request.getfixturevalue("postgres_database")
    reset_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty archive database (no schema yet), once on each database."""
    return empty_database(request, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the empty database (schema not created: see open_database)."""
    engine = create_archive_engine(database_url)
    yield engine
    engine.dispose()


def run_scrapy(
    *args: str, database_url: str, cwd: Path = REPO, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real ``scrapy`` command line of this project in a subprocess.

    Unless the test names a WARC_DIR, WARC files go to a fresh temporary folder, never
    into the repository (the default beside a PostgreSQL archive is ``./warc``).
    """
    environment = {**os.environ, "DATABASE_URL": database_url, **env}
    if not any(arg.startswith("WARC_DIR=") for arg in args):
        args = (*args, "-s", f"WARC_DIR={tempfile.mkdtemp(prefix='newsarchive-warc-')}")
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def loaded_modules(setup: str, packages: tuple[str, ...]) -> list[str]:
    """Which of ``packages`` a fresh interpreter holds after running ``setup``: what a
    process of the crawl carries in memory."""
    code = f"{setup}\nimport sys\nprint([p for p in {packages!r} if p in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return ast.literal_eval(out.strip())


REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the Redis a fleet's tests share (db 0; each test keeps to its own key
    prefix). Required in CI; elsewhere its tests are skipped with the reason."""
    problem = redis_problem(REDIS_TEST_URL)
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI but does not answer at {REDIS_TEST_URL}: "
                        f"{problem}")
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL} ({problem}); CI runs these")
    return REDIS_TEST_URL


@pytest.fixture
def fleet_prefix(redis_url: str) -> Iterator[str]:
    """This test's own Redis key prefix (FLEET_PREFIX) on the shared server, its keys
    deleted afterwards: some (the fleet's WARC digests) have no expiry."""
    name = f"test-fleet-{uuid.uuid4().hex[:10]}"
    yield name
    server = redis.Redis.from_url(redis_url)
    for key in server.scan_iter(f"{name}:*"):
        server.delete(key)
