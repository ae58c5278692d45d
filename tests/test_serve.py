"""``scrapy serve`` in a real headless Chromium: the home page, a Hindi search that finds
what ``scrapy search`` finds, a story and its copies, an article with its captures, the
outlet report and a chart; the archive file is never written; PostgreSQL is refused.

Chromium and chromedriver come from Debian's packages (``.ci/run`` installs them); where
they are missing the browser tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import REPO, SEEDS, run_scrapy

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HINDI_WORD = "किम"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo archive, as the README's first command builds it."""
    path = tmp_path_factory.mktemp("serve") / "archive.sqlite"
    built = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}",
                       database_url=f"sqlite:///{path}")
    assert built.returncode == 0, built.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def server(archive: Path) -> Iterator[str]:
    """A real ``scrapy serve`` process on a free port; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "serve", "--port", str(port)],
        cwd=REPO, env={**os.environ, "DATABASE_URL": f"sqlite:///{archive}"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                pytest.fail(f"scrapy serve exited {process.returncode}: "
                            f"{process.stderr.read()[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("scrapy serve did not answer in 30 s")
        yield base
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: it must stop cleanly
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, process.stderr.read()[-2000:]
    assert "Traceback" not in process.stderr.read()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium driven by the system's chromedriver (selenium downloads
    nothing)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = (f"{' and '.join(missing)} missing: apt-get install chromium "
                   "chromium-driver (.ci/run does)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the browser test")
        pytest.skip(message)
    profile = Path(tempfile.mkdtemp(prefix="newsarchive-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--no-first-run", "--disable-sync", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def column(driver: WebDriver, name: str) -> list[str]:
    """The texts of one column of the results table on the page."""
    driver.find_element(By.CSS_SELECTOR, "table.rows-and-columns")
    return [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, f"td.col-{name}")]


def test_search_a_hindi_word_then_open_the_story_and_the_article(
    archive: Path, server: str, browser: WebDriver
) -> None:
    before = sha256(archive)
    expected = run_scrapy("search", HINDI_WORD, database_url=f"sqlite:///{archive}")
    assert expected.returncode == 0, expected.stderr
    hits = [line.split("\t") for line in expected.stdout.splitlines()]
    expected_titles = [hit[3] for hit in hits]
    assert len(expected_titles) >= 2  # the demo archive has several articles on Kim

    browser.get(server + "/")
    box = browser.find_element(By.NAME, "q")
    box.send_keys(HINDI_WORD)
    box.submit()
    # The same articles, in the same order, as the command line finds.
    assert column(browser, "title") == expected_titles
    assert column(browser, "outlet") == [hit[2] for hit in hits]

    first_title = expected_titles[0]
    browser.find_element(By.CSS_SELECTOR, "td.col-story_id a").click()
    assert "story_id=" in browser.current_url
    assert first_title in column(browser, "title")  # the story lists its copies...
    assert column(browser, "outlet") == [hits[0][2]] * len(column(browser, "title"))

    browser.find_element(By.CSS_SELECTOR, "td.col-article_id a").click()
    # ...and a copy's page shows the article and links to its captures and versions.
    assert first_title in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.PARTIAL_LINK_TEXT, "versions and captures").click()
    history = zip(column(browser, "kind"), column(browser, "outcome"), strict=True)
    assert sorted((kind, outcome.strip()) for kind, outcome in history) == [
        ("capture", "new"), ("current", "")]

    assert sha256(archive) == before  # the view never writes the archive


def test_a_search_with_no_words_finds_nothing(server: str, browser: WebDriver) -> None:
    browser.get(server + "/archive/search?q=%22+%E2%80%9C")  # quotes only
    assert "0 results" in browser.find_element(By.TAG_NAME, "body").text


def articles_per_outlet(archive: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{archive}?mode=ro", uri=True) as connection:
        return {name: str(count) for name, count in connection.execute(
            "SELECT sources.name, COUNT(*) FROM articles JOIN sources"
            " ON sources.id = articles.source_id GROUP BY sources.name")}


def test_outlet_report_and_charts(archive: Path, server: str, browser: WebDriver) -> None:
    browser.get(server + "/")
    browser.find_element(By.LINK_TEXT, "Outlet report").click()
    # scrapy report's table: every outlet, its articles, and its status (the demo's
    # pages are years old: stale).
    assert dict(zip(column(browser, "outlet"), column(browser, "articles"), strict=True)) \
        == articles_per_outlet(archive)
    assert set(column(browser, "status")) <= {"ok", "stale", "failing"}
    report = run_scrapy("report", "--format", "json", database_url=f"sqlite:///{archive}")
    assert report.returncode == 0, report.stderr
    assert column(browser, "status") == [line["status"] for line in json.loads(report.stdout)]

    browser.get(server + "/")
    browser.find_element(By.PARTIAL_LINK_TEXT, "articles per outlet per day").click()
    days = column(browser, "day")
    assert sum(int(n) for n in column(browser, "articles")) == 5
    assert days == sorted(days)
    # datasette-vega draws the chart the link asks for.
    assert browser.find_element(By.CSS_SELECTOR, ".vega-embed canvas, .vega-embed svg")

    browser.get(server + "/")
    browser.find_element(By.PARTIAL_LINK_TEXT, "failures per run").click()
    assert column(browser, "failures") == ["0"]
    assert column(browser, "status") == ["finished"]


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgres://postgres@127.0.0.1:5432/test",
])
def test_postgresql_is_refused_with_what_to_do(url: str) -> None:
    refused = run_scrapy("serve", "--port", str(free_port()), database_url=url, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "SQLite archives only" in refused.stderr
    assert "scrapy export" in refused.stderr


def test_a_missing_archive_or_a_busy_port_is_one_line(tmp_path: Path, archive: Path) -> None:
    missing = run_scrapy("serve", database_url=f"sqlite:///{tmp_path / 'none.sqlite'}",
                         timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: there is no archive at ")
    assert "scrapy crawl replay" in missing.stderr
    assert not (tmp_path / "none.sqlite").exists()

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = run_scrapy("serve", "--port", str(port),
                           database_url=f"sqlite:///{archive}", timeout=60)
    assert taken.returncode == 2
    assert taken.stderr.count("\n") == 1, taken.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr
