"""One run per sources file at a time, even when cron starts the next one early.

An OS file lock (``flock``) rather than a PID file: the kernel drops it when the process
dies, however it dies, so a crashed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO


class LockHeld(RuntimeError):
    """Another run holds the lock; the message says which and where."""


def lock_path(sources: Path, lock_dir: str | None = None) -> Path:
    """``sources.toml.lock`` beside the file, or a name unique to it in lock_dir."""
    sources = sources.resolve()
    if not lock_dir:
        return sources.with_name(sources.name + ".lock")
    digest = hashlib.sha256(str(sources).encode()).hexdigest()[:12]
    return Path(lock_dir).expanduser() / f"{sources.name}-{digest}.lock"


class RunLock:
    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self.file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockHeld (never waits)."""
        try:
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        except OSError as exc:
            raise LockHeld(
                f"cannot create the lock file {self.path} ({exc.strerror}); "
                "set NEWS_LOCK_DIR to a writable folder"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LockHeld(
                f"another crawl of {self.what} is still running (pid {holder}, lock file "
                f"{self.path}); this run stops without crawling. If runs overlap often, "
                "run less often or crawl fewer outlets per sources file."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.file = handle

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None
