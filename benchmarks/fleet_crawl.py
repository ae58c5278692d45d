"""Crawl workers of one fleet: pages stored per second with 1, 2 and 4 workers.

    python benchmarks/fleet_crawl.py --workers 0 1 2 4 --outlets 24 --articles 40 --repeat 3

Serves ``--outlets`` loopback outlets (``tests/fixture_site.py FleetNetwork``: half with
feeds or sitemaps, half reachable only by links; every answer delayed ``--delay``
seconds, as a real site is slow) and crawls them with N ``scrapy crawl news`` workers
sharing one cycle through Redis (``REDIS_URL``, 127.0.0.1:6379, a fresh key prefix) into
a fresh PostgreSQL database each time (``--workers 0``: one process without
``REDIS_URL``, the lone crawl, as the baseline). The workers keep the fleet's politeness:
``CONCURRENT_REQUESTS_PER_DOMAIN`` 2 per outlet for the whole fleet; each outlet has its
own loopback address, so Scrapy keeps one download slot per outlet.

A rate is articles archived per second of the crawl's span, from the first capture to
the last (process start-up, ~5 s a worker, is reported apart: the wall time); CPU is
that of the worker processes and their extraction workers, per article. Medians over
the repetitions, and each row's ratio to the first. ``--concurrent-requests`` sets
what one worker (one machine) can hold in flight: on this 2-core host every worker
shares the same cores, so a fleet can only show its gain where a worker is limited by
something of its own, not by the CPU all of them share.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.models import Article, Capture
from tests.fixture_site import FleetNetwork

REPO = Path(__file__).resolve().parent.parent
SETTINGS = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_START_DELAY": "0", "EXTRACT_WORKERS": "1",
            "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "LOG_LEVEL": "INFO"}


def fresh_database(admin_url: str) -> str:
    name = f"bench_fleet_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
    admin.dispose()


def crawl(network: FleetNetwork, workers: int, admin_url: str, redis_url: str,
          folder: Path, concurrency: int) -> dict[str, float]:
    database = fresh_database(admin_url)
    sources = folder / "sources.toml"
    sources.write_text(network.sources_toml(), encoding="utf-8")
    settings = {**SETTINGS, "FLEET_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
                "CONCURRENT_REQUESTS": str(concurrency)}
    arguments = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    env = {**os.environ, "DATABASE_URL": database, "REDIS_URL": redis_url}
    if workers == 0:  # the lone crawl
        del env["REDIS_URL"]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"sources={sources}",
         *arguments, "-s", f"WARC_DIR={tempfile.mkdtemp(prefix='bench-warc-', dir=folder)}"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL,
        stderr=(folder / f"worker-{workers}-{n}.log").open("wb")) for n in range(max(1, workers))]
    codes = [process.wait() for process in processes]
    wall = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if any(codes):
        raise SystemExit(f"a worker failed (exit {codes}); see {folder}/worker-*.log")
    engine = create_engine(database)
    with Session(engine) as session:
        articles = session.scalar(select(func.count()).select_from(Article)) or 0
        first, last = session.execute(
            select(func.min(Capture.fetched_at), func.max(Capture.fetched_at))).one()
    engine.dispose()
    drop_database(admin_url, database)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    span = (last - first).total_seconds()
    return {"articles": articles, "span": span, "wall": wall, "rate": articles / span,
            "cpu_ms": 1000 * cpu / articles}


def label(workers: int) -> str:
    return "alone (no REDIS_URL)" if workers == 0 else f"{workers} fleet worker(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4],
                        help="0: one process without REDIS_URL (the lone crawl)")
    parser.add_argument("--outlets", type=int, default=24)
    parser.add_argument("--articles", type=int, default=40, help="per outlet")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--concurrent-requests", type=int, default=32,
                        help="CONCURRENT_REQUESTS of each worker: what one machine can hold")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="an existing database; fresh ones are created beside it")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    results: dict[int, list[dict[str, float]]] = {n: [] for n in args.workers}
    with FleetNetwork(args.articles, args.delay, args.outlets) as network, \
            tempfile.TemporaryDirectory(prefix="bench-fleet-") as folder:
        for repeat in range(args.repeat):
            for workers in args.workers:  # interleaved: drift hits every N alike
                result = crawl(network, workers, args.database_url, args.redis_url,
                               Path(folder), args.concurrent_requests)
                network.clear_logs()
                results[workers].append(result)
                print(f"repeat {repeat + 1}, {label(workers)}: {result['articles']:.0f} "
                      f"articles in {result['span']:.1f} s ({result['rate']:.1f}/s), "
                      f"wall {result['wall']:.1f} s, CPU {result['cpu_ms']:.0f} ms/article",
                      flush=True)
    base = statistics.median(r["rate"] for r in results[args.workers[0]])
    print(f"\n{args.outlets} outlets x {args.articles} articles, {args.delay:g} s per answer, "
          f"CONCURRENT_REQUESTS {args.concurrent_requests} a worker, median of {args.repeat}")
    print(f"| workers | articles/s | ratio to {label(args.workers[0])} | span (s) | wall (s) "
          "| CPU ms/article |")
    print("|---:|---:|---:|---:|---:|---:|")
    for workers, runs in results.items():
        rate = statistics.median(r["rate"] for r in runs)
        print(f"| {label(workers)} | {rate:.1f} | {rate / base:.2f} | "
              f"{statistics.median(r['span'] for r in runs):.1f} | "
              f"{statistics.median(r['wall'] for r in runs):.1f} | "
              f"{statistics.median(r['cpu_ms'] for r in runs):.0f} |")


if __name__ == "__main__":
    main()
