"""Progress on long runs: a log line every PROGRESS_SECONDS in log files, instead of
Scrapy's "Crawled 0 pages"; a tqdm line on a terminal, from the same figures."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from crawler.progress import Figures, format_log_line, format_terminal_line
from tests.conftest import SEEDS, run_scrapy

LINE = re.compile(r"\[crawler\.progress\] INFO: progress: (\d+)(?:/(\d+))? pages")


def test_a_replay_logs_progress_lines_with_done_counts(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    for n in range(60):  # a run long enough for several lines at 0.2 s
        for seed in seeds:
            shutil.copy(seed, folder / f"{n:02d}-{seed.name}")
    (folder / "empty.txt").touch()  # one failure, to be counted
    pages = 60 * len(seeds) + 1

    run = run_scrapy("crawl", "replay", "-a", f"path={folder}", "-s", "PROGRESS_SECONDS=0.2",
                     database_url=f"sqlite:///{tmp_path / 'archive.sqlite'}")
    assert run.returncode == 1, run.stderr  # the empty file failed
    assert "Crawled" not in run.stderr  # Scrapy's LogStats line is replaced
    lines = [line for line in run.stderr.splitlines() if "progress:" in line]
    counts = [(int(m[1]), m[2] and int(m[2])) for m in map(LINE.search, lines) if m]
    assert len(counts) == len(lines) >= 3
    done = [count for count, _ in counts]
    assert done == sorted(done)  # never goes back
    assert f"progress: {pages}/{pages} pages (100%)" in lines[-1]
    assert lines[-1].endswith(", 1 failed")
    # The walk is not done twice: while it goes on the total is not claimed.
    assert all(total is None or total >= count for count, total in counts)


def test_log_line_figures() -> None:
    assert format_log_line(Figures(done=120, total=500, elapsed=40.0, failed=4)) == (
        "progress: 120/500 pages (24%), 3.0 pages/s, ETA 2m07s, 4 failed")
    assert format_log_line(Figures(done=0, total=None, elapsed=0.0, failed=0)) == (
        "progress: 0 pages (total not known yet), 0.0 pages/s, 0 failed")
    assert format_log_line(Figures(7, 12, 3.5, 1, "requests")) == (
        "progress: 7/12 requests (58%), 2.0 requests/s, ETA 2s, 1 failed")
    assert "ETA 1h01m05s" in format_log_line(Figures(1, 3666, 1.0, 0))


def test_terminal_line_figures() -> None:
    known = format_terminal_line(Figures(done=120, total=500, elapsed=40.0, failed=4), 80)
    assert len(known) <= 80
    assert known.startswith(" 24%|")
    assert "| 120/500 [00:40<02:06,  3.00 pages/s, 4 failed]" in known
    unknown = format_terminal_line(Figures(done=120, total=None, elapsed=40.0, failed=0), 80)
    assert unknown == "120 pages [00:40,  3.00 pages/s, 0 failed]"  # no bar, no ETA
