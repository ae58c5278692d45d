"""Versions: a changed article keeps its earlier texts; an unchanged one only moves on.

Real ``scrapy crawl replay`` runs (whose stats land in ``crawl_runs``) archive a page and
then a changed copy of it under the same URL; further captures go straight through the
archive writer, each after the extraction and dedupe steps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, ArticleVersion, CrawlRun, StoryBand
from archive.writer import Archive
from crawler.items import Page
from pipelines.dedupe import DedupePipeline
from pipelines.extract import extract_to_dict
from pipelines.keys.copies import content_hash, story_signature
from tests.conftest import run_scrapy

URL = "https://news.example/desh/bridge-opened"
OTHER_URL = "https://news.example/desh/monsoon"
T1 = datetime(2025, 8, 1, 6, 0, tzinfo=UTC)

PAGE = """<!DOCTYPE html><html lang="hi"><head><meta charset="utf-8">
<title>{title}</title><meta property="og:type" content="article"></head><body>
<nav><a href="/">होम</a> <a href="/desh">देश</a></nav>
<article><h1>{title}</h1>
{paragraphs}
</article><footer>© 2025 न्यूज़ उदाहरण</footer></body></html>
"""
BRIDGE = [
    "पटना, 1 अगस्त (पीटीआई)। गंगा नदी पर बने नए पुल का उद्घाटन शुक्रवार को मुख्यमंत्री ने "
    "किया, जिससे उत्तर और दक्षिण बिहार के बीच यात्रा का समय लगभग दो घंटे कम हो जाएगा।",
    "अधिकारियों ने बताया कि पुल की लंबाई साढ़े नौ किलोमीटर है और इसे बनाने में छह साल लगे। "
    "इस परियोजना पर लगभग तीन हजार करोड़ रुपये खर्च हुए हैं।",
    "स्थानीय व्यापारियों ने कहा कि पुल खुलने से सब्जियों और अनाज को बाजार तक पहुंचाना आसान "
    "होगा और किसानों को बेहतर दाम मिलेंगे।",
]
# The outlet corrected a figure and added a paragraph after publishing.
BRIDGE_CORRECTED = [
    BRIDGE[0],
    BRIDGE[1].replace("तीन हजार", "साढ़े तीन हजार"),
    BRIDGE[2],
    "अपडेट: राज्य सरकार ने बताया कि पुल पर भारी वाहनों की आवाजाही अगले महीने से शुरू होगी।",
]
MONSOON = [
    "मौसम विभाग ने अगले तीन दिनों में उत्तर भारत के कई हिस्सों में भारी बारिश की चेतावनी जारी "
    "की है और लोगों से नदियों के किनारे न जाने की अपील की है।",
    "दिल्ली में सुबह से रुक-रुक कर बारिश हो रही है, जिससे कई इलाकों में जलभराव की खबरें आईं।",
]


def html(title: str, paragraphs: list[str]) -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return PAGE.format(title=title, paragraphs=body).encode("utf-8")


def replay_folder(folder: Path, fetched_at: datetime, pages: dict[str, bytes]) -> Path:
    folder.mkdir()
    lines = []
    for number, (url, body) in enumerate(pages.items()):
        (folder / f"{number}.html").write_bytes(body)
        lines.append(json.dumps(
            {"file": f"{number}.html", "url": url, "fetched_at": fetched_at.isoformat()}
        ))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def replay(folder: Path, database_url: str) -> dict[str, object]:
    result = run_scrapy("crawl", "replay", "-a", f"path={folder}", "-s", "EXTRACT_WORKERS=0",
                        database_url=database_url)
    assert result.returncode == 0, result.stderr[-3000:]
    engine = open_database(database_url)
    with Session(engine) as session:
        stats = session.scalars(select(CrawlRun.stats).order_by(CrawlRun.id.desc())).first()
    engine.dispose()
    assert stats is not None
    return stats


def capture(url: str, body: bytes, fetched_at: datetime) -> Page:
    """A page through the real extraction and dedupe steps."""
    page = Page(url=url, fetched_at=fetched_at, body=body,
                headers={"content-type": "text/html; charset=utf-8"}, source="news.example")
    page.article = extract_to_dict(body, url, page.headers)["article"]
    return DedupePipeline().process_item(page)


def test_a_changed_page_is_kept_as_versions_and_an_unchanged_one_only_moves_last_seen(
    database_url: str, tmp_path: Path
) -> None:
    first = replay(replay_folder(tmp_path / "first", T1, {
        URL: html("गंगा पर नया पुल खुला", BRIDGE), OTHER_URL: html("भारी बारिश", MONSOON),
    }), database_url)
    assert first["archive/outcome/new"] == 2

    t2 = T1 + timedelta(hours=5)
    second = replay(replay_folder(tmp_path / "second", t2, {
        URL: html("गंगा पर नया पुल खुला", BRIDGE_CORRECTED),
        OTHER_URL: html("भारी बारिश", MONSOON),
    }), database_url)
    assert second["archive/outcome/updated"] == 1
    assert second["archive/outcome/unchanged"] == 1
    assert "archive/outcome/new" not in second

    archive = Archive(open_database(database_url))
    with Session(archive.engine) as session:
        bridge = session.scalars(select(Article).where(Article.url == URL)).one()
        assert "साढ़े तीन हजार" in bridge.text and "अपडेट:" in bridge.text  # the latest
        assert bridge.version == 2
        assert (bridge.first_seen_at, bridge.last_seen_at) == (T1, t2)
        assert bridge.content_hash == content_hash(bridge.text)
        old = session.scalars(select(ArticleVersion)).one()
        assert old.article_id == bridge.id and old.version == 1
        assert "लगभग तीन हजार" in old.text and "अपडेट:" not in old.text
        assert old.content_hash == content_hash(old.text) != bridge.content_hash
        assert (old.first_seen_at, old.replaced_at) == (T1, t2)
        # The story index follows the latest text: one row per band, of the new text.
        bands = session.scalars(
            select(StoryBand.hash).where(StoryBand.article_id == bridge.id)
            .order_by(StoryBand.band)
        ).all()
        assert bands == story_signature(bridge.text)["bands"]
        assert bridge.story_id == bridge.id  # still its own story, not merged elsewhere
        monsoon = session.scalars(select(Article).where(Article.url == OTHER_URL)).one()
        assert (monsoon.version, monsoon.first_seen_at, monsoon.last_seen_at) == (1, T1, t2)

    # Seen again unchanged: only last_seen_at moves.
    t3 = t2 + timedelta(days=1)
    again = capture(URL, html("गंगा पर नया पुल खुला", BRIDGE_CORRECTED), t3)
    archive.write([again], None)
    assert again.outcome == "unchanged"
    # Changed once more: version 2, first seen at t2, is kept as well.
    t4 = t3 + timedelta(days=1)
    third = capture(URL, html("गंगा पर नया पुल खुला", [*BRIDGE_CORRECTED, MONSOON[1]]), t4)
    archive.write([third], None)
    assert third.outcome == "updated"
    with Session(archive.engine) as session:
        bridge = session.scalars(select(Article).where(Article.url == URL)).one()
        assert (bridge.version, bridge.last_seen_at) == (3, t4)
        versions = session.execute(
            select(ArticleVersion.version, ArticleVersion.first_seen_at,
                   ArticleVersion.replaced_at).order_by(ArticleVersion.version)
        ).all()
        assert versions == [(1, T1, t2), (2, t2, t4)]
    archive.engine.dispose()


def test_a_page_new_and_changed_within_one_batch_is_stored_as_two_versions(
    database_url: str,
) -> None:
    """The batch inserts its new articles before linking stories: a page first seen and
    then changed inside one batch still gets its version row, its latest bands, and an
    exact copy of it in the same batch the original's story."""
    archive = Archive(open_database(database_url))
    first = capture(URL, html("गंगा पर नया पुल खुला", BRIDGE), T1)
    changed = capture(URL, html("गंगा पर नया पुल खुला", BRIDGE_CORRECTED), T1 + timedelta(hours=1))
    mirror = capture("https://mirror.example/bridge",
                     html("गंगा पर नया पुल खुला", BRIDGE_CORRECTED), T1 + timedelta(hours=2))
    archive.write([first, changed, mirror], None)
    assert [p.outcome for p in (first, changed, mirror)] == ["new", "updated", "duplicate"]
    with Session(archive.engine) as session:
        bridge = session.scalars(select(Article).where(Article.url == URL)).one()
        copy = session.scalars(select(Article).where(Article.url == mirror.url)).one()
        assert bridge.version == 2 and "अपडेट:" in bridge.text
        old = session.scalars(select(ArticleVersion)).one()
        assert (old.article_id, old.version, old.replaced_at) == (bridge.id, 1, changed.fetched_at)
        bands = session.scalars(
            select(StoryBand.hash).where(StoryBand.article_id == bridge.id)
            .order_by(StoryBand.band)
        ).all()
        assert bands == story_signature(bridge.text)["bands"]
        assert (copy.duplicate_of_id, copy.story_id) == (bridge.id, bridge.story_id)
    archive.engine.dispose()
