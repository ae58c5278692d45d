"""A PostgreSQL server of a test's own, which the test may stop and start at will.

The shared server on 127.0.0.1:5432 is never touched: this one is a fresh cluster made
with the system's ``initdb`` in a temporary folder, listening on a free loopback port,
run as the ``postgres`` user (the server refuses to run as root), trust auth.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fixture_site import unused_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder with initdb and pg_ctl."""
    found = sorted((Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
                    if Path(p).with_name("initdb").exists()),
                   key=lambda folder: int(folder.parent.name))
    return found[-1] if found and shutil.which("runuser") else None


def require_postgres_bin() -> Path:
    """The bin folder, or skip (fail in CI, where these tests must run)."""
    folder = postgres_bin()
    if folder is None:
        message = "no /usr/lib/postgresql/*/bin/initdb and pg_ctl (or no runuser) to start one"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the database outage tests")
        pytest.skip(message)
    return folder


class PrivateCluster:
    def __init__(self, bin_folder: Path) -> None:
        self.bin = bin_folder
        self.root = Path(tempfile.mkdtemp(prefix="newsarchive-pg-"))
        self.data = self.root / "data"
        self.port = unused_port()
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--locale=C.UTF-8")

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / program), *args],
                       check=True, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-w",
                          "-l", str(self.root / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def fresh_database(self, name: str) -> str:
        """URL of an empty UTF-8 database ``name`` (dropped first if it exists)."""
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE template0"))
        admin.dispose()
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
