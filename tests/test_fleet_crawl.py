"""Many crawl workers, one crawl: ``scrapy crawl news`` with ``REDIS_URL``.

Real worker processes share one cycle through the real Redis (127.0.0.1:6379, under a
key prefix of their own) into one real PostgreSQL archive, crawling the six loopback
outlets of :class:`tests.fixture_site.FleetNetwork` (three reachable only by links).
A worker is killed with SIGKILL mid-cycle; a private Redis is killed and started again.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from archive.models import Article, Capture, CrawlRun
from pipelines.keys.urls import canonical_url
from tests.conftest import REPO, fresh_postgres_database, redis_problem
from tests.fixture_site import FleetNetwork, unused_port

PER_OUTLET = 2  # CONCURRENT_REQUESTS_PER_DOMAIN, for each worker and for the fleet
SETTINGS = {
    "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_START_DELAY": "0", "EXTRACT_WORKERS": "1",
    "CONCURRENT_REQUESTS_PER_DOMAIN": str(PER_OUTLET), "FLEET_LEASE_SECONDS": "3",
    "STORE_FLUSH_SECONDS": "1", "LOG_LEVEL": "INFO",
}


@pytest.fixture
def archive() -> Iterator[str]:
    """A fresh PostgreSQL database: the fleet's one archive."""
    with fresh_postgres_database("fleet") as url:
        yield url


@pytest.fixture
def network() -> Iterator[FleetNetwork]:
    with FleetNetwork(articles=12, delay=0.4) as started:
        yield started


class Fleet:
    """Worker processes started like a systemd unit would: same command, same sources."""

    def __init__(self, network: FleetNetwork, database: str, redis_url: str, folder: Path,
                 prefix: str):
        self.network = network
        self.database = database
        self.redis_url = redis_url
        self.prefix = prefix
        self.folder = folder
        self.sources = folder / "sources.toml"
        self.sources.write_text(network.sources_toml(), encoding="utf-8")
        self.logs: list[Path] = []

    def start(self, workers: int) -> list[subprocess.Popen[bytes]]:
        settings = {**SETTINGS, "FLEET_PREFIX": self.prefix}
        processes = []
        for _ in range(workers):
            log = self.folder / f"worker-{len(self.logs)}.log"
            self.logs.append(log)
            arguments = [arg for name, value in settings.items()
                         for arg in ("-s", f"{name}={value}")]
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"sources={self.sources}",
                 *arguments, "-s", f"WARC_DIR={tempfile.mkdtemp(prefix='fleet-warc-')}"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                env={**os.environ, "DATABASE_URL": self.database, "REDIS_URL": self.redis_url}))
        return processes

    def lease_holders(self) -> set[int]:
        """Process ids of the workers holding an outlet's lease now."""
        server = redis.Redis.from_url(self.redis_url)
        holders = {server.get(key) for key in server.scan_iter(f"{self.prefix}:*:lease:*")}
        return {int(holder.decode().rsplit(":", 1)[1]) for holder in holders if holder}

    def wait_for_articles(self, count: int, also: Callable[[], object] = lambda: True) -> None:
        """Until the outlets have served ``count`` article pages (and ``also()`` holds)."""
        deadline = time.monotonic() + 120
        while sum(self.article_fetches().values()) < count or not also():
            assert time.monotonic() < deadline, "the fleet fetched no articles in two minutes"
            time.sleep(0.1)

    def article_fetches(self) -> Counter[str]:
        return Counter(site.link(r.path) for site in self.network.sites.values()
                       for r in site.requests() if r.path.startswith("/news/"))

    def page_fetches(self) -> Counter[tuple[str, str]]:
        """Every page but robots.txt, which Scrapy's robots.txt middleware fetches once
        in each worker that crawls the outlet."""
        return Counter((name, r.path) for name, site in self.network.sites.items()
                       for r in site.requests() if r.path != "/robots.txt")

    def log(self, number: int) -> str:
        return self.logs[number].read_text(errors="replace")


def wait(processes: list[subprocess.Popen[bytes]], seconds: float = 240) -> list[int]:
    deadline = time.monotonic() + seconds
    return [process.wait(timeout=max(1.0, deadline - time.monotonic())) for process in processes]


def archived_urls(database: str) -> Counter[str]:
    engine = create_engine(database)
    with Session(engine) as session:
        urls = Counter(session.scalars(select(Article.url)))
    engine.dispose()
    return urls


def readme_cycles_query(database: str) -> list[Any]:
    """Run README.md's query of the fleet's cycles, as printed there."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    query = re.search(r"```sql\n(-- The fleet's cycles.*?)```", readme, re.S)
    assert query, "README.md has no query of the fleet's cycles"
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = list(connection.execute(text(query.group(1))))
    engine.dispose()
    return rows


def expected_articles(network: FleetNetwork) -> set[str]:
    return {canonical_url(network.site(name).link(path))
            for name, paths in network.articles.items() for path in paths}


def test_three_workers_one_killed_archive_every_article_once_and_stay_polite(
    redis_url: str, fleet_prefix: str, archive: str, network: FleetNetwork, tmp_path: Path
) -> None:
    fleet = Fleet(network, archive, redis_url, tmp_path, fleet_prefix)
    workers = fleet.start(3)
    fleet.wait_for_articles(12, also=fleet.lease_holders)
    victim = next(w for w in workers if w.pid in fleet.lease_holders())
    victim.send_signal(signal.SIGKILL)
    survivors = [w for w in workers if w is not victim]
    codes = wait(survivors)
    assert victim.wait() == -signal.SIGKILL

    assert codes == [0, 0], [fleet.log(workers.index(w))[-3000:] for w in survivors]
    expected = expected_articles(network)
    archived = archived_urls(archive)
    assert set(archived) == expected  # every article of the six outlets, links-only too
    assert max(archived.values()) == 1
    fetched = fleet.page_fetches()
    assert max(fetched.values()) <= 2, [page for page, n in fetched.items() if n > 2]
    # One worker per outlet at a time: the fleet never went past the per-outlet limit.
    assert {name: site.most_active for name, site in network.sites.items()} == {
        name: min(site.most_active, PER_OUTLET) for name, site in network.sites.items()}
    # The victim held outlets and claims: a survivor took them over after the lease.
    survivor_logs = "".join(fleet.log(workers.index(w)) for w in survivors)
    assert "took over outlet" in survivor_logs
    engine = create_engine(archive)
    with Session(engine) as session:
        stories = session.scalar(select(func.count(func.distinct(Article.story_id))))
        runs = session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)).all()
    engine.dispose()
    assert stories == len(expected)  # distinct texts: one story each, none split or merged
    assert runs.count("finished") == 2
    # README's query of the fleet's cycles: the survivors' runs (the victim never
    # recorded its stats), and the requests they took over from it.
    [cycle] = readme_cycles_query(archive)
    assert (cycle.cycle, cycle.workers) == ("1", 2) and cycle.taken_over >= 1

    # The next cycle, two workers: listings again, no article fetched again.
    network.clear_logs()
    assert wait(fleet.start(2)) == [0, 0]
    assert not fleet.article_fetches()
    assert fleet.page_fetches()[("outlet3", "/")] == 1  # listings: once per cycle
    assert archived_urls(archive) == archived


def test_a_worker_started_late_joins_the_running_cycle_and_shares_it(
    redis_url: str, fleet_prefix: str, archive: str, tmp_path: Path
) -> None:
    """The first worker holds every outlet; one started later joins its cycle, and the
    first gives outlets back, drained, until each holds its share."""
    with FleetNetwork(articles=40, delay=0.5) as network:
        fleet = Fleet(network, archive, redis_url, tmp_path, fleet_prefix)
        first = fleet.start(1)
        fleet.wait_for_articles(12)
        late = fleet.start(1)
        assert wait(first + late) == [0, 0], fleet.log(1)[-3000:]
        assert "joined cycle 1" in fleet.log(1)
        assert "giving outlet" in fleet.log(0)
        claimed = re.search(r"'fleet/claimed': (\d+)", fleet.log(1))
        assert claimed and int(claimed.group(1)) > 0  # the late worker fetched its share
        archived = archived_urls(archive)
        assert set(archived) == expected_articles(network)
        assert max(archived.values()) == 1
        assert max(fleet.page_fetches().values()) == 1  # handed over, not fetched again
        assert max(site.most_active for site in network.sites.values()) <= PER_OUTLET


def test_a_redis_restart_mid_cycle_loses_nothing(
    archive: str, network: FleetNetwork, tmp_path: Path
) -> None:
    """Redis keeps nothing on disk here: restarted, it has forgotten the cycle. The workers
    ride out the outage, start a new cycle, and archive every article once."""
    if shutil.which("redis-server") is None:
        message = "this test starts a Redis of its own: redis-server is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = unused_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        while redis_problem(url):
            time.sleep(0.05)
        # a server of its own, gone with the test: its keys need no cleaning
        fleet = Fleet(network, archive, url, tmp_path, f"test-fleet-{uuid.uuid4().hex[:8]}")
        workers = fleet.start(2)
        fleet.wait_for_articles(12)
        server.send_signal(signal.SIGKILL)
        server.wait()
        time.sleep(2)
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        codes = wait(workers)
        logs = fleet.log(0) + fleet.log(1)
        assert codes == [0, 0], logs[-3000:]
        assert "Redis does not answer" in logs and "Redis no longer knows cycle 1" in logs
        archived = archived_urls(archive)
        assert set(archived) == expected_articles(network)
        assert max(archived.values()) == 1
        engine = create_engine(archive)
        with Session(engine) as session:  # fetched twice at most: after the restart
            captures = Counter(session.scalars(select(Capture.url).where(
                Capture.article_id.is_not(None))))
        engine.dispose()
        assert max(captures.values()) <= 2
    finally:
        server.kill()
        server.wait()


def test_a_redis_that_does_not_answer_is_one_line_and_exit_2(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "One"\nhomepage = "http://127.0.0.1:9/"\n')
    url = f"redis://127.0.0.1:{unused_port()}/0"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"sources={sources}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "REDIS_URL": url,
             "DATABASE_URL": f"sqlite:///{tmp_path / 'archive.sqlite'}"})
    assert result.returncode == 2
    assert f"error: cannot reach Redis at {url}" in result.stderr
    assert "Traceback" not in result.stderr
