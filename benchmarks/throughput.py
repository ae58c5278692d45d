"""Throughput against the anchors, in one run, on the same pages.

    python benchmarks/throughput.py --pages 3000 --repeat 3 --out docs/benchmarks.md

Rows, each a real subprocess measured as a whole process tree (see ``measure.py``):

1. ``trafilatura``: ``bare_extraction(html, url=..., with_metadata=True)`` over the pages
   in one process: the baseline the ratios are taken against;
2. ``news-please``: ``NewsPlease.from_html`` in its own virtualenv (skipped, with the
   reason, when ``--newsplease-python`` does not exist);
3. ``replay``: ``scrapy crawl replay`` of the pages (``manifest.jsonl`` with their real
   URLs) into a fresh SQLite file;
4. ``live``: ``scrapy crawl news`` of the same pages served on 127.0.0.1 by
   ``tests/fixture_site.py LargeSite`` (robots.txt, sitemaps), into a fresh SQLite file;
5. ``fetch-only``: ``benchmarks/crawl_throughput.py``'s spider that only fetches the
   same URLs: the network upper bound.

Both crawls use ``crawl_throughput.DOWNLOADER`` (AutoThrottle off, 16 concurrent
requests: politeness would measure the delay, not the crawler). The fixture site runs in
this process, outside the measured tree, but on the same two cores.

Rows are interleaved (each repeat runs every row once) so that load from elsewhere on the
machine spreads over all of them; the table gives medians. The pages are the WCXB corpus
replicated to ``--pages`` distinct pages (``corpus.py``), written once under ``--workdir``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import REPO, replay_pages, write_replay_folder
from benchmarks.crawl_throughput import downloader_settings, write_sources
from benchmarks.measure import (
    Measurement,
    machine_notes,
    publish,
    run_measured,
)
from tests.fixture_site import LargeSite

# Rough rates on the 2-core reference machine, only for the time estimate printed first.
EXPECTED_PAGES_PER_SECOND = {
    "trafilatura": 12, "news-please": 3, "replay": 20, "live": 18, "fetch-only": 150,
}
NEWSPLEASE_PYTHON = Path("/tmp/np-venv/bin/python")
FETCH_ONLY_SPIDER = REPO / "benchmarks" / "crawl_throughput.py"


@dataclass
class Row:
    name: str
    what: str
    command: Callable[[int], list[str] | None]  # repeat number -> argv; None: not runnable
    env: Callable[[int], dict[str, str]] = lambda _repeat: {}
    check: Callable[[int], str] = lambda _repeat: ""  # repeat -> problem with the output
    why_not: str = ""
    runs: list[Measurement] = field(default_factory=list)


def trafilatura_only(folder: Path) -> None:
    """The baseline, run as ``throughput.py --trafilatura-only FOLDER`` in a subprocess."""
    from trafilatura import bare_extraction

    pages = with_text = 0
    for url, html in replay_pages(folder):
        document = bare_extraction(html.decode("utf-8", "replace"), url=url, with_metadata=True)
        pages += 1
        with_text += bool(document is not None and (document.text or "").strip())
    print(json.dumps({"pages": pages, "with_text": with_text}))


def stored_pages(database: Path, articles_only: bool) -> tuple[int, int]:
    """(captures, failed captures) in an archive SQLite file written by a crawl; a live
    crawl's robots.txt, sitemaps and homepage are left out with ``articles_only``."""
    where = "WHERE url LIKE '%/article/%'" if articles_only else ""
    with sqlite3.connect(database) as connection:
        total, failed = connection.execute(
            f"SELECT count(*), count(*) FILTER (WHERE outcome = 'failed') FROM captures {where}"
        ).fetchone()
    return total, failed


def rows(args: argparse.Namespace, folder: Path, site: LargeSite) -> list[Row]:
    python = sys.executable
    crawl_settings = downloader_settings("LOG_LEVEL")
    sources = write_sources(args.workdir, site.site_.url)
    urls = args.workdir / f"urls-{args.pages}.txt"
    urls.write_text("\n".join(site.urls))
    databases = args.workdir / "databases"
    databases.mkdir(parents=True, exist_ok=True)

    def fresh_database(name: str) -> Callable[[int], dict[str, str]]:
        def env(repeat: int) -> dict[str, str]:
            path = databases / f"{name}-{repeat}.sqlite"
            for leftover in path.parent.glob(f"{path.name}*"):
                leftover.unlink()
            return {"DATABASE_URL": f"sqlite:///{path}"}

        return env

    def stored_all(name: str) -> Callable[[int], str]:
        def check(repeat: int) -> str:
            total, failed = stored_pages(databases / f"{name}-{repeat}.sqlite", name == "live")
            if total != args.pages:
                return f"stored {total} captures of {args.pages} pages"
            return f"{failed} pages failed" if failed else ""

        return check

    newsplease = Path(args.newsplease_python)
    return [
        Row(
            "trafilatura",
            "`bare_extraction(html, url=..., with_metadata=True)`, one process",
            lambda _r: [python, __file__, "--trafilatura-only", str(folder)],
        ),
        Row(
            "news-please",
            "`NewsPlease.from_html(html, url=...)`, one process, own virtualenv",
            lambda _r: [str(newsplease), str(REPO / "benchmarks/newsplease_baseline.py"),
                        str(folder)] if newsplease.exists() else None,
            why_not=f"{newsplease} does not exist (see newsplease_baseline.py)",
        ),
        Row(
            "replay",
            "`scrapy crawl replay` of the saved pages into a fresh SQLite file",
            lambda _r: [python, "-m", "scrapy", "crawl", "replay", "-a", f"path={folder}",
                        "-s", "LOG_LEVEL=WARNING"],
            env=fresh_database("replay"),
            check=stored_all("replay"),
        ),
        Row(
            "live",
            "`scrapy crawl news` of the same pages served on 127.0.0.1, into a fresh SQLite file",
            lambda _r: [python, "-m", "scrapy", "crawl", "news", "-a", f"sources={sources}",
                        *crawl_settings],
            env=fresh_database("live"),
            check=stored_all("live"),
        ),
        Row(
            "fetch-only",
            "plain Scrapy spider fetching the same URLs, nothing else (network upper bound)",
            lambda r: [python, "-m", "scrapy", "runspider", str(FETCH_ONLY_SPIDER),
                       "-a", f"urls={urls}", "-a", f"stats={args.workdir / f'fetch-{r}.json'}",
                       *crawl_settings],
            check=lambda r: fetched_all(args.workdir / f"fetch-{r}.json", args.pages),
        ),
    ]


def fetched_all(stats: Path, pages: int) -> str:
    fetched = json.loads(stats.read_text())["pages"]
    return "" if fetched == pages else f"fetched {fetched} of {pages} pages"


def run_all(args: argparse.Namespace, site: LargeSite) -> list[Row]:
    started = time.monotonic()
    folder = write_replay_folder(args.workdir, args.pages)
    print(f"pages: {folder} ({time.monotonic() - started:.0f} s to prepare); "
          f"served at {site.site_.url}", flush=True)
    table = [row for row in rows(args, folder, site) if row.name in args.rows]
    runnable = [row for row in table if row.command(0) is not None]
    for row in table:
        if row not in runnable:
            print(f"{row.name}: not run: {row.why_not}", flush=True)
    rates = [EXPECTED_PAGES_PER_SECOND[row.name] for row in runnable]
    estimate = args.repeat * sum(args.pages / rate + 5 for rate in rates)
    print(f"expected run time: about {estimate / 60:.0f} min "
          f"({args.repeat} x {len(runnable)} runs of {args.pages} pages)", flush=True)
    logs = args.workdir / "logs"
    logs.mkdir(exist_ok=True)
    for repeat in range(args.repeat):
        for row in runnable:
            log = logs / f"{row.name}-{repeat}.log"
            environment = {**os.environ, **row.env(repeat)}
            result = run_measured(row.command(repeat), log=log, env=environment, cwd=REPO)
            problem = row.check(repeat) if result.returncode == 0 else (
                f"exit status {result.returncode}"
            )
            print(f"[{repeat + 1}/{args.repeat}] {row.name}: "
                  f"{args.pages / result.wall:.1f} pages/s, "
                  f"{result.cpu / args.pages * 1000:.1f} ms CPU/page, peak RSS "
                  f"{result.peak_rss:.0f} MB{'; ' + problem if problem else ''} (log: {log})",
                  flush=True)
            if problem:
                raise SystemExit(f"{row.name} did not do its work ({problem}); see {log}")
            row.runs.append(result)
        if repeat == 0:
            spent = time.monotonic() - started
            print(f"about {spent * (args.repeat - 1) / 60:.0f} min to go", flush=True)
    return table


def report(table: list[Row], args: argparse.Namespace, notes: str) -> str:
    baseline = next((r for r in table if r.name == "trafilatura" and r.runs), None)

    def rate(row: Row) -> float:
        return statistics.median(args.pages / m.wall for m in row.runs)

    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.pages} distinct pages, "
        f"median of {args.repeat} runs each. Machine: {notes}.",
        "",
        f"Command: `.venv/bin/python {shlex.join(sys.argv)}`",
        "",
        "| run | what | pages/s | × baseline | CPU s/page | peak RSS (MB) | peak PSS (MB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in table:
        if not row.runs:
            lines.append(f"| {row.name} | {row.what} | not run: {row.why_not} | | | | |")
            continue
        ratio = f"{rate(row) / rate(baseline):.2f}" if baseline else "–"
        cpu = statistics.median(m.cpu / args.pages for m in row.runs)
        rss = statistics.median(m.peak_rss for m in row.runs)
        pss = statistics.median(m.peak_pss for m in row.runs)
        lines.append(f"| {row.name} | {row.what} | {rate(row):.1f} | {ratio} | {cpu:.3f} | "
                     f"{rss:.0f} | {pss:.0f} |")
    lines += [
        "",
        "pages/s: pages over the wall time of the whole command (start-up, database "
        "migration and shutdown included). CPU: user + system seconds of the process tree "
        "(crawl process, extraction workers). Peak RSS/PSS: the largest sum over the "
        "process tree in one 0.2 s sample (RSS counts shared pages in every process).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3000, help="distinct pages (default 3000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each row (default 3)")
    parser.add_argument("--out", type=Path, help="markdown file whose results section to update")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsarchive-bench"),
                        help="where pages, databases and logs go (default /tmp/newsarchive-bench)")
    parser.add_argument("--rows", default=",".join(EXPECTED_PAGES_PER_SECOND),
                        help="comma-separated rows to run (default: all)")
    parser.add_argument("--newsplease-python", default=str(NEWSPLEASE_PYTHON),
                        help=f"python of the news-please virtualenv (default {NEWSPLEASE_PYTHON})")
    parser.add_argument("--trafilatura-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trafilatura_only:
        trafilatura_only(args.trafilatura_only)
        return
    args.rows = args.rows.split(",")
    args.workdir = args.workdir.resolve()
    notes = machine_notes()
    site = LargeSite(args.pages)
    site.start()
    try:
        table = run_all(args, site)
    finally:
        site.stop()
    markdown = report(table, args, notes)
    publish(markdown, args.out, "throughput")


if __name__ == "__main__":
    main()
