"""Pages/s of 1, 2 and 4 store processes writing into one PostgreSQL archive at once.

    python benchmarks/store_writers.py [--writers 1 2 4] [--repeat 3] \\
        [--baseline /tmp/lock_base] [--prefix lock_bench]

Several crawl processes (on several machines) may store into one PostgreSQL database;
how far their writes overlap is set by the story-index lock (``archive.stories``).
This script extracts the benchmark pages once (``benchmarks/store_cost.py``'s cache: the
WCXB corpus twice, so every story has two syndicated copies), adds unrelated articles
made from them (each line's words shuffled: the text of a real page, no copy of any),
shuffles the whole with a fixed seed, and then, for each code checkout (this one and,
with ``--baseline``, an older one, e.g. ``git worktree add /tmp/lock_base HEAD``) and
each number of writers N, writes them into a fresh database: N processes, each calling
``Archive.write`` on every N-th ``STORE_BATCH_SIZE`` batch, all started together.

Reported per run (median of the repeats): pages/s (all pages over the wall time from
start to the last writer's end), its ratio to one writer of the same code, the CPU
per page of the writers and of their PostgreSQL backends, the machine's busy cores, the
time a batch waited for and held the story lock; and whether the story grouping (the
set of article URLs of each story) equals that of one writer of this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# The writer process: runs under the checkout being measured -------------------------


def backend_cpu(pid: int) -> float:
    """CPU seconds of a process on this machine (the server is local)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def writer(code: Path, pages_file: Path, url: str, index: int, writers: int) -> None:
    """Write this writer's share of the batches once told to start; print the figures."""
    sys.path.insert(0, str(code))
    from sqlalchemy import text

    import archive.writer as archive_module
    from archive.database import open_database
    from archive.writer import Archive
    from crawler.settings import STORE_BATCH_SIZE

    pages = pickle.loads(pages_file.read_bytes())
    batches = [pages[start:start + STORE_BATCH_SIZE]
               for start in range(0, len(pages), STORE_BATCH_SIZE)][index::writers]
    archive = Archive(open_database(url))
    waits: list[float] = []
    holds: list[float] = []
    acquired = [0.0]
    lock = archive_module.lock_story_index

    def timed_lock(session: Any) -> Any:
        asked = time.perf_counter()
        result = lock(session)
        acquired[0] = time.perf_counter()
        waits.append(acquired[0] - asked)
        return result

    archive_module.lock_story_index = timed_lock  # both checkouts call it by this name
    original_write = archive._write

    def timed_write(batch: Any, run_id: Any) -> None:
        original_write(batch, run_id)
        holds.append(time.perf_counter() - acquired[0])

    archive._write = timed_write  # type: ignore[method-assign]

    def backend() -> int:
        with archive.engine.connect() as connection:
            return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    pid = backend()
    backend_before = backend_cpu(pid)
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    cpu, wall = time.process_time(), time.perf_counter()
    for batch in batches:
        archive.write(batch, None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    same = backend() == pid  # the pool kept one connection: its CPU is all of ours
    print(json.dumps({
        "pages": sum(len(batch) for batch in batches), "wall": wall, "cpu": cpu,
        "backend_cpu": backend_cpu(pid) - backend_before if same else None,
        "lock_wait": sum(waits), "lock_hold": sum(holds), "batches": len(batches),
        "tries": len(waits),
    }), flush=True)
    archive.engine.dispose()


# The orchestrator ------------------------------------------------------------------


def benchmark_pages(workdir: Path, variants: int, seed: int = 18) -> Path:
    """The pickled pages: the corpus twice (syndicated copies), plus ``variants``
    unrelated articles per page, in a fixed random order."""
    target = workdir / f"store-writers-{variants}.pickle"
    if target.exists():
        return target
    from benchmarks.corpus import copy_url, originals
    from benchmarks.store_cost import pages_to_store
    from pipelines.keys.copies import dedupe_keys

    copies = len(originals())
    pages = pages_to_store(workdir, 2 * copies)
    unrelated = []
    for number, page in enumerate(pages):
        if page.article is None:
            continue
        for variant in range(1, variants + 1):
            shuffler = random.Random(number * 100 + variant)
            lines = []
            for line in page.article["text"].splitlines():
                words = line.split()
                shuffler.shuffle(words)
                lines.append(" ".join(words))
            other = pickle.loads(pickle.dumps(page))
            other.url = copy_url(page.url, 100 + number * 10 + variant)
            other.article["url"] = other.url
            other.article["text"] = "\n".join(lines)
            other.article.update(dedupe_keys(other.article["text"]))
            unrelated.append(other)
    everything = pages + unrelated
    random.Random(seed).shuffle(everything)
    target.write_bytes(pickle.dumps(everything, pickle.HIGHEST_PROTOCOL))
    return target


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / ticks, sum(values) / ticks


def grouping(url: str) -> tuple[frozenset[frozenset[str]], list[str]]:
    """The stories as sets of article URLs, and what is wrong with them."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    problems = []
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT story_id, url FROM articles")).all()
        unlinked = sum(1 for story, _ in rows if story is None)
        if unlinked:
            problems.append(f"{unlinked} articles in no story")
        if len({row_url for _, row_url in rows}) != len(rows):
            problems.append("an article URL archived twice")
        counted = connection.execute(text("SELECT coalesce(sum(copies), 0) FROM stories"))
        if counted.scalar_one() != len(rows):
            problems.append("stories.copies does not count every article once")
    engine.dispose()
    stories: dict[int, set[str]] = {}
    for story, row_url in rows:
        stories.setdefault(story, set()).add(row_url)
    return frozenset(frozenset(urls) for urls in stories.values()), problems


def fresh_database(name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name} ENCODING 'UTF8' "
                                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def run(code: Path, pages_file: Path, writers: int, database: str) -> dict[str, Any]:
    """One run: ``writers`` processes of checkout ``code`` into a fresh database."""
    url = fresh_database(database)
    command = [sys.executable, str(Path(__file__).resolve()), "--writer", str(code),
               str(pages_file), url]
    processes = [subprocess.Popen([*command, str(index), str(writers)], cwd=code,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for index in range(writers)]
    try:
        for process in processes:
            line = process.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"a writer of {code} failed to start (said {line!r}); "
                                 "its error is above")
        busy, total = machine_busy()
        started = time.perf_counter()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [json.loads(process.stdout.readline() or "null") for process in processes]
        wall = time.perf_counter() - started
        busy, total = (now - before for now, before in zip(machine_busy(), (busy, total),
                                                             strict=True))
        for process in processes:
            process.stdin.close()
            if process.wait() != 0 or None in results:
                raise SystemExit(f"a writer of {code} failed with {writers} writers; "
                                 "its error is above")
        stories, problems = grouping(url)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        drop_database(database)
    pages = sum(result["pages"] for result in results)
    backends = [result["backend_cpu"] for result in results]
    return {
        "pages_per_s": pages / wall,
        "writer_ms": sum(r["cpu"] for r in results) / pages * 1000,
        "backend_ms": (sum(backends) / pages * 1000) if None not in backends else None,
        "cores_busy": busy / wall,
        "cores": total / wall,
        "lock_wait_s": sum(r["lock_wait"] for r in results) / sum(r["tries"] for r in results),
        "lock_hold_s": sum(r["lock_hold"] for r in results) / sum(r["batches"] for r in results),
        "retries": sum(r["tries"] - r["batches"] for r in results),
        "stories": stories,
        "problems": problems,
    }


def median(runs: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", type=int, default=2,
                        help="unrelated articles made from each extracted page")
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of the code to compare with (git worktree add)")
    parser.add_argument("--prefix", default="store_writers",
                        help="prefix of the databases created (and dropped) here")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsarchive-bench"))
    args = parser.parse_args()
    if 1 not in args.writers:
        parser.error("--writers must include 1: the ratios and groupings compare with it")
    args.workdir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    pages_file = benchmark_pages(args.workdir, args.variants)
    total = len(pickle.loads(pages_file.read_bytes()))
    print(f"{total} pages ({args.variants} unrelated articles per extracted page), "
          f"writers {args.writers}, median of {args.repeat}, {os.cpu_count()} cores")
    checkouts = {"new": REPO}
    if args.baseline:
        checkouts = {"old": args.baseline.resolve(), **checkouts}
    reference: frozenset | None = None
    for name, code in checkouts.items():
        single: float | None = None
        own: frozenset | None = None
        for writers in sorted(args.writers):
            runs = []
            for repeat in range(args.repeat):
                runs.append(run(code, pages_file, writers,
                                f"{args.prefix}_{name}_{writers}_{repeat}_{os.getpid()}"))
            own = own or runs[0]["stories"]
            reference = reference or own
            rate = median(runs, "pages_per_s")
            single = single or rate
            same = all(r["stories"] == own for r in runs)
            rates = " ".join(f"{r['pages_per_s']:.1f}" for r in runs)
            problems = sorted({p for r in runs for p in r["problems"]})
            print(f"{name} {writers} writer(s): {rate:6.1f} pages/s "
                  f"({rates}), "
                  f"x{rate / single:.2f} of 1 writer; CPU/page writers "
                  f"{median(runs, 'writer_ms'):.2f} ms + PostgreSQL backends "
                  f"{median(runs, 'backend_ms'):.2f} ms; busy cores "
                  f"{median(runs, 'cores_busy'):.2f} of {median(runs, 'cores'):.0f}; "
                  f"per batch: lock wait {median(runs, 'lock_wait_s'):.2f} s, "
                  f"held {median(runs, 'lock_hold_s'):.2f} s; retried batches "
                  f"{sum(r['retries'] for r in runs)}; {len(own)} stories; grouping "
                  f"{'equals' if same else 'DIFFERS FROM'} 1 writer's"
                  f"{'' if own == reference else ' (1 writer DIFFERS from the old code)'}"
                  f"{'; PROBLEMS: ' + ', '.join(problems) if problems else ''}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--writer"]:
        code, pages_file, url, index, writers = sys.argv[2:7]
        writer(Path(code), Path(pages_file), url, int(index), int(writers))
    else:
        main()
