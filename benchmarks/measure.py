"""Measuring one command as a whole process tree: wall time, CPU seconds, peak memory.

CPU comes from ``getrusage(RUSAGE_CHILDREN)`` deltas. That only counts processes that
were waited for, and the extraction workers forked by the first one can outlive it and
the crawl process by a moment and be reparented; so this process makes itself a *child
subreaper* (Linux ``prctl``): orphans of the tree come back to it, are reaped, and their
CPU counts. Memory is sampled with psutil over the whole tree: the sum of RSS (what the
machine must hold, counting shared pages once per process, so an overestimate) and the
sum of PSS (shared pages split between the processes sharing them).
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

PR_SET_CHILD_SUBREAPER = 36
MB = 1024 * 1024


@dataclass
class Measurement:
    wall: float  # seconds, start to the last process of the tree reaped
    cpu: float  # user + system seconds of the whole tree
    peak_rss: float  # MB, the largest sum of RSS over the tree seen in one sample
    peak_pss: float  # MB, the same for PSS
    returncode: int


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def tree_memory(root: psutil.Process) -> tuple[float, float]:
    """(sum of RSS, sum of PSS) in MB of root and all its descendants, now."""
    rss = pss = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue  # exited between listing and reading
        rss += info.rss
        pss += info.pss
    return rss / MB, pss / MB


def reap_orphans(timeout: float) -> None:
    """Wait for reparented descendants (extraction workers) so their CPU time is counted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(
    command: Sequence[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.2,
    on_sample: Callable[[float, float, float], None] | None = None,
) -> Measurement:
    """Run command to completion, output to log; on_sample(elapsed, rss, pss) per sample."""
    become_subreaper()
    reap_orphans(0)
    cpu_before = cpu_of_children()
    peak = [0.0, 0.0]
    done = threading.Event()
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        root = psutil.Process(process.pid)

        def sample() -> None:
            while not done.wait(interval):
                rss, pss = tree_memory(root)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                if on_sample is not None:
                    on_sample(time.monotonic() - started, rss, pss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = process.wait()
        done.set()
        sampler.join()
    reap_orphans(30)
    wall = time.monotonic() - started
    return Measurement(wall, cpu_of_children() - cpu_before, peak[0], peak[1], returncode)


def machine_notes() -> str:
    """One line on the machine and its load, for the results."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average at start {load}"
    )


def replace_section(path: Path, name: str, content: str) -> None:
    """Put content between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in path.

    Everything else in the file (hand-written notes) is kept; the section is appended
    when the file does not have it yet.
    """
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{content.strip()}\n{end}"
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


def publish(text: str, out: Path | None, section: str) -> None:
    """Print a result, and put it in ``section`` of the markdown file ``out`` if given."""
    print(text)
    if out:
        replace_section(out, section, text)
        print(f"results written to {out}")
