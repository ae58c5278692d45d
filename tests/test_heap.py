"""Extraction workers give back the memory a large page leaves behind
(pipelines/workers/heap.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.workers import heap

# In a child process: the allocator settings are for the whole process, not pytest's.
LARGE_PAGE_LEFT_BEHIND = """
from pipelines.workers.heap import HeapTrimmer, keep_heap_small, resident_bytes
keep_heap_small()
trim = HeapTrimmer(4 << 20)
blocks = [bytearray(64 * 1024) for _ in range(500)]  # 32 MB, each under mmap's threshold
kept = bytearray(64 * 1024)  # in use above them: the heap's top cannot just shrink
del blocks
before = resident_bytes()
trim()
print(before - resident_bytes())
"""


@pytest.mark.skipif(heap._malloc_trim is None or not heap.resident_bytes(),
                    reason="needs glibc and /proc (Linux)")
def test_a_worker_gives_back_what_a_large_page_left_behind():
    released = int(subprocess.run(
        [sys.executable, "-c", LARGE_PAGE_LEFT_BEHIND],
        capture_output=True, text=True, check=True,
    ).stdout)
    assert released > 24 << 20, f"only {released >> 20} MB of 32 MB freed went back"


def test_no_trim_until_the_process_has_grown_past_the_slack(monkeypatch):
    trims = []
    monkeypatch.setattr(heap, "release_freed_memory", lambda: trims.append(1))
    trim = heap.HeapTrimmer(1 << 40)  # a terabyte: this process never grows that much
    trim()
    assert trims == []
