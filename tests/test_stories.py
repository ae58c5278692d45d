"""Stories: copies of one story across outlets share a story id; distinct stories never do.

Copies are made the way outlets make them, from the seeds' real text: another site's HTML
template with another headline and a wire dateline, a copy trimmed to its first
paragraphs, a sub-edited copy. Pages go through the real extraction and dedupe steps and
the real archive writer, or through real ``scrapy crawl replay`` processes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from datasketch import MinHash, MinHashLSH
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, CrawlRun, Source, Story, StoryBand
from archive.stories import (
    RecentShingles,
    band_parameters,
    candidates_query,
    story_window,
)
from archive.writer import Archive
from crawler.items import Page
from pipelines.dedupe import DedupePipeline
from pipelines.extract import extract_to_dict
from pipelines.extraction.normalize import words
from pipelines.keys.copies import band_hashes, content_hash, dedupe_keys, minhash
from pipelines.keys.shingles import (
    BANDS,
    LEAD_BANDS,
    LEAD_WORDS,
    LSH_THRESHOLD,
    NUM_PERM,
    shingle_hashes,
    shingles,
)
from tests.conftest import SEEDS, loaded_modules, reset_postgres, run_scrapy

SEED_FILES = sorted(SEEDS.glob("*.txt"))
FETCHED_AT = datetime(2025, 8, 14, 6, 0, tzinfo=UTC)

TEMPLATE = """<!DOCTYPE html><html lang="hi"><head><meta charset="utf-8">
<title>{title} | {site}</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="{published}">
</head><body>
<header class="{css}-top"><nav><a href="/">होम</a> <a href="/desh">देश</a>
<a href="/videsh">विदेश</a> <a href="/khel">खेल</a></nav></header>
<div class="{css}-wrap"><article class="{css}-story"><h1>{title}</h1>
{paragraphs}
</article>
<aside class="{css}-side"><h3>यह भी पढ़ें</h3><ul><li><a href="/a">शेयर बाजार में तेजी</a></li>
<li><a href="/b">मानसून ने दी दस्तक</a></li></ul></aside></div>
<footer>© 2025 {site}. सर्वाधिकार सुरक्षित.</footer></body></html>
"""
DATELINE = "नई दिल्ली, 13 अगस्त (आईएएनएस)। "


@functools.cache
def seed_text(number: int) -> tuple[str, list[str]]:
    """(title, paragraphs) of a seed as the text-page extractor reads it."""
    path = SEED_FILES[number]
    article = extract_to_dict(path.read_bytes(), path.as_uri(), {"content-type": "text/plain"})
    title, body = article["article"]["title"], article["article"]["text"]
    return title, [p for p in body.split("\n") if p.strip()]


def html_page(site: str, title: str, paragraphs: list[str], published: str) -> bytes:
    return TEMPLATE.format(
        site=site, css=site.split(".")[0], title=title, published=published,
        paragraphs="\n".join(f"<p>{p}</p>" for p in paragraphs),
    ).encode("utf-8")


def sub_edit(paragraphs: list[str]) -> list[str]:
    """A sub-editor's pass: one sentence dropped, a few words changed."""
    edited = [p.replace("ने कहा", "ने बताया").replace("लेकिन", "मगर") for p in paragraphs]
    sentences = edited[1].split("।")
    edited[1] = "।".join(sentences[:1] + sentences[2:])
    return edited


def copies(number: int) -> dict[str, tuple[str, bytes, str]]:
    """Kind -> (URL, body, content type): a seed and its copies on three other outlets."""
    title, paragraphs = seed_text(number)
    day = f"2024-01-{10 + number:02d}"  # before every seed's own date
    trimmed = paragraphs[: max(2, len(paragraphs) * 35 // 100)]
    return {
        "original": (
            f"https://seed.example/{number}.txt",
            SEED_FILES[number].read_bytes(),
            "text/plain; charset=utf-8",
        ),
        "other template, headline, dateline": (
            f"https://wire-one.example/world/{number}.html",
            html_page("wire-one.example", f"बड़ी खबर: {title[:30]} ...",
                      [DATELINE + paragraphs[0], *paragraphs[1:]], f"{day}T09:00:00+05:30"),
            "text/html; charset=utf-8",
        ),
        "trimmed": (
            f"https://short-news.example/n/{number}.html",
            html_page("short-news.example", title, trimmed, f"{day}T10:00:00+05:30"),
            "text/html; charset=utf-8",
        ),
        "edited": (
            f"https://desk.example/story-{number}.html",
            html_page("desk.example", title, sub_edit(paragraphs), f"{day}T08:00:00+05:30"),
            "text/html; charset=utf-8",
        ),
    }


@functools.cache
def extracted(url: str, body: bytes, content_type: str) -> Page:
    """A page through the real extraction and dedupe steps (cached: copy before use)."""
    page = Page(url=url, fetched_at=FETCHED_AT, body=body,
                headers={"content-type": content_type}, source=urlsplit(url).hostname)
    result = extract_to_dict(body, url, page.headers)
    assert "article" in result, result
    page.article = result["article"]
    return DedupePipeline().process_item(page)


def fresh_page(url: str, body: bytes, content_type: str) -> Page:
    page = extracted(url, body, content_type)
    return dataclasses.replace(page, article=dict(page.article or {}), outcome=None)


def expected_stories(numbers: range = range(5)) -> set[frozenset[str]]:
    return {frozenset(url for url, _, _ in copies(n).values()) for n in numbers}


def stories_of(archive: Archive) -> set[frozenset[str]]:
    """The archive's stories, each as the set of its articles' URLs; and the ``stories``
    table must say of each exactly what its copies say (however they were linked)."""
    groups: dict[int, set[str]] = defaultdict(set)
    with Session(archive.engine) as session:
        for url, story_id in session.execute(select(Article.url, Article.story_id)):
            assert story_id is not None, f"{url} has no story"
            groups[story_id].add(url)
        assert stories_table(session) == stories_from_copies(session)
    return {frozenset(urls) for urls in groups.values()}


def stories_table(session: Session) -> dict[int, tuple]:
    return {row[0]: tuple(row) for row in session.execute(select(
        Story.story_id, Story.title, Story.first_article_id, Story.first_url,
        Story.first_source, Story.first_published_at, Story.first_published_at_utc,
        Story.wire_agency, Story.copies, Story.outlets, Story.first_seen_at,
        Story.last_seen_at))}


def stories_from_copies(session: Session) -> dict[int, tuple]:
    """What ``stories`` holds by definition (README), computed from the articles."""
    groups: dict[int, list[tuple[Article, str | None]]] = defaultdict(list)
    for article, source in session.execute(
            select(Article, Source.name).outerjoin(Source, Source.id == Article.source_id)):
        groups[article.story_id].append((article, source))
    rows = {}
    for story_id, members in groups.items():
        first, source = min(members, key=lambda member: (
            member[0].published_at_utc is None, member[0].published_at_utc or FETCHED_AT,
            member[0].first_seen_at, member[0].id))
        agencies = [a.wire_agency for a, _ in members if a.wire_agency]
        rows[story_id] = (
            story_id, first.title, first.id, first.url, source, first.published_at,
            first.published_at_utc, max(agencies, default=None), len(members),
            len({a.source_id for a, _ in members if a.source_id is not None}),
            min(a.first_seen_at for a, _ in members), max(a.last_seen_at for a, _ in members))
    return rows


def write_in_order(database_url: str, pages: list[tuple[str, bytes, str]]) -> Archive:
    """Archive the pages one transaction each, in this order of arrival."""
    archive = Archive(open_database(database_url))
    for minute, page in enumerate(pages):
        arrival = FETCHED_AT + timedelta(minutes=minute)
        archive.write([dataclasses.replace(fresh_page(*page), fetched_at=arrival)], None)
    return archive


def test_copies_across_outlets_share_a_story_and_the_five_seeds_stay_five(
    database_url: str,
) -> None:
    archive = Archive(open_database(database_url))
    pages = [fresh_page(*page) for n in range(5) for page in copies(n).values()]
    # The same text again under another URL: an exact duplicate of the first seed.
    duplicate = fresh_page("https://mirror.example/0.txt", *copies(0)["original"][1:])
    archive.write([*pages, duplicate], None)
    assert duplicate.outcome == "duplicate"

    expected = expected_stories()
    zero = next(story for story in expected if copies(0)["original"][0] in story)
    assert stories_of(archive) == (expected - {zero}) | {zero | {duplicate.url}}

    with Session(archive.engine) as session:
        rows = session.execute(
            text("SELECT story_id, first_source, first_published_at, copies, outlets "
                 "FROM stories ORDER BY story_id")
        ).all()
        assert len(rows) == 5
        assert [(r.copies, r.outlets) for r in rows] == [(5, 5), (4, 4), (4, 4), (4, 4), (4, 4)]
        # The first published copy is the sub-edited one (08:00, before the others).
        assert {r.first_source for r in rows} == {"desk.example"}
        assert sorted(r.first_published_at for r in rows) == [
            f"2024-01-{10 + n:02d}T08:00:00+05:30" for n in range(5)
        ]
        representatives = session.execute(
            text("SELECT story_id, url FROM representative_articles")
        ).all()
        assert sorted(url for _, url in representatives) == sorted(
            copies(n)["edited"][0] for n in range(5)
        )
        agencies = dict(session.execute(select(Article.url, Article.wire_agency)).all())
    # The two IANS seeds state their agency; every wire-one copy carries an IANS dateline.
    assert agencies[copies(0)["original"][0]] == "IANS"
    assert agencies[copies(4)["original"][0]] == "IANS"
    assert {agencies[copies(n)["other template, headline, dateline"][0]] for n in range(5)} == {
        "IANS"
    }
    archive.engine.dispose()


def fresh_database(database_url: str, tmp_path: Path, name: str) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / name}.sqlite"
    reset_postgres(database_url)
    return database_url


def test_the_order_of_arrival_does_not_change_which_pages_end_up_together(
    database_url: str, tmp_path: Path
) -> None:
    pages = [page for n in (0, 4) for page in copies(n).values()]
    title, paragraphs = seed_text(4)
    half = len(paragraphs) // 2
    full, head, tail = (  # the two halves share nothing; the full story copies both
        (f"https://halves.example/{part}.html",
         html_page("halves.example", title, body, "2025-08-20T08:00:00+05:30"),
         "text/html; charset=utf-8")
        for part, body in (("full", paragraphs), ("head", paragraphs[:half]),
                           ("tail", paragraphs[half:]))
    )
    expected = {
        next(s for s in expected_stories(range(5)) if copies(0)["original"][0] in s),
        next(s for s in expected_stories(range(5)) if copies(4)["original"][0] in s)
        | {full[0], head[0], tail[0]},
    }

    # The halves alone are two stories; the full copy arriving later merges them.
    archive = write_in_order(fresh_database(database_url, tmp_path, "halves"), [head, tail])
    assert len(stories_of(archive)) == 2
    archive.write([fresh_page(*full)], None)
    assert stories_of(archive) == {frozenset({full[0], head[0], tail[0]})}
    archive.engine.dispose()

    shuffled = [*pages, full, head, tail]
    random.Random(7).shuffle(shuffled)
    orders = {
        "as listed, bridge first": [*pages, full, head, tail],
        "reversed, bridge last": [head, tail, *reversed(pages), full],
        "shuffled": shuffled,
    }
    for name, order in orders.items():
        archive = write_in_order(fresh_database(database_url, tmp_path, name.split(",")[0]), order)
        assert stories_of(archive) == expected, name
        archive.engine.dispose()


def outlet_copy(part: str, number: int, paragraphs: list[str]) -> tuple[str, bytes, str]:
    """Copy ``number`` of a text on an outlet of its own: the text and a line of its own."""
    site = f"outlet-{number}.example"
    body = [*paragraphs, f"({site} के लिए संवाददाता संख्या {number} की रिपोर्ट)"]
    return (f"https://{site}/{part}.html",
            html_page(site, seed_text(4)[0], body, "2025-08-20T08:00:00+05:30"),
            "text/html; charset=utf-8")


def test_stories_with_more_copies_than_a_bucket_is_read_for_still_link_and_merge(
    database_url: str, tmp_path: Path
) -> None:
    """Only the newest members of a band's bucket are read (here 2, so every bucket of
    these stories overflows), yet each copy still joins its story, and a page copying two
    stories still merges them, as when every member was read."""
    _, paragraphs = seed_text(4)
    half = len(paragraphs) // 2
    heads = [outlet_copy("head", n, paragraphs[:half]) for n in range(8)]
    tails = [outlet_copy("tail", n, paragraphs[half:]) for n in range(8, 16)]
    full = outlet_copy("full", 16, paragraphs)
    others = list(copies(0).values())
    archive = Archive(open_database(fresh_database(database_url, tmp_path, "capped")))
    archive.candidates_per_bucket = 2
    for minute, page in enumerate([*heads, *others, *tails]):
        arrival = FETCHED_AT + timedelta(minutes=minute)
        archive.write([dataclasses.replace(fresh_page(*page), fetched_at=arrival)], None)
    head_story = frozenset(url for url, _, _ in heads)
    tail_story = frozenset(url for url, _, _ in tails)
    other_story = frozenset(url for url, _, _ in others)
    assert stories_of(archive) == {head_story, tail_story, other_story}

    full_page = fresh_page(*full)
    bands = full_page.article["story_signature"]["bands"]
    with Session(archive.engine) as session:
        overflowing = session.execute(
            select(StoryBand.band).where(
                or_(*(and_(StoryBand.band == band, StoryBand.hash == value)
                      for band, value in enumerate(bands))))
            .group_by(StoryBand.band, StoryBand.hash).having(func.count() > 2)
        ).all()
        read = session.execute(candidates_query(len(bands), 2), band_parameters(bands)).all()
    assert overflowing  # the cap is what is being tested: buckets hold more than it reads
    assert len(read) <= 2 * len(bands) and len(read) < len(heads) + len(tails)

    archive.write([full_page], None)
    assert stories_of(archive) == {head_story | tail_story | {full[0]}, other_story}
    archive.engine.dispose()


def test_a_copy_links_even_when_the_shingle_cache_forgets_it_mid_batch(
    database_url: str, tmp_path: Path
) -> None:
    """A candidate's shingles come from the writer's cache of recent articles, else from
    its text, read with the batch's other candidates. Checking one page of a batch may
    cache a text it read and evict the candidate a later page of that batch was to find
    there: that copy must still be read, not taken for a text of nothing."""
    title, paragraphs = seed_text(1)
    same_lead = (  # seed 1 under seed 0's lead paragraph: a candidate, and no copy, of 0
        "https://same-lead.example/0-1.html",
        html_page("same-lead.example", title, [seed_text(0)[1][0], *paragraphs[1:]],
                  "2025-08-20T08:00:00+05:30"),
        "text/html; charset=utf-8")
    archive = Archive(open_database(fresh_database(database_url, tmp_path, "forgetful")))
    # Three entries: after the last batch's two, only seed 3's is left, and reading
    # seed 0's for the same-lead page evicts it before its copy is checked.
    archive.recent = RecentShingles(3)
    for batch in ([copies(0)["original"]], [copies(3)["original"]],
                  [same_lead, copies(3)["edited"]]):
        archive.write([fresh_page(*page) for page in batch], None)
    assert stories_of(archive) == {
        frozenset({copies(0)["original"][0]}), frozenset({same_lead[0]}),
        frozenset({copies(3)["original"][0], copies(3)["edited"][0]})}
    archive.engine.dispose()


def replay_folder(folder: Path, numbers: range, kinds: tuple[str, ...]) -> Path:
    """A replay folder holding these copies, with a manifest naming their real URLs."""
    folder.mkdir(parents=True)
    manifest = []
    for n in numbers:
        for kind in kinds:
            url, body, content_type = copies(n)[kind]
            name = f"{n}-{kind.split(',')[0].replace(' ', '-')}"
            name += ".txt" if content_type.startswith("text/plain") else ".html"
            (folder / name).write_bytes(body)
            manifest.append({"file": name, "url": url, "fetched_at": "2025-08-14T06:00:00Z"})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    return folder


def replay(folder: Path, database_url: str, *settings: str):
    args = [arg for setting in settings for arg in ("-s", setting)]
    result = run_scrapy("crawl", "replay", "-a", f"path={folder}", "-s", "EXTRACT_WORKERS=0",
                        *args, database_url=database_url)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def snapshot(archive: Archive) -> dict[str, object]:
    with Session(archive.engine) as session:
        return {
            "articles": sorted(session.execute(
                select(Article.url, Article.story_id, Article.version, Article.content_hash)
            ).all()),
            "bands": sorted(session.execute(
                select(StoryBand.article_id, StoryBand.band, StoryBand.hash)
            ).all()),
        }


def test_replaying_twice_changes_nothing(database_url: str, tmp_path: Path) -> None:
    folder = replay_folder(tmp_path / "pages", range(5), tuple(copies(0)))
    replay(folder, database_url)
    archive = Archive(open_database(database_url))
    assert stories_of(archive) == expected_stories()
    before = snapshot(archive)

    replay(folder, database_url)
    assert snapshot(archive) == before
    with Session(archive.engine) as session:
        stats = session.scalars(select(CrawlRun.stats).order_by(CrawlRun.id.desc())).first()
    assert stats is not None and stats["archive/outcome/unchanged"] == 20
    assert "archive/outcome/new" not in stats and "archive/outcome/updated" not in stats
    archive.engine.dispose()


def wait_until_both_writers_wait(database_url: str, deadline: float) -> None:
    """Block until two other PostgreSQL sessions are waiting for a lock."""
    archive = Archive(open_database(database_url))
    with archive.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            ).scalar_one()
            if waiting >= 2:
                break
            connection.rollback()
            time.sleep(0.2)
        else:
            raise AssertionError("the two crawler processes never both reached their batch")
    archive.engine.dispose()


def test_two_crawler_processes_writing_at_once_still_link_copies(
    database_url: str, tmp_path: Path
) -> None:
    """Each process writes its copies in one batch; on PostgreSQL both batches are held
    at the same point until both have started, so neither sees the other's work."""
    originals = replay_folder(tmp_path / "originals", range(5), ("original",))
    reprints = replay_folder(
        tmp_path / "reprints", range(5), ("other template, headline, dateline", "trimmed")
    )
    archive = Archive(open_database(database_url))  # schema created before both start
    one_batch = ("STORE_BATCH_SIZE=1000", "STORE_FLUSH_SECONDS=600")
    postgres = archive.engine.dialect.name == "postgresql"
    with archive.engine.connect() as barrier, ThreadPoolExecutor(2) as pool:
        if postgres:  # each batch stops at its first capture row until released
            barrier.execute(text("LOCK TABLE captures IN EXCLUSIVE MODE"))
        runs = [pool.submit(replay, folder, database_url, *one_batch)
                for folder in (originals, reprints)]
        if postgres:
            wait_until_both_writers_wait(database_url, time.monotonic() + 120)
        barrier.commit()
        for run in runs:
            run.result()
    expected = {
        frozenset(url for kind, (url, _, _) in copies(n).items() if kind != "edited")
        for n in range(5)
    }
    assert stories_of(archive) == expected
    archive.engine.dispose()



def story_ids(archive: Archive) -> dict[str, int | None]:
    with Session(archive.engine) as session:
        return dict(session.execute(select(Article.url, Article.story_id)).all())


def bands_of(archive: Archive) -> dict[str, int]:
    """URL -> how many band rows the article has in the index."""
    with Session(archive.engine) as session:
        return dict(session.execute(
            select(Article.url, func.count(StoryBand.article_id))
            .outerjoin(StoryBand, StoryBand.article_id == Article.id).group_by(Article.url)
        ).all())


def test_copies_link_within_the_story_window_and_old_bands_are_pruned(
    database_url: str,
) -> None:
    """A copy first seen 10 days after its original joins its story; one 40 days after
    (past the 30-day window) starts a story of its own: the documented trade-off. A
    process's first batch prunes the bands of articles older than the window counted
    from the newest article; every article keeps its story id."""
    early, late = copies(0), copies(1)
    pages = [  # (page, days after FETCHED_AT)
        (early["original"], 0), (late["original"], 0),
        (early["trimmed"], 10), (late["trimmed"], 40),
    ]
    archive = Archive(open_database(database_url))
    assert archive.story_window == timedelta(days=30)  # STORY_WINDOW_DAYS's default
    for page, days in pages:
        arrival = FETCHED_AT + timedelta(days=days)
        archive.write([dataclasses.replace(fresh_page(*page), fetched_at=arrival)], None)
    stories = story_ids(archive)
    assert stories[early["trimmed"][0]] == stories[early["original"][0]]
    assert stories[late["trimmed"][0]] != stories[late["original"][0]]
    # Written by one process from its first batch on: nothing was old enough yet then.
    assert set(bands_of(archive).values()) == {43}

    # The next process's first batch: the newest article is the day-40 copy, so those
    # first seen before day 10 lose their bands; the day-10 copy is still in the window.
    later = Archive(open_database(database_url))
    edited = dataclasses.replace(fresh_page(*copies(2)["edited"]),
                                 fetched_at=FETCHED_AT + timedelta(days=39))
    later.write([edited], None)
    assert bands_of(later) == {
        early["original"][0]: 0, late["original"][0]: 0, early["trimmed"][0]: 43,
        late["trimmed"][0]: 43, edited.url: 43,
    }
    assert {url: story_ids(archive)[url] for url in stories} == stories
    # A later copy of the early story, still within the window of its day-10 copy,
    # joins the story through that copy although the original's bands are gone.
    archive.write([dataclasses.replace(fresh_page(*early["edited"]),
                                       fetched_at=FETCHED_AT + timedelta(days=30))], None)
    assert story_ids(archive)[early["edited"][0]] == stories[early["original"][0]]
    archive.engine.dispose()
    later.engine.dispose()


def test_story_window_days_zero_keeps_every_band_and_links_any_age(
    database_url: str,
) -> None:
    archive = Archive(open_database(database_url))
    archive.story_window = story_window(0)
    for page, days in ((copies(1)["original"], 0), (copies(1)["trimmed"], 400)):
        arrival = FETCHED_AT + timedelta(days=days)
        archive.write([dataclasses.replace(fresh_page(*page), fetched_at=arrival)], None)
    assert len(stories_of(archive)) == 1
    assert set(bands_of(archive).values()) == {43}
    archive.engine.dispose()


def test_signature_is_datasketchs_minhash_and_lsh_bit_for_bit() -> None:
    """Band hashes stored by earlier versions (computed with datasketch) stay valid."""
    rng = random.Random(7)
    for size in (1, 7, 300, 4000):
        values = sorted({rng.getrandbits(32) for _ in range(size)})
        reference = MinHash(num_perm=NUM_PERM, hashfunc=int)
        reference.update_batch(values)
        assert minhash(values).tolist() == reference.hashvalues.tolist()
    assert list(BANDS) == list(MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM).hashranges)


def test_dedupe_keys_tokenise_once_and_agree_with_each_key_alone() -> None:
    text = "छोटी पंक्ति\n\n" + (SEED_FILES[0].read_text(encoding="utf-8")) + "\nनई\u200d बात"
    keys = dedupe_keys(text)
    assert keys["content_hash"] == content_hash(text)
    assert keys["word_count"] == len(words(text))
    signature = keys["story_signature"]
    assert list(signature["shingles"]) == sorted(shingles(text))
    lead_line = next(line for line in text.splitlines() if len(words(line)) >= 30)
    lead = words(text[text.index(lead_line):])[:LEAD_WORDS]
    assert len(signature["bands"]) == len(BANDS) + len(LEAD_BANDS)
    assert signature["bands"][len(BANDS):] == band_hashes(sorted(shingle_hashes(lead)), LEAD_BANDS)


def test_the_crawl_process_loads_no_extractor_numpy_or_scipy() -> None:
    """Extraction, numpy and scipy (~150 MB together) belong in the workers only."""
    setup = (
        "from scrapy.utils.project import get_project_settings;"
        "from scrapy.utils.misc import load_object; s = get_project_settings();"
        "[load_object(p) for p in s.getdict('ITEM_PIPELINES')];"
        "import crawler.spiders.replay, crawler.spiders.news, crawler.commands.crawl"
    )
    packages = ("numpy", "scipy", "datasketch", "trafilatura", "py3langid")
    assert loaded_modules(setup, packages) == []
