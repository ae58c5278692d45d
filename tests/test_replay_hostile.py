"""Replay of a hostile folder: every bad entry is one failed capture with its reason, the
good pages beside them are all archived, nothing outside the folder is read, and a signal
stops a replay cleanly. Real ``scrapy crawl replay`` runs into a real database."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.database import open_database
from archive.models import Article, Capture, CrawlRun
from crawler.items import Page
from crawler.spiders.replay import FileToRead, ReplaySpider
from tests.conftest import REPO, SEEDS
from tests.test_replay import ENGLISH_BODY, article_html, replay

SECRET = "Zanzibar-secret-7781"
MAX_SIZE = 200_000  # DOWNLOAD_MAXSIZE of the corpus run: small files can exceed it


def story(name: str) -> bytes:
    """An article page of its own text (no two good pages are duplicates)."""
    return article_html(f"Story {name}", [f"{name} report. {s}" for s in ENGLISH_BODY])


def warc(path: Path, *records: tuple[str | None, bytes, dict[str, str]]) -> None:
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=path.name.endswith(".gz"))
        for url, body, extra in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict={"WARC-Date": "2025-06-06T03:00:00Z", **extra}))


def build_corpus(root: Path) -> tuple[Path, dict[str, str], set[str], list[str]]:
    """The replayed folder, {capture key: expected reason}, the URLs of the good pages,
    and the cases left out (and why)."""
    outside = root / "outside"
    outside.mkdir()
    secret_page = article_html("Secret", [f"{SECRET} {s}" for s in ENGLISH_BODY])
    (outside / "secret.html").write_bytes(secret_page)
    (outside / "manifest.jsonl").write_text(
        json.dumps({"file": "secret.html", "url": "https://cases.test/outside-manifest"}) + "\n")
    folder = root / "replayed"
    (folder / "sub").mkdir(parents=True)
    expected: dict[str, str] = {}
    good: set[str] = set()
    skipped: list[str] = []

    def found(name: str, reason: str | None, write: Callable[[Path], object] | None) -> None:
        path = folder / name
        if write is not None:
            write(path)
        if reason:
            expected[path.as_uri()] = reason
        else:
            good.add(path.as_uri())

    # Good pages of every kind, beside the bad ones.
    found("good.html", None, lambda p: p.write_bytes(story("good")))
    found("good.txt", None, lambda p: shutil.copy(sorted(SEEDS.glob("*.txt"))[0], p))
    found("good.html.gz", None, lambda p: p.write_bytes(gzip.compress(story("gzipped"))))
    found("sub/good.htm", None, lambda p: p.write_bytes(story("nested")))
    (folder / "sub" / "real-page.dat").write_bytes(story("linked"))
    found("link-inside.html", None, lambda p: p.symlink_to("sub/real-page.dat"))
    non_utf8 = Path(os.fsdecode(bytes(folder / "caf") + b"\xe9.html"))
    non_utf8.write_bytes(story("latin-1 name"))
    good.add(non_utf8.as_uri())
    (folder / "listed.html").write_bytes(story("listed"))
    good.add("https://cases.test/listed")

    # Files that cannot be pages.
    found("empty.txt", "empty", lambda p: p.write_bytes(b""))
    found("binary.html", "binary", lambda p: p.write_bytes(bytes(range(256)) * 64))
    found("latin1.txt", "invalid-utf8",
          lambda p: p.write_bytes("café crème brûlée".encode("latin-1") * 100))
    found("huge.html", "too-large", lambda p: p.write_bytes(story("huge") * 200))
    found("not-gzip.html.gz", "bad-gzip", lambda p: p.write_bytes(story("plain")))
    found("cut.html.gz", "bad-gzip", lambda p: p.write_bytes(gzip.compress(story("cut"))[:200]))
    found("bomb.html.gz", "too-large",
          lambda p: p.write_bytes(gzip.compress(b" " * 50 * MAX_SIZE)))
    found("fifo.html", "not-a-file", os.mkfifo)
    found("socket.htm", "not-a-file", lambda p: os.mknod(p, 0o600 | stat.S_IFSOCK))
    try:
        os.mknod(folder / "device.html", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        expected[(folder / "device.html").as_uri()] = "not-a-file"
    except PermissionError:
        skipped.append("device.html: creating a device needs CAP_MKNOD")
    found("fifo.warc.gz", "not-a-file", os.mkfifo)
    if os.geteuid() == 0:
        skipped.append("unreadable.html, locked/: root reads files and folders without "
                       "permission, so permission-denied cannot happen")
    else:
        found("unreadable.html", "unreadable-file",
              lambda p: (p.write_bytes(story("unreadable")), p.chmod(0)))
        found("locked", "unreadable-folder", lambda p: (p.mkdir(), p.chmod(0)))

    # Symbolic links.
    found("dangling.html", "broken-symlink", lambda p: p.symlink_to("nowhere.html"))
    found("loop.html", "symlink-loop", lambda p: p.symlink_to("loop.html"))
    found("link-out.html", "outside-folder", lambda p: p.symlink_to(outside / "secret.html"))
    found("link-out-folder", "outside-folder", lambda p: p.symlink_to(outside))
    (folder / "link-in-folder").symlink_to("sub")  # skipped: sub is replayed anyway
    found("link-out.warc.gz", "outside-folder", lambda p: p.symlink_to(outside / "x.warc.gz"))

    # WARC files.
    body = story("from a WARC")
    found("empty.warc.gz", "empty", lambda p: p.write_bytes(b""))
    found("garbage.warc.gz", "not-a-warc", lambda p: p.write_bytes(b"no WARC here\n" * 20))
    found("gzipped-garbage.warc.gz", "not-a-warc",
          lambda p: p.write_bytes(gzip.compress(b"no WARC here\n" * 20)))
    found("no-uri.warc.gz", "warc-bad-record", lambda p: warc(
        p, (None, story("no address"), {}), ("https://cases.test/warc-good", body, {})))
    good.add("https://cases.test/warc-good")
    found("javascript.warc.gz", "bad-url",
          lambda p: warc(p, ("javascript:alert(1)", story("js"), {})))
    found("no-host.warc", "bad-url", lambda p: warc(p, ("http:///path", story("nohost"), {})))
    found("bad-date.warc.gz", "warc-bad-record",
          lambda p: warc(p, ("https://cases.test/bad-date", story("date"), {"WARC-Date": "x"})))
    whole = folder / "whole.warc"
    warc(whole, ("https://cases.test/cut-1", story("cut one"), {}),
         ("https://cases.test/cut-2", story("cut two"), {}))
    found("cut.warc", "warc-truncated", lambda p: p.write_bytes(whole.read_bytes()[:-300]))
    whole.unlink()
    good.add("https://cases.test/cut-1")
    # A WARC file whose own name is not UTF-8: its captures could not name it.
    latin_name = Path(os.fsdecode(bytes(folder) + b"/archiv\xe9.warc.gz"))
    warc(latin_name, ("https://cases.test/in-latin-name", story("latin name"), {}))
    expected[latin_name.as_uri()] = "bad-file-name"

    # A folder whose manifest is a folder, one whose manifest is a link out.
    (folder / "odd" / "manifest.jsonl").mkdir(parents=True)
    expected[(folder / "odd" / "manifest.jsonl").as_uri()] = "not-a-file"
    found("odd/unlisted.html", None, lambda p: p.write_bytes(story("beside a folder")))
    (folder / "out").mkdir()
    found("out/manifest.jsonl", "outside-folder",
          lambda p: p.symlink_to(outside / "manifest.jsonl"))
    (folder / "lost").mkdir()
    found("lost/manifest.jsonl", "broken-symlink", lambda p: p.symlink_to("gone.jsonl"))
    found("lost/page.html", None, lambda p: p.write_bytes(story("beside a lost manifest")))

    # The manifest: one case a line.
    manifest = folder / "manifest.jsonl"
    lines: list[tuple[bytes, str | None]] = [
        (b'{"file": "../outside/secret.html", "url": "https://cases.test/dotdot"}',
         "outside-folder"),
        (json.dumps({"file": str(outside / "secret.html"),
                     "url": "https://cases.test/absolute"}).encode(), "outside-folder"),
        (b'{"file": "link-out-folder/secret.html", "url": "https://cases.test/via-link"}',
         "outside-folder"),
        (b'{"file": "listed.html", "url": "javascript:alert(1)"}', "bad-url"),
        (b'{"file": "listed.html", "url": "data:text/html,<p>hi</p>"}', "bad-url"),
        (b'{"file": "listed.html", "url": "ftp://cases.test/a.html"}', "bad-url"),
        (b'{"file": "listed.html", "url": ""}', "bad-url"),
        (b'{"file": "listed.html", "url": "https://"}', "bad-url"),
        (b'{"file": "listed.html", "url": 42}', "bad-url"),
        (b"this is not json", "bad-manifest-line"),
        (b'["file", "url"]', "bad-manifest-line"),
        (b'{"url": "https://cases.test/no-file"}', "bad-manifest-line"),
        (b'{"file": "good.html", "url": "https://cases.test/t", "fetched_at": 12}',
         "bad-manifest-line"),
        (b'{"file": "good.html", "url": "https://cases.test/t", "fetched_at": "soon"}',
         "bad-manifest-line"),
        (b'{"file": "caf\xe9.html", "url": "https://cases.test/latin-1-line"}',
         "bad-manifest-line"),
        (b'{"file": "gone.html", "url": "https://cases.test/gone"}', "missing-file"),
        (b'{"file": "sub", "url": "https://cases.test/a-folder"}', "not-a-file"),
        (b'{"file": "sub/real-page.dat", "url": "https://cases.test/not-a-page"}',
         "not-a-page"),
        (b'{"file": "listed.html", "url": "https://cases.test/listed", '
         b'"fetched_at": "2025-06-06T03:00:00Z"}', None),
    ]
    manifest.write_bytes(b"".join(line + b"\n" for line, _ in lines))
    for number, (line, reason) in enumerate(lines, 1):
        if reason in ("bad-url", "bad-manifest-line"):  # the line is the capture
            expected[f"{manifest.as_uri()}#line={number}"] = reason
        elif reason:  # the file it names is, under the URL the line gives
            expected[json.loads(line)["url"]] = reason
    return folder, expected, good, skipped


def test_every_bad_entry_is_one_failed_capture_and_every_good_page_is_archived(
    database_url: str, tmp_path: Path
) -> None:
    folder, expected, good, skipped = build_corpus(tmp_path)
    assert len(expected) >= 40, "the corpus shrank"
    result = replay(folder, database_url, "-s", f"DOWNLOAD_MAXSIZE={MAX_SIZE}")
    assert result.returncode == 1, result.stderr[-3000:]  # pages failed; the run did not
    assert "Traceback" not in result.stderr

    engine = open_database(database_url)
    with Session(engine) as session:
        captures = session.execute(
            select(Capture.url, Capture.error, Capture.error_detail, Capture.local_path,
                   Capture.content_hash)
        ).all()
        articles = session.scalars(select(Article)).all()
        run = session.scalars(select(CrawlRun)).one()
    engine.dispose()

    failed = {re.sub(r"#offset=\d+$", "", url): error for url, error, *_ in captures if error}
    assert failed == expected, f"cases left out: {skipped}"
    assert all(len(detail) > 20 for _, error, detail, *_ in captures if error)
    archived = {url for url, error, *_ in captures if not error}
    assert archived == good
    assert len(articles) == len(good)  # every good page is an article, none is lost
    # Nothing outside the folder was read: not as a page, nor as a manifest.
    secret = hashlib.sha256((tmp_path / "outside" / "secret.html").read_bytes()).hexdigest()
    assert all(SECRET not in (a.text + a.title) for a in articles)
    assert secret not in {content_hash for *_, content_hash in captures}
    assert "https://cases.test/outside-manifest" not in {url for url, *_ in captures}
    # A file name that is not UTF-8: archived, its bytes kept visible, and counted.
    (non_utf8,) = [path for _, _, _, path, _ in captures if path and "caf\\xe9" in path]
    assert non_utf8 == str(folder / "caf") + "\\xe9.html"
    assert run.stats["replay/non-utf8-file-name"] == 1
    assert run.stats["replay/skipped/folder-symlink"] == 1
    assert run.stats["archive/failed"] == len(expected)
    assert run.status == "failed" and run.finished_at is not None


def test_a_file_gone_between_listing_and_reading_is_missing_file(tmp_path: Path) -> None:
    """The race no subprocess can time: the folder is listed, then a file goes."""
    for name in ("a.html", "b.html"):
        (tmp_path / name).write_bytes(story(name))
    spider = ReplaySpider.from_crawler(get_crawler(ReplaySpider), path=str(tmp_path))
    items = spider.pages()
    first = next(items)  # the folder is listed now
    (tmp_path / "b.html").unlink()
    second = next(items)
    assert isinstance(first, FileToRead) and isinstance(second, FileToRead)
    assert spider.read(first).error is None
    gone = spider.read(second)
    assert isinstance(gone, Page) and gone.error == "missing-file"
    assert str(tmp_path / "b.html") in (gone.error_detail or "")


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_replay_and_keeps_what_was_read(
    database_url: str, tmp_path: Path, signal_number: int
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(3000):
        (folder / f"{number:05d}.html").write_bytes(story(f"page {number}"))
    os.mkfifo(folder / "01500.fifo.html")  # never opened: it would hang the reader thread
    environment = {**os.environ, "DATABASE_URL": database_url}
    engine = open_database(database_url)  # the schema, before the replay starts
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "replay", "-a", f"path={folder}",
         "-s", f"WARC_DIR={tmp_path / 'warc'}", "-s", "STORE_BATCH_SIZE=20",
         "-s", "STORE_FLUSH_SECONDS=0.2"],
        cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def stored() -> int:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Capture)) or 0

    try:
        while not stored():  # the first pages are in: stop it midway
            assert process.poll() is None, process.communicate()[1][-3000:]
            time.sleep(0.1)
        process.send_signal(signal_number)
        _, stderr = process.communicate(timeout=120)  # exits by itself
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, stderr[-3000:]  # the run was cut short: not a whole run
    assert "Traceback" not in stderr
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
        kept = session.scalar(select(func.count()).select_from(Capture))
        articles = session.scalar(select(func.count()).select_from(Article))
    engine.dispose()
    assert run.status == "interrupted" and run.finished_at is not None
    assert run.finish_reason == "shutdown"
    assert 0 < kept == run.stats["archive/pages"]
    assert articles == run.stats["archive/outcome/new"]
