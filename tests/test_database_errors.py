"""An unusable database is reported in one clear sentence, the password never shown:
not in the exception, not in a log line, not in the output of a real ``scrapy`` run."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from sqlalchemy import make_url

from archive.database import DatabaseError, open_database
from tests.conftest import POSTGRES_ADMIN_URL, SEEDS, run_scrapy

PASSWORD = "pw-Xq81-secret"
SERVER = make_url(POSTGRES_ADMIN_URL)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_url(
    user: str = "postgres", port: int | None = None, database: str = "postgres"
) -> str:
    url = SERVER.set(username=user, password=PASSWORD, port=port or SERVER.port, database=database)
    return url.render_as_string(hide_password=False)


def unreachable() -> str:
    return postgres_url(port=closed_port(), database="archive")


def assert_reported(message: str, *expected: str) -> None:
    assert message.startswith("cannot use the archive database ")
    assert PASSWORD not in message
    for text in expected:
        assert text in message, message
    assert "\n" not in message


def test_unreachable_server(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = unreachable()
    with pytest.raises(DatabaseError) as error:
        open_database(url)
    assert_reported(str(error.value), url.replace(PASSWORD, "***"), "Connection refused",
                    "server running and reachable")
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("user", "database", "reason"),
    [
        ("no_such_user", "postgres", 'role "no_such_user" does not exist'),
        ("postgres", "no_such_archive", 'database "no_such_archive" does not exist'),
    ],
    ids=["unknown-user", "missing-database"],
)
def test_server_refuses(
    postgres_database: str, caplog: pytest.LogCaptureFixture, user: str, database: str,
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DatabaseError) as error:
        open_database(postgres_url(user=user, database=database))
    assert_reported(str(error.value), f"{user}:***@", reason, "database created")
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize("blocker", ["missing", "a-file"])
def test_sqlite_file_in_an_unusable_folder(tmp_path: Path, blocker: str) -> None:
    folder = tmp_path / blocker
    if blocker == "a-file":
        folder.write_text("not a folder")
    with pytest.raises(DatabaseError) as error:
        open_database(f"sqlite:///{folder / 'archive.sqlite'}")
    assert_reported(str(error.value), "unable to open database file",
                    f"Check that the folder {folder} exists and is writable")


def test_commands_report_one_line_with_the_password_masked() -> None:
    url = unreachable()
    runs = {
        "crawl": run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", database_url=url),
        "search": run_scrapy("search", "समर", database_url=url),
        "export": run_scrapy("export", database_url=url),
    }
    for command, run in runs.items():
        assert run.returncode == 2, (command, run.stderr)
        assert PASSWORD not in run.stdout + run.stderr, command
        assert "Traceback" not in run.stderr, (command, run.stderr)
        report = f"cannot use the archive database {url.replace(PASSWORD, '***')}: "
        lines = [line for line in run.stderr.splitlines() if report in line]
        assert len(lines) == 1, (command, run.stderr)
        assert "Connection refused" in lines[0]
