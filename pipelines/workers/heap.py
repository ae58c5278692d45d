"""Give freed heap memory back to the system (glibc's ``malloc_trim``).

glibc keeps memory that Python and lxml free, so a process holds the peak of its
largest page or batch for good: an extraction worker that parsed one 2 MB page
(~30 MB with trafilatura's tree copies) keeps those 30 MB, and most pages leave a few MB
behind. Trimming whenever a worker has grown 4 MB since its last trim (workers) and after
each stored batch (the crawl process) keeps memory at what is in use.
Measured: 45 MB instead of 79 MB private memory per worker after 400 pages (trimming
after pages over 512 KB); median PSS of a 3000-page replay 358 → 341 MB with the 4 MB
slack (docs/benchmarks.md, "Sixth round").
(Recycling workers with ``max_tasks_per_child`` would do it too, but deadlocks the pool
on Python 3.11: CPython gh-115634.)
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

try:  # glibc only; elsewhere (musl, macOS) freed memory stays with the process
    _libc: Any = ctypes.CDLL("libc.so.6")
    _malloc_trim, _mallopt = _libc.malloc_trim, _libc.mallopt
except (OSError, AttributeError):
    _malloc_trim = _mallopt = None

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # from glibc's malloc.h
LARGE_BLOCK = 128 * 1024  # glibc's starting value for both thresholds
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def release_freed_memory() -> None:
    if _malloc_trim is not None:
        _malloc_trim(0)


def resident_bytes() -> int:
    """This process's resident memory now (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except OSError:
        return 0


class HeapTrimmer:
    """Calls :func:`release_freed_memory` once the process has grown ``slack`` bytes
    since it last did: a worker gives back what a large page left behind, without the
    cost of trimming (and faulting the heap in again) after every page."""

    def __init__(self, slack: int) -> None:
        self.slack = slack
        self.floor = resident_bytes()

    def __call__(self) -> None:
        if resident_bytes() > self.floor + self.slack:
            release_freed_memory()
            self.floor = resident_bytes()


def keep_heap_small() -> None:
    """Make glibc give large blocks back at once and keep one heap for all threads.

    glibc raises its mmap threshold to the size of each large block freed (up to 32 MB),
    so after one big page every later page body, decoded string and text is carved from
    the heap, where it stays; fixed thresholds send such blocks to mmap (returned on
    free) and trim the heap's top as it empties. And each thread that allocates (page
    reads, database writes) gets an arena of its own, each keeping its own free memory:
    one arena is enough for threads that take turns under the GIL anyway.
    Measured: ~10 MB less in the crawl process, ~10 MB less per extraction worker
    (docs/benchmarks.md, "Fourth round").
    """
    if _mallopt is not None:
        _mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)
        _mallopt(M_TRIM_THRESHOLD, LARGE_BLOCK)
        _mallopt(M_ARENA_MAX, 1)
