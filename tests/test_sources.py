"""The sources file and the one-run-per-sources-file lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from crawler.lock import LockHeld, RunLock, lock_path
from crawler.sources import NewsSource, SourcesError, load_sources
from tests.conftest import run_scrapy

GOOD = """
[[source]]
name = "Example Hindi News"
homepage = "https://example.com/"
language = "hi"
feeds = ["https://example.com/rss"]
sitemaps = ["https://example.com/news-sitemap.xml"]

[[source]]
name = "भारत समाचार"
homepage = "https://भारत.example/"
allowed_hosts = ["CDN.Example.NET", "*.static.example.net", "समाचार.example", "10.0.0.7"]
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(content, encoding="utf-8")
    return path


def test_sources_file_gives_every_outlet_with_its_optional_keys(tmp_path: Path) -> None:
    assert load_sources(write(tmp_path, GOOD)) == [
        NewsSource("Example Hindi News", "https://example.com/", "hi",
                   ("https://example.com/rss",), ("https://example.com/news-sitemap.xml",)),
        NewsSource("भारत समाचार", "https://भारत.example/", allowed_hosts=(
            "cdn.example.net", "*.static.example.net", "xn--61b3bh3a5ab.example", "10.0.0.7")),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\n[[source", "is not valid TOML"),
        ("", "lists no outlets"),
        ("[outlet]\nname = 'A'", "unknown top-level keys ['outlet']"),
        ("[[source]]\nhomepage = 'https://a.example/'", "#1 has no name"),
        ("[[source]]\nname = 'A'\nhomepage = 'a.example'", "(A): homepage: 'a.example' is not"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nfeed = ['https://a/rss']",
         "unknown keys ['feed']"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nfeeds = 'https://a/rss'",
         "feeds must be a list of URLs"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nsitemaps = ['ftp://a/s.xml']",
         "sitemaps: 'ftp://a/s.xml' is not an http(s) URL"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nlanguage = 'Hindi'",
         "language 'Hindi' is not a language code"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nallowed_hosts = 'cdn.a'",
         "allowed_hosts must be a list of host names"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\n"
         "allowed_hosts = ['https://cdn.a/']",
         "allowed_hosts: 'https://cdn.a/' is not a host name or *.pattern"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nallowed_hosts = ['cdn.a:8080']",
         "'cdn.a:8080' is not a host name"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\nallowed_hosts = ['*']",
         "'*' is not a host name"),
        ("[[source]]\nname = 'A'\nhomepage = 'https://a/'\n"
         "[[source]]\nname = 'A'\nhomepage = 'https://b/'", "two sources are named 'A'"),
    ],
)
def test_a_mistake_in_the_sources_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(SourcesError) as error:
        load_sources(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_missing_sources_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="cannot read the sources file"):
        load_sources(tmp_path / "nope.toml")


def test_lock_admits_one_holder_at_a_time(tmp_path: Path) -> None:
    sources = write(tmp_path, GOOD)
    path = lock_path(sources)
    assert path == tmp_path / "sources.toml.lock"
    first, second = RunLock(path, str(sources)), RunLock(path, str(sources))
    first.acquire()
    with pytest.raises(LockHeld, match=r"another crawl of .*sources.toml is still running"):
        second.acquire()
    first.release()
    second.acquire()  # free again once the first run ends
    second.release()


def test_lock_dir_gives_each_sources_file_its_own_lock(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / "sources.toml", tmp_path / "b" / "sources.toml"
    locks = tmp_path / "locks"
    assert lock_path(one, str(locks)).parent == locks
    assert lock_path(one, str(locks)) != lock_path(two, str(locks))


def test_second_run_of_a_sources_file_exits_2_while_the_first_holds_the_lock(
    tmp_path: Path, database_url: str
) -> None:
    sources = write(tmp_path, GOOD)
    held = RunLock(lock_path(sources), str(sources))
    held.acquire()
    try:
        result = run_scrapy("crawl", "news", "-a", f"sources={sources}", database_url=database_url)
    finally:
        held.release()
    assert result.returncode == 2, result.stderr[-2000:]
    assert "is still running" in result.stderr
    engine = create_engine(database_url)
    try:
        if inspect(engine).has_table("crawl_runs"):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT COUNT(*) FROM crawl_runs")).scalar() == 0
    finally:
        engine.dispose()


def test_bad_sources_file_stops_the_crawl_before_it_starts(tmp_path: Path) -> None:
    sources = write(tmp_path, "[[source]]\nname = 'A'\nhomepage = 'not a url'\n")
    result = run_scrapy("crawl", "news", "-a", f"sources={sources}",
                        database_url=f"sqlite:///{tmp_path / 'archive.sqlite'}")
    assert result.returncode == 2
    assert "homepage: 'not a url' is not an http(s) URL" in result.stderr
    assert not (tmp_path / "archive.sqlite").exists()
