"""Memory of one long replay against pages processed: is it flat from 1k to 100k pages?

    python benchmarks/memory_curve.py --pages 100000 --out docs/benchmarks.md

Replays ``--pages`` distinct pages (the corpus replicated, ``corpus.py``) in one
``scrapy crawl replay`` into a fresh SQLite file, sampling the process tree (crawl
process, extraction workers) every ``--interval`` seconds: the sum of RSS
and the sum of PSS, against the pages Scrapy has passed through the pipelines so far
(its log-stats line, every second). Writes the samples to
``--csv``, a plot to ``--png``, and a summary to the ``memory-curve`` section of
``--out``. Use a small ``--pages`` (e.g. 2000) to check the script itself.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import REPO, write_replay_folder
from benchmarks.measure import machine_notes, publish, run_measured

SCRAPED = re.compile(rb"scraped (\d+) items")
EXPECTED_PAGES_PER_SECOND = 50  # replay on this 2-core machine kind (2026-12), for the estimate
TARGET_MB = 400


@dataclass
class Sample:
    seconds: float
    pages: int
    rss: float  # MB, sum over the tree
    pss: float  # MB, sum over the tree


class ScrapedCounter:
    """The latest "scraped N items" count in a growing Scrapy log."""

    def __init__(self, log: Path) -> None:
        self.log, self.offset, self.count, self.rest = log, 0, 0, b""

    def __call__(self) -> int:
        try:
            with self.log.open("rb") as stream:
                stream.seek(self.offset)
                chunk = stream.read()
        except OSError:
            return self.count
        self.offset += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            if found := SCRAPED.search(line):
                self.count = int(found.group(1))
        return self.count


def at(samples: list[Sample], pages: int) -> Sample | None:
    """The last sample taken before ``pages`` pages were done (for the last mark, the
    first sample at the total can be taken while the crawl shuts its workers down)."""
    return next((s for s in reversed(samples) if 0 < s.pages < pages), None)


def summary(samples: list[Sample], args: argparse.Namespace, wall: float, notes: str) -> str:
    peak_rss, peak_pss = max(s.rss for s in samples), max(s.pss for s in samples)
    lines = [
        f"{args.pages} pages replayed in one run in {wall / 60:.1f} min; samples every "
        f"{args.interval} s. Machine: {notes}.",
        "",
        f"Command: `.venv/bin/python {shlex.join(sys.argv)}`",
        "",
        "| pages done (last sample before) | RSS sum (MB) | PSS sum (MB) | peak RSS so far (MB) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    marks = sorted({m for m in (1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
                    if m <= args.pages} | {args.pages})
    for mark in marks:
        if (sample := at(samples, mark)) is not None:
            so_far = max(s.rss for s in samples if s.seconds <= sample.seconds)
            lines.append(f"| {mark} | {sample.rss:.0f} | {sample.pss:.0f} | {so_far:.0f} |")
    lines += [
        "",
        f"Peak over the run: RSS sum {peak_rss:.0f} MB, PSS sum {peak_pss:.0f} MB "
        f"(target: under {TARGET_MB} MB). Plot: `{args.png}`; samples: `{args.csv}`.",
    ]
    return "\n".join(lines)


def plot(samples: list[Sample], path: Path, pages: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    xs = [s.pages for s in samples]
    axes.plot(xs, [s.rss for s in samples], label="RSS, sum over the process tree")
    axes.plot(xs, [s.pss for s in samples], label="PSS, sum over the process tree")
    axes.axhline(TARGET_MB, color="grey", linestyle="--", label=f"target {TARGET_MB} MB")
    if pages >= 10_000:
        axes.set_xscale("log")
    axes.set_xlabel("pages replayed")
    axes.set_ylabel("MB")
    axes.set_ylim(bottom=0)
    axes.set_title(f"scrapy crawl replay: memory against pages ({pages} pages, one run)")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100_000, help="pages (default 100000)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsarchive-bench"),
                        help="where pages, database and log go (default /tmp/newsarchive-bench)")
    parser.add_argument("--csv", type=Path, default=REPO / "docs" / "memory-curve.csv")
    parser.add_argument("--png", type=Path, default=REPO / "docs" / "memory-curve.png")
    parser.add_argument("--out", type=Path, help="markdown file to put the summary in")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    preparing = args.pages * 0.006
    total = preparing + args.pages / EXPECTED_PAGES_PER_SECOND
    print(f"expected run time: about {total / 60:.0f} min (writing the pages, once: "
          f"{preparing / 60:.0f} min; "
          f"{args.pages * 43 / 1e6:.1f} GB in {args.workdir})", flush=True)
    notes = machine_notes()
    folder = write_replay_folder(args.workdir, args.pages)
    database = args.workdir / "databases" / "memory-curve.sqlite"
    database.parent.mkdir(parents=True, exist_ok=True)
    for leftover in database.parent.glob(f"{database.name}*"):
        leftover.unlink()
    log = args.workdir / "logs" / "memory-curve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    scraped = ScrapedCounter(log)
    samples: list[Sample] = []

    def record(seconds: float, rss: float, pss: float) -> None:
        samples.append(Sample(seconds, scraped(), rss, pss))
        if len(samples) % 30 == 0:
            print(f"{seconds / 60:5.1f} min: {samples[-1].pages} pages, RSS sum {rss:.0f} MB, "
                  f"PSS sum {pss:.0f} MB", flush=True)

    command = [sys.executable, "-m", "scrapy", "crawl", "replay", "-a", f"path={folder}",
               "-s", "LOG_LEVEL=INFO", "-s", "LOGSTATS_INTERVAL=1"]
    started = time.monotonic()
    result = run_measured(command, log=log, cwd=REPO, interval=args.interval, on_sample=record,
                          env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"})
    wall = time.monotonic() - started
    if result.returncode != 0 or not samples:
        raise SystemExit(f"the replay failed (exit status {result.returncode}); see {log}")
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["seconds", "pages", "rss_sum_mb", "pss_sum_mb"])
        writer.writerows([f"{s.seconds:.1f}", s.pages, f"{s.rss:.1f}", f"{s.pss:.1f}"]
                         for s in samples)
    plot(samples, args.png, args.pages)
    text = summary(samples, args, wall, notes)
    publish(text, args.out, "memory-curve")


if __name__ == "__main__":
    main()
