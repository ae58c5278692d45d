"""A replay split between fleet workers (REDIS_URL): pages/s and CPU per page, 1 vs 2.

    python benchmarks/fleet_replay.py --pages 800 --repeat 3 [--workers 1 2]
        [--extract-workers N]

The same folder of corpus pages (with its manifest) is replayed into a fresh PostgreSQL
archive by one process without Redis (the baseline), then by 1 and 2 fleet workers
started together; each figure is the median of the repeats. On a 2-core machine
extraction is CPU bound, so 2 local workers cannot be twice as fast as 1: the figure
that matters is the CPU per page of the whole process tree (all workers, their
extraction processes), which shows what splitting the work costs. Every run must
archive every page exactly once, or the script stops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.database import open_database
from archive.models import Capture
from benchmarks.corpus import write_replay_folder
from benchmarks.measure import become_subreaper, cpu_of_children, machine_notes, reap_orphans
from tests.conftest import POSTGRES_ADMIN_URL, REPO, reset_postgres


def run(folder: Path, database: str, workers: int, redis_url: str | None, workdir: Path,
        unit_files: int, extract_workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) of one replay by ``workers``."""
    reset_postgres(database)
    prefix = f"test-units-bench-{uuid.uuid4().hex[:8]}"
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    environment["DATABASE_URL"] = database
    if redis_url:
        environment["REDIS_URL"] = redis_url
    command = [sys.executable, "-m", "scrapy", "crawl", "replay", "-a", f"path={folder}",
               "-s", f"FLEET_PREFIX={prefix}", "-s", f"REPLAY_UNIT_FILES={unit_files}",
               "-s", f"WARC_DIR={workdir / 'warc'}", "-s", "LOG_LEVEL=INFO",
               "-s", f"EXTRACT_WORKERS={extract_workers}"]
    reap_orphans(0)
    cpu_before = cpu_of_children()
    started = time.monotonic()
    logs = [(workdir / f"worker-{n}.log").open("wb") for n in range(workers)]
    processes = [subprocess.Popen(command, cwd=REPO, env=environment, stdout=log,
                                  stderr=subprocess.STDOUT) for log in logs]
    codes = [process.wait() for process in processes]
    wall = time.monotonic() - started
    reap_orphans(30)
    cpu = cpu_of_children() - cpu_before
    for log in logs:
        log.close()
    if codes != [0] * workers:
        raise SystemExit(f"a worker failed ({codes}); see {workdir}/worker-*.log")
    engine = open_database(database)
    with engine.connect() as connection:
        captures = connection.scalar(select(func.count()).select_from(Capture))
        distinct = connection.scalar(select(func.count(func.distinct(Capture.local_path))))
    engine.dispose()
    expected = sum(1 for _ in (folder / "manifest.jsonl").open())
    if captures != expected or distinct != expected:
        raise SystemExit(f"{captures} captures of {distinct} files, not {expected} once each")
    if redis_url:
        server = redis.Redis.from_url(redis_url)
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=800)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--unit-files", type=int, default=100)
    parser.add_argument("--extract-workers", type=int, default=-1,
                        help="EXTRACT_WORKERS of each process (-1: one per core)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fleet-replay-bench"))
    args = parser.parse_args()
    become_subreaper()
    args.workdir.mkdir(parents=True, exist_ok=True)
    folder = write_replay_folder(args.workdir, args.pages)
    name = f"units_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE "
                                "'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"))
    database = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    print(machine_notes())
    print(f"{args.pages} pages, PostgreSQL archive, median of {args.repeat}")
    print(f"{'setup':<24}{'pages/s':>10}{'CPU ms/page':>14}{'wall s':>9}")
    results: dict[str, tuple[float, float]] = {}
    try:
        setups = [("alone (no REDIS_URL)", 1, None)] + [
            (f"{n} fleet worker{'s' if n > 1 else ''}", n, args.redis_url) for n in args.workers]
        for label, workers, url in setups:
            runs = [run(folder, database, workers, url, args.workdir, args.unit_files,
                        args.extract_workers) for _ in range(args.repeat)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            results[label] = (args.pages / wall, 1000 * cpu / args.pages)
            print(f"{label:<24}{results[label][0]:>10.1f}{results[label][1]:>14.1f}"
                  f"{wall:>9.1f}", flush=True)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    one, two = results.get("1 fleet worker"), results.get("2 fleet workers")
    if one and two:
        print(f"2 workers / 1 worker: {two[0] / one[0]:.2f}x pages/s, "
              f"{two[1] / one[1]:.2f}x CPU per page")


if __name__ == "__main__":
    main()
