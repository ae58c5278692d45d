"""Offline replay, end to end: real `scrapy crawl replay` runs into a real database."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, Capture, CrawlRun, Source
from tests.conftest import SEEDS, run_scrapy

ARTICLE_HTML = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{title} | Example News</title>
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta property="article:published_time" content="2025-06-06T07:26:00+05:30">
<meta name="author" content="Asha Verma">
</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>{title}</h1>
{paragraphs}
</article><footer>Copyright Example News</footer></body></html>
"""


def article_html(title: str, sentences: list[str], lang: str = "en") -> bytes:
    paragraphs = "\n".join(f"<p>{s}</p>" for s in sentences)
    return ARTICLE_HTML.format(title=title, paragraphs=paragraphs, lang=lang).encode("utf-8")


ENGLISH_BODY = [
    "The city council approved the new flood defence plan on Tuesday after a long debate "
    "that lasted well into the night and drew hundreds of residents to the town hall.",
    "Engineers said the barrier along the river would protect more than four thousand homes "
    "from the kind of flooding that struck the district twice in the last decade.",
    "Work is expected to begin in the spring and to take about three years, officials said, "
    "with the first section finished before the next monsoon season arrives.",
]


def replay(path: Path, database_url: str, *args: str):
    return run_scrapy("crawl", "replay", "-a", f"path={path}", *args, database_url=database_url)


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            "articles": session.scalar(select(func.count()).select_from(Article)),
            "captures": session.scalar(select(func.count()).select_from(Capture)),
            "runs": session.scalar(select(func.count()).select_from(CrawlRun)),
            "sources": session.scalar(select(func.count()).select_from(Source)),
        }


def test_replay_of_the_seeds_archives_five_articles_and_reruns_add_nothing(
    database_url: str, tmp_path: Path
) -> None:
    first = replay(SEEDS, database_url)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "5 new" in first.stdout and "failures: 0" in first.stdout

    engine = open_database(database_url)
    with Session(engine) as session:
        articles = session.scalars(select(Article).order_by(Article.url)).all()
        assert len(articles) == 5
        assert all(a.title and len(a.text) > 500 and a.language == "hi" for a in articles)
        assert all(a.url.startswith("file://") and a.url.endswith(".txt") for a in articles)
        seen_before = {a.url: a.last_seen_at for a in articles}
        run = session.scalars(select(CrawlRun)).one()
        assert run.status == "finished" and run.finished_at is not None
        assert run.stats["archive/outcome/new"] == 5 and run.arguments["path"] == str(SEEDS)

    # A second replay of the same pages, seen later: no new article, only last_seen_at.
    later = tmp_path / "seeds"
    shutil.copytree(SEEDS, later)
    for path in later.iterdir():
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 3600))
    (later / "manifest.jsonl").write_text(
        "".join(
            json.dumps({"file": p.name, "url": (SEEDS / p.name).as_uri()}) + "\n"
            for p in sorted(later.glob("*.txt"))
        )
    )
    second = replay(later, database_url)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "0 new" in second.stdout and "5 unchanged" in second.stdout
    # Two sources: "seeds", and "The Printlines" that seeds/manifest.jsonl names for 002.
    assert counts(engine) == {"articles": 5, "captures": 10, "runs": 2, "sources": 2}
    with Session(engine) as session:
        for article in session.scalars(select(Article)):
            assert article.last_seen_at > seen_before[article.url]
            assert article.first_seen_at < article.last_seen_at
    engine.dispose()


def test_manifest_gives_each_file_its_real_url_and_fetch_time(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a.html").write_bytes(article_html("Flood plan approved", ENGLISH_BODY))
    with gzip.open(tmp_path / "b.html.gz", "wb") as stream:
        stream.write(article_html("Flood plan approved", ENGLISH_BODY))
    (tmp_path / "manifest.jsonl").write_text(
        json.dumps({
            "file": "a.html",
            "url": "https://WWW.Example.com/city/flood-plan?utm_source=rss&id=7#comments",
            "fetched_at": "2025-06-06T03:00:00Z",
        })
        + "\n"
        + json.dumps({"file": "b.html.gz", "url": "https://mirror.example.org/flood"})
        + "\n"
    )
    result = replay(tmp_path, database_url, "-a", "source=Example News")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 new" in result.stdout and "1 duplicate" in result.stdout

    engine = open_database(database_url)
    with Session(engine) as session:
        articles = session.scalars(select(Article)).all()
        # Either file may be extracted first (worker processes): the first stored is
        # the original, the other its linked duplicate.
        original = next(a for a in articles if a.duplicate_of_id is None)
        copy = next(a for a in articles if a.duplicate_of_id is not None)
        by_url = {a.url: a for a in articles}
        assert set(by_url) == {
            "https://www.example.com/city/flood-plan?id=7",
            "https://mirror.example.org/flood",
        }
        stated = by_url["https://www.example.com/city/flood-plan?id=7"]
        assert stated.title == "Flood plan approved"
        assert stated.published_at == "2025-06-06T07:26:00+05:30"
        assert stated.first_seen_at.isoformat() == "2025-06-06T03:00:00+00:00"
        # The same text under another URL: kept, and linked to the first copy.
        assert copy.content_hash == original.content_hash
        assert copy.duplicate_of_id == original.id
        source = session.scalars(select(Source)).one()
        assert source.name == "Example News" and original.source_id == source.id
    engine.dispose()


def test_each_file_is_replayed_once_whichever_manifests_name_it(
    database_url: str, tmp_path: Path
) -> None:
    """Named twice by one manifest, named by a parent folder's manifest, or not named at
    all: every file becomes exactly one capture (listed files under their stated URL)."""
    pages = {name: article_html(f"Story {name}", [f"{name}: {s}" for s in ENGLISH_BODY])
             for name in ("twice", "nested", "unlisted", "sub-unlisted")}
    (tmp_path / "sub").mkdir()
    for name, body in pages.items():
        folder = tmp_path / "sub" if name.startswith(("nested", "sub-")) else tmp_path
        (folder / f"{name}.html").write_bytes(body)
    lines = [{"file": "twice.html", "url": "https://example.com/twice"},
             {"file": "sub/nested.html", "url": "https://example.com/nested"},
             {"file": "twice.html", "url": "https://example.com/twice-again"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    # The subfolder's own manifest names the nested file again, under another URL.
    (tmp_path / "sub" / "manifest.jsonl").write_text(
        json.dumps({"file": "nested.html", "url": "https://example.com/nested-again"}) + "\n")

    result = replay(tmp_path, database_url)
    assert result.returncode == 0, result.stderr[-3000:]
    engine = open_database(database_url)
    with Session(engine) as session:
        captured = sorted(session.execute(select(Capture.url, Capture.local_path)).all())
    engine.dispose()
    assert captured == sorted([
        ("https://example.com/twice", str(tmp_path / "twice.html")),
        ("https://example.com/nested", str(tmp_path / "sub" / "nested.html")),
        ((tmp_path / "unlisted.html").as_uri(), str(tmp_path / "unlisted.html")),
        ((tmp_path / "sub" / "sub-unlisted.html").as_uri(),
         str(tmp_path / "sub" / "sub-unlisted.html")),
    ])


def test_bad_input_is_recorded_with_its_reason_and_loses_nothing_else(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "good.html").write_bytes(article_html("Flood plan approved", ENGLISH_BODY))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.html").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "latin1.txt").write_bytes("café crème brûlée".encode("latin-1") * 100)
    with open(tmp_path / "huge.txt", "wb") as stream:
        stream.write(("बहुत लंबी फ़ाइल " * 4096).encode("utf-8") * 300)  # ~50 MB
    (tmp_path / "manifest.jsonl").write_text(
        "this is not json\n"
        + json.dumps({"file": "gone.html", "url": "https://x.test/gone"})
        + "\n"
    )
    result = replay(tmp_path, database_url)
    assert result.returncode == 1, result.stderr[-3000:]  # something failed, and it says so
    assert "1 new" in result.stdout

    engine = open_database(database_url)
    with Session(engine) as session:
        failures = dict(
            session.execute(
                select(Capture.local_path, Capture.error).where(Capture.outcome == "failed")
            ).all()
        )
        assert {Path(p).name: e for p, e in failures.items()} == {
            "empty.txt": "empty",
            "binary.html": "binary",
            "latin1.txt": "invalid-utf8",
            "huge.txt": "too-large",
            "manifest.jsonl": "bad-manifest-line",
            "gone.html": "missing-file",
        }
        details = session.scalars(select(Capture.error_detail).where(Capture.error.is_not(None)))
        assert all(detail and len(detail) > 20 for detail in details)
        assert session.scalar(select(func.count()).select_from(Article)) == 1
        run = session.scalars(select(CrawlRun)).one()
        assert run.status == "failed"
        assert run.stats["archive/failed"] == 6
        assert run.stats["archive/failed/too-large"] == 1
    engine.dispose()


def test_a_missing_replay_path_fails_the_run(database_url: str) -> None:
    result = replay(Path("does/not/exist"), database_url)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
