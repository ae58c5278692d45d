"""Memory of one replay or live crawl, process by process: who holds what at the peak.

    python benchmarks/process_memory.py /tmp/newsarchive-bench/pages-3000
    python benchmarks/process_memory.py --live 3000

Runs ``scrapy crawl replay`` of a folder (or, with ``--live N``, ``scrapy crawl news`` of
N pages served on 127.0.0.1 by ``tests/fixture_site.py LargeSite``, with the throughput
benchmark's downloader settings) into a fresh SQLite file and samples every process of
the tree (crawl process, extraction workers) every
``--interval`` seconds. Prints, at the sample where the sum of PSS peaked, each
process's RSS, PSS and USS (USS: pages no other process maps, what it costs alone).
``--command "scrapy"`` starts it through the console script instead of ``python -m
scrapy``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.crawl_throughput import (  # noqa: E402 (needs the path above)
    downloader_settings,
    write_sources,
)

MB = 1024 * 1024
# The crawl process and one extraction worker per core (the default EXTRACT_WORKERS):
# the tree once start-up is over.
RUNNING_PROCESSES = 1 + (os.cpu_count() or 1)


def role(process: psutil.Process, crawl_pid: int) -> str:
    if process.pid == crawl_pid:
        return "crawl process"
    command = process.cmdline()
    if "pipelines.workers.worker" in command:
        return "extraction worker"
    return " ".join(command[1:3])  # the schema upgrade at start-up (archive.database)


def sample(crawl: psutil.Process) -> list[tuple[str, float, float, float]]:
    rows = []
    for process in [crawl, *crawl.children(recursive=True)]:
        try:
            info = process.memory_full_info()
            rows.append((role(process, crawl.pid), info.rss / MB, info.pss / MB, info.uss / MB))
        except psutil.Error:
            continue  # exited between listing and reading
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, nargs="?",
                        help="a replay folder (benchmarks/corpus.py)")
    parser.add_argument("--live", type=int, metavar="PAGES",
                        help="crawl PAGES pages served on 127.0.0.1 instead of replaying")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--command", default=f"{sys.executable} -m scrapy",
                        help="how to start Scrapy (default: python -m scrapy)")
    args = parser.parse_args()
    if (args.folder is None) == (args.live is None):
        parser.error("give a replay folder or --live PAGES")
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        if args.live:
            from tests.fixture_site import LargeSite

            site = LargeSite(args.live)
            site.start()
            stack.callback(site.stop)
            sources = write_sources(Path(scratch), site.site_.url)
            crawl_args = ["news", "-a", f"sources={sources}", *downloader_settings("LOG_LEVEL")]
        else:
            crawl_args = ["replay", "-a", f"path={args.folder}"]
        command = [*shlex.split(args.command), "crawl", *crawl_args,
                   "-s", "LOG_LEVEL=WARNING", "-s", f"DATABASE_URL=sqlite:///{scratch}/a.sqlite"]
        crawl = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
        tree = psutil.Process(crawl.pid)
        started, peak, peak_at, sums = time.monotonic(), [], 0.0, []
        while crawl.poll() is None:
            try:
                rows = sample(tree)
            except psutil.Error:
                break
            if len(rows) >= RUNNING_PROCESSES:  # start-up is not the steady state
                sums.append(sum(r[2] for r in rows))
            if sum(r[2] for r in rows) > sum(r[2] for r in peak):
                peak, peak_at = rows, time.monotonic() - started
            time.sleep(args.interval)
    print(f"exit status {crawl.returncode}, {time.monotonic() - started:.0f} s; peak PSS sum "
          f"{sum(r[2] for r in peak):.0f} MB at {peak_at:.0f} s; median "
          f"{statistics.median(sums) if sums else float('nan'):.0f} MB over {len(sums)} samples")
    print("| process | RSS (MB) | PSS (MB) | USS (MB) |\n| --- | ---: | ---: | ---: |")
    for name, rss, pss, uss in sorted(peak):
        print(f"| {name} | {rss:.0f} | {pss:.0f} | {uss:.0f} |")


if __name__ == "__main__":
    main()
