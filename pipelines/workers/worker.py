"""An extraction worker process: ``python -m pipelines.workers.worker SECONDS PID FD...``.

Started by ``pipelines.workers.pool`` with one socket per worker to run (file descriptors
FD...): it loads and warms up the extractors (``PRELOAD``), forks one worker for each
socket but the first, and extracts on the first itself. Forked after the loading, the
workers share its pages. A worker answers one page at a time, in order; between pages
it may be asked to fork a replacement for a dead worker, on a socket it is handed.
"""

from __future__ import annotations

import importlib
import os
import pickle
import resource
import select
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any

from pipelines.extract import extract_to_dict
from pipelines.workers.heap import HeapTrimmer, keep_heap_small
from pipelines.workers.pool import FORK, HELLO, RESULT, recv_frame, send_frame

# Loaded once, before the workers are forked; pipelines.workers.warmup (last) runs one
# extraction so that what loads on first use is loaded here too.
PRELOAD = [
    "pipelines.extract",
    "pipelines.extraction.html_page",
    "pipelines.extraction.text_page",
    "pipelines.keys.copies",
    "pipelines.workers.warmup",
]
# A page leaves a worker's heap larger by what its trees took (tens of MB for a 2 MB page)
# and glibc keeps it; the worker gives it back once it holds this much more than after
# its last trim. Trimming after every page cost 4 ms a page (the heap is faulted in again).
TRIM_SLACK_BYTES = 4 * 1024 * 1024


def main() -> None:
    page_cpu_seconds, crawl_pid = int(sys.argv[1]), int(sys.argv[2])
    sockets = [socket.socket(fileno=int(fd)) for fd in sys.argv[3:]]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl process's to handle
    for module in PRELOAD:
        importlib.import_module(module)
    for sock in sockets[1:]:  # before serve() starts a thread: fork a single-threaded process
        fork_worker(sock, [other for other in sockets if other is not sock],
                    page_cpu_seconds, crawl_pid)
    serve(sockets[0], page_cpu_seconds, crawl_pid)


def fork_worker(sock: socket.socket, parent_sockets: list[socket.socket],
                page_cpu_seconds: int, crawl_pid: int) -> None:
    """A new worker on ``sock``, which only the new worker keeps open: its end of file
    is then the crawl's signal to stop, and the crawl's sign that the worker died."""
    if os.fork() == 0:
        try:
            for other in parent_sockets:
                other.close()
            serve(sock, page_cpu_seconds, crawl_pid)
        finally:
            os._exit(1)  # never back into the parent's loop
    sock.close()


def serve(sock: socket.socket, page_cpu_seconds: int, crawl_pid: int) -> None:
    """Extract the pages that come on ``sock`` until it closes; never returns."""
    trim_heap = prepare(crawl_pid)
    try:
        send_frame(sock, HELLO, pickle.dumps({"pid": os.getpid()}))
        while True:
            kind, payload, fds = recv_frame(sock)
            if kind == FORK:
                fork_worker(socket.socket(fileno=fds[0]), [sock], page_cpu_seconds, crawl_pid)
                continue
            body, url, headers, boilerplate = pickle.loads(payload)
            del payload
            result = extract_within(page_cpu_seconds, body, url, headers, boilerplate)
            del body
            trim_heap()
            send_frame(sock, RESULT, pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
            reap_forked()
    except (EOFError, ConnectionError):  # the crawl closed the socket, or is gone
        os._exit(0)
    except BaseException:
        traceback.print_exc()  # into the crawl's log: why a worker died
        sys.stderr.flush()
        os._exit(1)


def prepare(crawl_pid: int) -> HeapTrimmer:
    keep_heap_small()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash in C leaves no core file
    signal.signal(signal.SIGPROF, signal.SIG_DFL)  # the page's CPU budget ends the worker
    threading.Thread(target=exit_with, args=(crawl_pid,), daemon=True).start()
    return HeapTrimmer(TRIM_SLACK_BYTES)


def extract_within(page_cpu_seconds: int, body: bytes, url: str, headers: dict[str, str],
                   boilerplate: frozenset[int]) -> dict[str, Any]:
    """``extract_to_dict`` within the page's CPU budget.

    Python cannot interrupt a task stuck in C code (a pathological page in lxml or a
    regex); the kernel can: ITIMER_PROF counts this process's CPU time from the start of
    the page and, once the budget is spent, sends SIGPROF, whose default action ends the
    worker; the pool then fails that page. Not a soft RLIMIT_CPU set to the CPU time so far
    plus the budget: the kernel checks that limit against its tick-sampled CPU clock,
    which ran ~5% ahead of the precise time ``getrusage`` reports here, so a worker with
    ~20 min of CPU behind it was killed on an ordinary page (docs/benchmarks.md,
    "Seventh round"). The timer counts from zero on each page: no drift accumulates.
    """
    if page_cpu_seconds:
        signal.setitimer(signal.ITIMER_PROF, page_cpu_seconds)
    try:
        return extract_to_dict(body, url, headers, boilerplate)
    finally:
        if page_cpu_seconds:
            signal.setitimer(signal.ITIMER_PROF, 0)


def exit_with(crawl_pid: int) -> None:
    """End this worker when the crawl process ends, however it ends, even mid-page (a
    page can take up to EXTRACT_PAGE_CPU_SECONDS)."""
    try:
        with os.fdopen(os.pidfd_open(crawl_pid)) as crawl:  # readable once it has exited
            select.select([crawl], [], [])
    except (AttributeError, OSError):  # gone already, or no pidfd (not Linux >= 5.3): poll
        while running(crawl_pid):
            time.sleep(1)
    os._exit(1)


def reap_forked() -> None:
    """Wait for the workers this one forked that have ended (waited for, not ignored
    with SIGCHLD: their CPU time then counts in the tree's, which the benchmarks read)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:  # none forked
        pass


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    main()
