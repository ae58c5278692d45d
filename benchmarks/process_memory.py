"""Memory of one replay, process by process: who holds what at the tree's peak.

    python benchmarks/process_memory.py /tmp/newsarchive-bench/pages-3000

Runs ``scrapy crawl replay`` of a folder into a fresh SQLite file and samples every
process of the tree (crawl process, forkserver, extraction workers, resource tracker)
every ``--interval`` seconds. Prints, at the sample where the sum of PSS peaked, each
process's RSS, PSS and USS (USS: pages no other process maps, what it costs alone).
``--command "scrapy"`` starts it through the console script instead of ``python -m
scrapy`` (multiprocessing treats the two differently).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def role(process: psutil.Process, crawl_pid: int) -> str:
    command = " ".join(process.cmdline())
    if process.pid == crawl_pid:
        return "crawl process"
    if "resource_tracker" in command:
        return "resource tracker"
    return "forkserver" if process.ppid() == crawl_pid else "extraction worker"


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
    parser.add_argument("folder", type=Path, help="a replay folder (benchmarks/corpus.py)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--command", default=f"{sys.executable} -m scrapy",
                        help="how to start Scrapy (default: python -m scrapy)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        command = [*shlex.split(args.command), "crawl", "replay", "-a", f"path={args.folder}",
                   "-s", "LOG_LEVEL=WARNING", "-s", f"DATABASE_URL=sqlite:///{scratch}/a.sqlite"]
        crawl = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
        tree = psutil.Process(crawl.pid)
        started, peak, peak_at = time.monotonic(), [], 0.0
        while crawl.poll() is None:
            try:
                rows = sample(tree)
            except psutil.Error:
                break
            if sum(r[2] for r in rows) > sum(r[2] for r in peak):
                peak, peak_at = rows, time.monotonic() - started
            time.sleep(args.interval)
    print(f"exit status {crawl.returncode}, {time.monotonic() - started:.0f} s; peak PSS sum "
          f"{sum(r[2] for r in peak):.0f} MB at {peak_at:.0f} s")
    print("| process | RSS (MB) | PSS (MB) | USS (MB) |\n| --- | ---: | ---: | ---: |")
    for name, rss, pss, uss in sorted(peak):
        print(f"| {name} | {rss:.0f} | {pss:.0f} | {uss:.0f} |")


if __name__ == "__main__":
    main()
