"""The extraction workers, seen from the crawl process.

One Python process loads the extractors (``pipelines.workers.worker``) and forks the
other workers from itself, so they share those pages; then it extracts pages too. Each
worker talks to the crawl process over a socket of its own: length-prefixed pickles, a
page in, a plain dict out. Compared with a ``ProcessPoolExecutor`` on a forkserver, the
tree has no idle process: the forkserver held its own copy of every page both workers
had written to (24 MB), and its resource tracker 7 MB (docs/benchmarks.md, "Seventh
round"). And a worker that dies loses only what it held: the page it was extracting,
which gets one more try, and the next one queued behind it, which goes to another worker.

A dead worker is replaced by a fork of a live one (the crawl process sends it the new
worker's socket), or by a new process when none is left. The workers end when their
socket closes (the crawl process shut the pool down, or died) or when the crawl process
exits however it exits (``pipelines.workers.worker`` watches it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue
from typing import Any

from pipelines import child_environment

logger = logging.getLogger(__name__)

HEADER = struct.Struct("!cQ")  # kind, payload length
PAGE, FORK, RESULT, HELLO = b"P", b"F", b"R", b"H"  # the kinds of frames
PAGES_AHEAD = 2  # a worker's next page waits in its socket, not behind the crawl's GIL
TRIES = 2  # a page whose worker dies under it is tried once more before it fails
MAX_FAILED_STARTS = 3  # then the extractors cannot load any more: stop trying
EXIT_GRACE_SECONDS = 2.0


def send_frame(sock: socket.socket, kind: bytes, payload: bytes = b"",
               fds: tuple[int, ...] = ()) -> None:
    header = HEADER.pack(kind, len(payload))
    sent = socket.send_fds(sock, [header], list(fds)) if fds else 0
    sock.sendall(header[sent:])
    sock.sendall(payload)


def recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = sock.recv_into(view[got:])
        if not count:
            raise EOFError("the other end closed its socket")
        got += count
    return buffer


def recv_frame(sock: socket.socket) -> tuple[bytes, bytearray, list[int]]:
    """(kind, payload, file descriptors passed with the header)."""
    header, fds = b"", []
    while len(header) < HEADER.size:
        chunk, passed, _flags, _address = socket.recv_fds(sock, HEADER.size - len(header), 1)
        if not chunk:
            raise EOFError("the other end closed its socket")
        header, fds = header + chunk, fds + passed
    kind, size = HEADER.unpack(header)
    return kind, recv_exactly(sock, size), fds


@dataclass
class Task:
    payload: bytes  # pickled (body, url, headers)
    future: Future[dict[str, Any]] = field(default_factory=Future)
    tries: int = 0


class Worker:
    """One worker process: its socket, the pages sent to it, the threads that feed and
    read it."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen[bytes] | None) -> None:
        self.sock = sock
        self.process = process  # only the process the pool started itself; forks: None
        self.pid: int | None = None  # from the worker's hello
        self.sent: deque[Task] = deque()  # in the order the worker extracts them
        self.window = threading.Semaphore(PAGES_AHEAD)
        self.lock = threading.Lock()  # sent, dead
        self.send_lock = threading.Lock()  # pages and fork requests share the socket
        self.dead = False


class WorkerPool:
    """``workers`` extraction processes; :meth:`submit` a page, get a future dict."""

    def __init__(self, workers: int, page_cpu_seconds: int,
                 on_restart: Callable[[], None] = lambda: None) -> None:
        self.size = workers
        self.page_cpu_seconds = page_cpu_seconds
        self.on_restart = on_restart
        self.tasks: SimpleQueue[Task | None] = SimpleQueue()
        self.workers: list[Worker] = []
        self.workers_lock = threading.Lock()
        self.closing = False
        self.started = False  # a worker has said hello: the extractors load
        self.failed_starts = 0  # new workers in a row that died before saying hello
        self.broken: str | None = None  # why no worker can run; every page then fails
        self._start_process(workers)

    # The crawl's side -------------------------------------------------------------

    def submit(self, body: bytes, url: str, headers: dict[str, str],
               boilerplate: frozenset[int] = frozenset()) -> Future[dict[str, Any]]:
        if self.closing:
            raise RuntimeError("the extraction pool is shut down")
        task = Task(pickle.dumps((body, url, headers, boilerplate), pickle.HIGHEST_PROTOCOL))
        if self.broken:
            task.future.set_result(self._failure(self.broken))
        else:
            self.tasks.put(task)
        return task.future

    def shutdown(self) -> None:
        """Close every worker's socket (an idle worker exits on it); kill the workers
        still busy after a moment: nobody wants their pages any more."""
        self.closing = True
        with self.workers_lock:
            workers = list(self.workers)
        self.tasks.put(None)  # each feeding thread passes it on to the next
        for worker in workers:
            worker.window.release()
            with contextlib.suppress(OSError):
                worker.sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + EXIT_GRACE_SECONDS
        for worker in workers:
            while _running(worker) and time.monotonic() < deadline:
                time.sleep(0.02)
            if worker.process is not None:
                worker.process.kill()  # nothing if it has exited
                worker.process.wait()
            elif _running(worker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid or 0, signal.SIGKILL)
            worker.sock.close()
        while not self.tasks.empty():
            if (task := self.tasks.get()) is not None:
                task.future.cancel()

    # Starting workers ---------------------------------------------------------------

    def _start_process(self, workers: int) -> None:
        """A new worker process, which forks ``workers - 1`` more once it has loaded the
        extractors (seconds: the crawl starts up meanwhile)."""
        pairs = [socket.socketpair() for _ in range(workers)]
        theirs = [pair[1] for pair in pairs]
        command = [sys.executable, "-m", "pipelines.workers.worker",
                   str(self.page_cpu_seconds), str(os.getpid()),
                   *(str(sock.fileno()) for sock in theirs)]
        process = subprocess.Popen(command, pass_fds=[s.fileno() for s in theirs],
                                   stdin=subprocess.DEVNULL, env=child_environment())
        for number, (ours, theirs_end) in enumerate(pairs):
            theirs_end.close()
            self._add(Worker(ours, process if number == 0 else None))

    def _fork_from(self, parent: Worker) -> bool:
        """Ask a live worker to fork a new one (it does so between two pages)."""
        ours, theirs = socket.socketpair()
        try:
            with parent.send_lock:
                send_frame(parent.sock, FORK, fds=(theirs.fileno(),))
        except OSError:
            ours.close()
            return False
        finally:
            theirs.close()
        self._add(Worker(ours, None))
        return True

    def _add(self, worker: Worker) -> None:
        with self.workers_lock:
            self.workers.append(worker)
        for target, name in ((self._feed, "feed"), (self._read, "read")):
            threading.Thread(target=target, args=(worker,), daemon=True,
                             name=f"extract-worker-{name}").start()

    # The threads of each worker -----------------------------------------------------

    def _feed(self, worker: Worker) -> None:
        """Send pages to the worker, at most PAGES_AHEAD not yet answered."""
        while True:
            worker.window.acquire()
            task = self.tasks.get()
            if task is None:
                self.tasks.put(None)
                return
            with worker.lock:
                if worker.dead or self.closing:
                    self._requeue(task)
                    return
                worker.sent.append(task)
            try:
                with worker.send_lock:
                    send_frame(worker.sock, PAGE, task.payload)
            except OSError:
                return  # the worker died: _read sees its socket close and requeues

    def _read(self, worker: Worker) -> None:
        """Hand the worker's answers to the crawl; when it dies, deal with its pages."""
        try:
            _, hello, _ = recv_frame(worker.sock)
            worker.pid = pickle.loads(hello)["pid"]
            self.started, self.failed_starts = True, 0
            while True:
                _, answer, _ = recv_frame(worker.sock)
                with worker.lock:
                    task = worker.sent.popleft()
                worker.window.release()
                _settle(task, pickle.loads(answer))
        except (EOFError, OSError):
            pass  # it died, or the pool is shutting down
        except Exception:  # a garbled answer: replace the worker, try its pages again
            logger.exception("lost track of extraction worker %s; stopping it", worker.pid)
            if worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
        with worker.lock:
            worker.dead = True
            lost = list(worker.sent)
            worker.sent.clear()
        worker.window.release()  # let _feed find out, if it waits for room
        self._forget(worker)
        if self.closing:
            for task in lost:
                task.future.cancel()
            return
        self._died(worker, lost)

    def _forget(self, worker: Worker) -> None:
        with self.workers_lock:
            self.workers.remove(worker)
        if worker.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=5)
        worker.sock.close()

    def _died(self, worker: Worker, lost: list[Task]) -> None:
        if worker.pid is None:
            self.failed_starts += 1
            if not self.started or self.failed_starts > MAX_FAILED_STARTS:
                self._break("the extraction workers failed to start (the error is in the "
                            "log above)", lost)
                return
            # Most likely the worker asked to fork it died first, with the request unread.
            logger.warning("a new extraction worker did not start; starting another")
        else:
            logger.error("extraction worker %s died%s; starting another", worker.pid,
                         f" on a page (try {lost[0].tries + 1} of {TRIES})" if lost else "")
            self.on_restart()
        if lost and worker.pid is not None:  # the page it was on, then those behind it
            culprit = lost.pop(0)
            culprit.tries += 1
            if culprit.tries >= TRIES:
                limit = self.page_cpu_seconds
                _settle(culprit, self._failure(
                    f"the extraction worker died on this page {TRIES} times (killed, out of "
                    "memory" + (f", or over EXTRACT_PAGE_CPU_SECONDS={limit}" if limit else "")
                    + "); retry it alone, or raise the limit if the page is just large"))
            else:
                lost.append(culprit)  # last: other workers take the pages behind it first
        for task in lost:
            self._requeue(task)
        with self.workers_lock:
            live = [w for w in self.workers if w.pid is not None and not w.dead]
        if not any(self._fork_from(parent) for parent in live):
            self._start_process(1)

    def _requeue(self, task: Task) -> None:
        if self.closing:
            task.future.cancel()
        elif self.broken:
            _settle(task, self._failure(self.broken))
        else:
            self.tasks.put(task)

    def _break(self, reason: str, lost: list[Task]) -> None:
        if self.broken is None:
            logger.error("%s; every page will fail", reason)
            self.broken = reason
        for task in lost:
            _settle(task, self._failure(reason))
        while not self.tasks.empty():
            if (task := self.tasks.get()) is not None:
                _settle(task, self._failure(reason))

    @staticmethod
    def _failure(detail: str) -> dict[str, Any]:
        return {"error": "extractor-died", "detail": detail}


def _settle(task: Task, result: dict[str, Any]) -> None:
    with contextlib.suppress(InvalidStateError):  # the crawl gave up on the page
        task.future.set_result(result)


def _running(worker: Worker) -> bool:
    if worker.process is not None:  # our child: a zombie until waited for
        return worker.process.poll() is None
    try:  # a worker's child: ended, it may be a zombie until its parent reaps it
        stat = Path(f"/proc/{worker.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
