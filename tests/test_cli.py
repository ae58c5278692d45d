"""The command line never shows a traceback for a person's mistake: one ``error:`` line
that says what is wrong and what to do, exit status 2. ``-h`` lists what applies; a
``postgres://`` URL works; the commands that only read open the archive read-only, so
an archive on read-only media can be searched and exported."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEEDS, reset_postgres, run_scrapy

WORD = "किम"  # in the seeds' pages: the README's search example


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def assert_one_error_line(run: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, run.stderr[-3000:]
    for text in expected:
        assert text in errors[0], errors[0]


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive the README's first command builds, in a folder of its own."""
    path = tmp_path_factory.mktemp("demo") / "archive.sqlite"
    run = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", database_url=sqlite_url(path))
    assert run.returncode == 0, run.stderr[-3000:]
    return path


SOURCES_MISTAKES = {
    "bad-toml": ("[[source]\nname = 'A'\n", "is not valid TOML"),
    "unknown-key": ("[[source]]\nname = 'A'\nhomepage = 'https://a.example/'\ncolour = 'red'\n",
                    "colour"),
}


@pytest.mark.parametrize("mistake", sorted(SOURCES_MISTAKES))
def test_a_broken_sources_file_is_one_line(tmp_path: Path, mistake: str) -> None:
    content, expected = SOURCES_MISTAKES[mistake]
    sources = tmp_path / "sources.toml"
    sources.write_text(content, encoding="utf-8")
    run = run_scrapy("crawl", "news", "-a", f"sources={sources}",
                     database_url=sqlite_url(tmp_path / "archive.sqlite"))
    assert_one_error_line(run, str(sources), expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("crawl", "replay", "-a", "path=नहीं-है"), ("नहीं-है does not exist", "-a path=PATH")),
        (("crawl", "replay", "-a", "pth=seeds"),
         ("'pth'", "did you mean -a path=", "path, source")),
        (("crawl", "news", "-a", "source=x.toml"),
         ("'source'", "did you mean -a sources=", "scrapy crawl -h")),
        (("crawl", "replay"), ("replay needs a file or folder", "-a path=PATH")),
        (("crawl", "raplay", "-a", "path=seeds"), ("no spider named 'raplay'", "news, replay")),
    ],
    ids=["missing-path", "misspelt-argument", "news-misspelt", "no-path", "misspelt-spider"],
)
def test_spider_mistakes_are_one_line_before_anything_is_written(
    tmp_path: Path, args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    archive = tmp_path / "archive.sqlite"
    run = run_scrapy(*args, database_url=sqlite_url(archive))
    assert_one_error_line(run, *expected)
    assert not archive.exists()


@pytest.mark.parametrize("command", ["search", "export"])
def test_an_unknown_database_driver_is_one_line(tmp_path: Path, command: str) -> None:
    args = (command, WORD) if command == "search" else (command,)
    run = run_scrapy(*args, database_url="mysql+nosuchdriver://user:secret@127.0.0.1/db")
    assert_one_error_line(run, "no database driver 'mysql+nosuchdriver'", "postgresql://")
    assert "secret" not in run.stderr


def test_crawl_help_lists_each_spiders_arguments_and_reextract_only_its_options() -> None:
    crawl = run_scrapy("crawl", "-h", database_url="sqlite://")
    assert crawl.returncode == 0, crawl.stderr
    lines = crawl.stdout.splitlines()
    for spider, argument in [("replay", "path"), ("replay", "source"), ("news", "sources")]:
        (line,) = [line for line in lines
                   if line.split()[:3] == [spider, "-a", f"{argument}=..."]]
        assert len(line.split()) > 4  # with its line of help
    reextract = run_scrapy("reextract", "-h", database_url="sqlite://")
    assert reextract.returncode == 0, reextract.stderr
    for option in ("--source NAME", "--since TIME", "--until TIME", "--loglevel"):
        assert option in reextract.stdout
    for ignored in ("-a NAME=VALUE", "--output", "--overwrite-output", "Spider Arguments"):
        assert ignored not in reextract.stdout


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_in_the_usual_spelling_work(postgres_database: str, scheme: str) -> None:
    reset_postgres(postgres_database)
    plain = f"{scheme}://" + postgres_database.split("://", 1)[1]
    crawl = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", database_url=plain)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    found = run_scrapy("search", WORD, database_url=plain)
    assert found.returncode == 0, found.stderr[-3000:]
    assert found.stdout.count("\n") >= 1 and WORD in found.stdout


def folder_state(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file of folder with its size and content digest."""
    return {p.name: (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in folder.iterdir() if p.is_file()}


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = f"cannot mount here (needs root): {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI runs as root and must test read-only archives")
        pytest.skip(message)


@pytest.fixture
def read_only_folder(demo_archive: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the demo archive on a file system mounted read-only (root, as the tests
    run, ignores file permissions; not a read-only mount)."""
    folder = tmp_path / "media"
    folder.mkdir()
    mount("-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder))
    try:
        shutil.copy2(demo_archive, folder / "archive.sqlite")
        mount("-o", "remount,ro", str(folder))
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def read_only_file(demo_archive: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the demo archive, the file itself bind-mounted read-only, in a folder
    that can be written."""
    path = tmp_path / "archive.sqlite"
    shutil.copy2(demo_archive, path)
    mount("--bind", str(path), str(path))
    try:
        mount("-o", "remount,ro,bind", str(path))
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def assert_read(path: Path) -> None:
    url = sqlite_url(path)
    found = run_scrapy("search", WORD, database_url=url)
    assert found.returncode == 0, found.stderr[-3000:]
    assert WORD in found.stdout
    exported = run_scrapy("export", database_url=url)
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert exported.stdout.count("\n") == 5  # the five articles of the seeds


def test_an_archive_on_read_only_media_is_searched_and_exported(read_only_folder: Path) -> None:
    before = folder_state(read_only_folder)
    assert_read(read_only_folder / "archive.sqlite")
    assert folder_state(read_only_folder) == before


def test_a_read_only_archive_file_is_searched_and_exported(read_only_file: Path) -> None:
    before = hashlib.sha256(read_only_file.read_bytes()).hexdigest()
    assert_read(read_only_file)
    assert hashlib.sha256(read_only_file.read_bytes()).hexdigest() == before


def test_an_older_schema_is_not_upgraded_by_a_command_that_reads(
    demo_archive: Path, tmp_path: Path
) -> None:
    path = tmp_path / "archive.sqlite"
    shutil.copy2(demo_archive, path)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    connection.close()
    run = run_scrapy("search", WORD, database_url=sqlite_url(path))
    assert_one_error_line(run, "schema revision 0001", "run any crawl once to upgrade")
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    connection.close()


def test_searching_where_there_is_no_archive_creates_none(tmp_path: Path) -> None:
    path = tmp_path / "नया" / "archive.sqlite"
    path.parent.mkdir()
    run = run_scrapy("search", WORD, database_url=sqlite_url(path))
    assert_one_error_line(run, f"there is no archive at {path}", "scrapy crawl replay")
    assert list(path.parent.iterdir()) == []
