"""How the archive holds at scale: storage, per-page queries, search and story queries.

    .venv/bin/python benchmarks/archive_scale.py --articles 1000000 \\
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/scale] [--workdir DIR]

Builds an archive of N synthetic articles through the project's own schema and
migrations (``open_database``; an empty database is required: default, a fresh SQLite
file in ``--workdir``), then measures what issue 20 asks of it, at 0 and at N articles.

The build bypasses the crawl and the extraction (a million pages through them would take
days): rows go in with bulk Core inserts, a transaction per chunk, while two worker
processes generate the next chunks. It keeps the archive's real shape:

- Texts of 300-1500 words in paragraphs, drawn with a Zipf distribution (by corpus
  rank) from a vocabulary built from real pages: English words of the WCXB corpus
  (``benchmarks/corpus.py``), Hindi words of ``seeds/*.txt`` (rare words completed with
  pseudo-Hindi ones). Half the 50 outlets are Hindi; a Hindi stop word such as "के" is
  in every Hindi article, as in real news.
- ~10% of articles are wire copies: stories of 2-30 copies across outlets of one
  language, within hours of each other, with small edits (3% of words, a dateline,
  some trimmed), sharing ``story_id`` (the story's first article, as linking gives).
- ``story_bands``: the articles first seen within the story window
  (``STORY_WINDOW_DAYS`` before the newest) have their real band hashes
  (``pipelines.keys.copies``); older ones have none, as pruning would have left them.
  Story ids are set by construction, not by running the linking on every article.
- Articles arrive ``--per-day`` a day, the newest now (so "the last week" means
  something); one ``captures`` row per article plus ``--listings`` listing captures
  (homepages, feeds, sitemaps) per article; the full-text index is filled by the
  migrations' own triggers on both databases.

Measured with the project's own functions: ``Archive.known_pages`` (a listing of 100
URLs), ``BatchIndex.load`` (200 pages), the story candidate query
(``stories.candidates_query``), ``Archive.write`` of 200 new pages (median of 5 batches),
``search.search`` and ``search.search_stories`` (first page, 50 rows) over a fixed query
mix, the README's story queries; then bytes per article by table. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import gzip
import html
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from archive.database import DatabaseError, mask_url, open_database
from archive.models import Article, Capture, Source, Story, StoryBand
from archive.search import Filters, search, search_stories
from archive.stories import (
    CANDIDATES_PER_BUCKET,
    STORY_WINDOW_DAYS,
    band_parameters,
    candidates_query,
    refresh_stories,
)
from archive.writer import Archive, BatchIndex
from benchmarks.corpus import CORPUS, PARAGRAPH, REPO
from crawler.items import Page
from pipelines.extraction.normalize import words
from pipelines.keys.copies import dedupe_keys, words_hash

OUTLETS = 50
CHUNK = 2000  # articles generated and inserted per transaction
BATCH = 200  # pages per Archive.write, as STORE_BATCH_SIZE
COPY_SHARE = 0.10  # articles that are wire copies (originals included)
ZIPF_EXPONENT = 1.07
VOCABULARY_SIZE = 50_000
REPEATS = 5
IST = timezone(timedelta(hours=5, minutes=30))
DEVANAGARI = re.compile(r"[\u0900-\u097f]")
LATIN_WORD = re.compile(r"[a-z]+")
TAG = re.compile(rb"<[^>]+>")
DATELINES = {"en": "New Delhi, (agency)", "hi": "नई दिल्ली, (एजेंसी)"}
END_MARK = {"en": ".", "hi": " ।"}
AGENCIES = ["PTI", "IANS", "Reuters", "ANI"]
STORY_QUERIES = {  # README "Example queries": the 20 biggest stories of the last week
    "sqlite": """
        SELECT s.story_id, s.title, s.first_source, s.copies, s.outlets,
               (SELECT group_concat(DISTINCT src.name)
                FROM articles AS a JOIN sources AS src ON src.id = a.source_id
                WHERE a.story_id = s.story_id) AS ran_it
        FROM stories AS s
        WHERE s.first_seen_at >= datetime('now', '-7 days')
        ORDER BY s.copies DESC
        LIMIT 20""",
    "postgresql": """
        SELECT s.story_id, s.title, s.first_source, s.copies, s.outlets,
               (SELECT string_agg(DISTINCT src.name, ', ')
                FROM articles AS a JOIN sources AS src ON src.id = a.source_id
                WHERE a.story_id = s.story_id) AS ran_it
        FROM stories AS s
        WHERE s.first_seen_at >= (now() AT TIME ZONE 'UTC') - interval '7 days'
        ORDER BY s.copies DESC
        LIMIT 20""",
}
OTHER_STORY_QUERIES = {  # README "Example queries", the same on both databases
    "who ran this story first": """
        SELECT first_source, first_url, first_published_at, wire_agency FROM stories
        WHERE story_id = (SELECT story_id FROM articles WHERE url = :url)""",
    "every copy of a story": """
        SELECT src.name, a.url, a.published_at, a.title
        FROM articles AS a JOIN sources AS src ON src.id = a.source_id
        WHERE a.story_id = (SELECT story_id FROM articles WHERE url = :url)
        ORDER BY a.published_at_utc""",
    "stories per wire agency": "SELECT wire_agency, count(*) FROM stories GROUP BY wire_agency",
    "representative_articles LIMIT 20": """
        SELECT story_id, language, length(text) FROM representative_articles LIMIT 20""",
}


# Vocabulary and texts -----------------------------------------------------------------


def pseudo_hindi(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """Made-up Devanagari words for the rare end of the Hindi vocabulary."""
    consonants, signs = "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह", ["", "ा", "ि", "ी", "ु", "े", "ो", "ं"]
    syllables = [c + s for c in consonants for s in signs]
    found: dict[str, None] = {}
    while len(found) < count:
        word = "".join(syllables[i] for i in rng.integers(0, len(syllables), rng.integers(2, 5)))
        if word not in taken:
            found[word] = None
    return list(found)


def vocabularies(seed: int) -> dict[str, list[str]]:
    """Words by language, most frequent first (their rank is their Zipf rank)."""
    counts: dict[str, Counter[str]] = {"en": Counter(), "hi": Counter()}
    pages = [gzip.decompress(path.read_bytes()) for path in sorted((CORPUS / "html").glob("*.gz"))]
    texts = [
        html.unescape(TAG.sub(b" ", paragraph.group(1)).decode("utf-8", "replace"))
        for page in pages for paragraph in PARAGRAPH.finditer(page)
    ] + [path.read_text() for path in sorted((REPO / "seeds").glob("*.txt"))]
    for chunk in texts:
        for word in words(chunk):
            if DEVANAGARI.search(word):
                counts["hi"][word] += 1
            elif LATIN_WORD.fullmatch(word):
                counts["en"][word] += 1
    ranked = {language: [w for w, _ in found.most_common(VOCABULARY_SIZE)]
              for language, found in counts.items()}
    missing = VOCABULARY_SIZE - len(ranked["hi"])
    if missing > 0:
        rng = np.random.default_rng(seed)
        ranked["hi"] += pseudo_hindi(rng, missing, set(ranked["hi"]))
    return ranked


class TextSource:
    """Zipf draws from one vocabulary per language, rendered as paragraphs."""

    def __init__(self, vocabulary: dict[str, list[str]]) -> None:
        self.words = {language: np.array(found) for language, found in vocabulary.items()}
        self.cumulative = {}
        for language, found in self.words.items():
            weights = 1.0 / np.arange(1, len(found) + 1) ** ZIPF_EXPONENT
            self.cumulative[language] = np.cumsum(weights / weights.sum())

    def share_with(self, language: str, rank: int, length: float = 900) -> float:
        """The expected share of articles of language holding the word of this rank."""
        weights = np.diff(self.cumulative[language], prepend=0.0)
        return 1 - (1 - weights[rank]) ** length

    def draw(self, rng: np.random.Generator, language: str, count: int) -> list[str]:
        found = np.searchsorted(self.cumulative[language], rng.random(count))
        return self.words[language][np.minimum(found, len(self.words[language]) - 1)].tolist()

    def article(self, rng: np.random.Generator, language: str) -> tuple[list[str], list[str]]:
        """(title words, text words) of a new story: 300-1500 words, median ~650."""
        length = int(np.clip(rng.lognormal(np.log(650), 0.45), 300, 1500))
        return self.draw(rng, language, int(rng.integers(6, 13))), self.draw(rng, language, length)

    def copy(self, rng: np.random.Generator, language: str, body: list[str]) -> list[str]:
        """A wire copy: 3% of its words changed, one in three trimmed to its first 60-100%."""
        edited = list(body)
        changed = rng.integers(0, len(edited), len(edited) * 3 // 100)
        for position, word in zip(changed, self.draw(rng, language, len(changed)), strict=True):
            edited[position] = word
        if rng.random() < 1 / 3:
            edited = edited[: int(len(edited) * rng.uniform(0.6, 1.0))]
        return edited

    @staticmethod
    def render(rng: np.random.Generator, language: str, body: list[str], dateline: bool) -> str:
        """Paragraphs of 40-120 words (a copy opens with a dateline line of its own)."""
        lines = [DATELINES[language]] if dateline else []
        start = 0
        while start < len(body):
            end = start + int(rng.integers(40, 121))
            lines.append(" ".join(body[start:end]) + END_MARK[language])
            start = end
        return "\n".join(lines)


# Building ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outlet:
    id: int
    name: str
    domain: str
    language: str


@dataclass(frozen=True)
class Plan:
    """What every worker needs to generate any chunk the same way."""

    seed: int
    first_id: int
    articles: int
    start: datetime
    end: datetime
    window_start: datetime  # articles first seen from here on get their story bands
    listings: float  # listing captures per article
    outlets: tuple[Outlet, ...]

    def seen_at(self, number: int) -> datetime:
        """When article ``number`` (0-based) was first seen: evenly over the span."""
        return self.start + (self.end - self.start) * (number / max(self.articles, 1))


_texts: TextSource | None = None


def init_worker(vocabulary: dict[str, list[str]]) -> None:
    global _texts
    _texts = TextSource(vocabulary)


def story_groups(rng: np.random.Generator, count: int) -> list[list[int]]:
    """Positions in a chunk: groups of 2-30 (one story's copies) for COPY_SHARE of them,
    single positions for the rest; each group in order, its first the original."""
    positions = rng.permutation(count).tolist()
    groups, copies = [], int(count * COPY_SHARE)
    while copies >= 2:
        size = min(int(rng.integers(2, 31)), copies)
        groups.append(sorted(positions[:size]))
        del positions[:size]
        copies -= size
    return groups + [[position] for position in positions]


def make_chunk(plan: Plan, chunk: int) -> dict[str, list[dict[str, Any]]]:
    """The rows of articles, story bands and captures of one chunk of CHUNK articles."""
    assert _texts is not None
    rng = np.random.default_rng([plan.seed, chunk])
    first = chunk * CHUNK
    count = min(CHUNK, plan.articles - first)
    by_language = {lang: [o for o in plan.outlets if o.language == lang] for lang in ("en", "hi")}
    rows: dict[int, dict[str, Any]] = {}
    bands: list[dict[str, Any]] = []
    for group in story_groups(rng, count):
        outlet = plan.outlets[int(rng.integers(len(plan.outlets)))]
        language = outlet.language
        title, body = _texts.article(rng, language)
        members = by_language[language]
        outlets = [members[i] for i in rng.choice(len(members), len(group),
                                                  replace=len(group) > len(members))]
        story_id = plan.first_id + first + group[0]
        for copy, position in enumerate(group):
            number = first + position
            article_id = plan.first_id + number
            source = outlets[copy] if len(group) > 1 else outlet
            seen = plan.seen_at(number)
            words_of = body if copy == 0 else _texts.copy(rng, language, body)
            body_text = _texts.render(rng, language, words_of, dateline=copy > 0)
            published = (seen - timedelta(minutes=int(rng.integers(5, 600)))).astimezone(IST)
            if seen >= plan.window_start:
                keys = dedupe_keys(body_text)
                digest = keys["content_hash"]
                bands += [{"band": band, "hash": value, "article_id": article_id}
                          for band, value in enumerate(keys["story_signature"]["bands"])]
            else:
                digest = words_hash(words(body_text))
            rows[position] = {
                "id": article_id, "source_id": source.id,
                "url": f"https://{source.domain}/news/{article_id}.html",
                "title": " ".join(title), "text": body_text, "authors": [],
                "published_at": published.isoformat(), "published_at_utc": published,
                "language": language, "description": None,
                "wire_agency": AGENCIES[story_id % len(AGENCIES)] if len(group) > 1 else None,
                "content_hash": digest, "first_seen_at": seen, "last_seen_at": seen,
                "story_id": story_id, "duplicate_of_id": None, "version": 1,
                "extractor": "trafilatura", "metadata_sources": {},
            }
    articles = [rows[position] for position in range(count)]
    captures = [capture(rng, row["url"], row["source_id"], row["first_seen_at"], "new",
                        row["id"], len(row["text"].encode()) + 40_000) for row in articles]
    for _ in range(int(count * plan.listings)):
        number = first + int(rng.integers(count))
        outlet = plan.outlets[int(rng.integers(len(plan.outlets)))]
        path = ("", "feed.xml", "sitemap.xml", "india/", "world/")[int(rng.integers(5))]
        captures.append(capture(rng, f"https://{outlet.domain}/{path}", outlet.id,
                                plan.seen_at(number), "not-article", None, 80_000))
    return {"articles": articles, "bands": bands, "captures": captures}


def capture(rng: np.random.Generator, url: str, source_id: int, fetched_at: datetime,
            outcome: str, article_id: int | None, length: int) -> dict[str, Any]:
    return {
        "url": url, "final_url": url, "source_id": source_id, "fetched_at": fetched_at,
        "http_status": 200, "content_type": "text/html; charset=utf-8",
        "content_length": length, "content_hash": rng.bytes(32).hex(), "outcome": outcome,
        "article_id": article_id, "listing": None, "warc_file": "synthetic.warc.gz",
        "warc_offset": int(rng.integers(1 << 40)), "warc_length": length // 4,
    }


def create_outlets(engine: Engine) -> tuple[Outlet, ...]:
    rows = [{"name": f"outlet{i:02d}", "domain": f"outlet{i:02d}.example",
             "homepage": f"https://outlet{i:02d}.example/", "language": "hi" if i % 2 else "en"}
            for i in range(OUTLETS)]
    with engine.begin() as connection:
        connection.execute(insert(Source.__table__), rows)
    return read_outlets(engine)


def fill(engine: Engine, plan: Plan, vocabulary: dict[str, list[str]]) -> dict[str, int]:
    """Insert the plan's articles, bands and captures; returns the rows inserted."""
    inserted = Counter[str]()
    chunks = range((plan.articles + CHUNK - 1) // CHUNK)
    with Pool(2, init_worker, (vocabulary,)) as pool:
        pending = [pool.apply_async(make_chunk, (plan, chunk)) for chunk in chunks[:4]]
        for chunk in chunks:
            rows = pending.pop(0).get()
            if chunk + 4 < len(chunks):  # at most 4 chunks ahead: bounded memory
                pending.append(pool.apply_async(make_chunk, (plan, chunk + 4)))
            with engine.begin() as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA cache_size = -500000")
                for table, key in ((Article, "articles"), (StoryBand, "bands"),
                                   (Capture, "captures")):
                    if rows[key]:
                        connection.execute(insert(table.__table__), rows[key])
                    inserted[key] += len(rows[key])
                # A chunk holds whole stories: their rows, as the archive writer keeps them.
                with Session(connection) as session:
                    refresh_stories(session, {row["story_id"] for row in rows["articles"]})
            if chunk % 25 == 24:
                print(f"  {inserted['articles']:,} articles", file=sys.stderr, flush=True)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("articles", "captures", "sources"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
            connection.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return dict(inserted)


# Measuring ---------------------------------------------------------------------------


def milliseconds(run: Callable[[], object], repeat: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Probe:
    """New pages as the crawl would meet them: ~1 in 10 a copy of a recent article."""

    def __init__(self, texts: TextSource, outlets: Sequence[Outlet], seed: int) -> None:
        self.texts, self.outlets = texts, outlets
        self.rng = np.random.default_rng([seed, 1 << 30])
        self.number = 0

    def page(self, engine: Engine, fetched_at: datetime) -> Page:
        self.number += 1
        outlet = self.outlets[int(self.rng.integers(len(self.outlets)))]
        url = f"https://{outlet.domain}/probe/{self.number}-{fetched_at.timestamp():.0f}.html"
        title, body = self.texts.article(self.rng, outlet.language)
        dateline = False
        if self.number % 10 == 0:  # a copy of a recent article of the same language
            with engine.connect() as connection:
                recent = connection.execute(
                    select(Article.title, Article.text).where(Article.language == outlet.language)
                    .order_by(Article.id.desc()).limit(1).offset(int(self.rng.integers(200)))
                ).first()
            if recent is not None:
                title = recent.title.split()
                body = self.texts.copy(self.rng, outlet.language, words(recent.text))
                dateline = True
        body_text = self.texts.render(self.rng, outlet.language, body, dateline)
        keys = dedupe_keys(body_text)
        article = {"url": url, "title": " ".join(title), "text": body_text,
                   "language": outlet.language, "content_hash": keys["content_hash"],
                   "story_signature": keys["story_signature"],
                   "published_at": fetched_at.astimezone(IST).isoformat()}
        return Page(url=url, fetched_at=fetched_at, source=outlet.name, article=article,
                    http_status=200)


def crawl_queries(archive: Archive, probe: Probe, now: datetime) -> dict[str, float]:
    """Median ms of the crawl's per-page queries and of storing a batch, at this size."""
    engine = archive.engine
    with engine.connect() as connection:
        known = [row[0] for row in connection.execute(
            select(Article.url).order_by(Article.id.desc()).limit(500))]
        hashes = [row[0] for row in connection.execute(
            select(Article.content_hash).order_by(Article.id.desc()).limit(100))]
    pages = [probe.page(engine, now) for _ in range(BATCH)]
    rng = np.random.default_rng(7)

    def listing() -> list[str]:  # 90 known article URLs (when there are), 10 new ones
        chosen = [known[i] for i in rng.choice(len(known), min(90, len(known)), replace=False)]
        return chosen + [f"https://outlet00.example/new/{rng.integers(1 << 40)}"
                         for _ in range(100 - len(chosen))]

    batch = [p.article for p in pages[: BATCH - len(hashes)]] + [
        {"url": url, "content_hash": digest} for url, digest in zip(known, hashes, strict=False)]
    signatures = [p.article["story_signature"]["bands"] for p in pages[:50]]

    def candidates() -> None:
        with Session(engine) as session:
            for bands in signatures:
                query = candidates_query(len(bands), CANDIDATES_PER_BUCKET, True)
                session.execute(query, {**band_parameters(bands),
                                        "since": now - timedelta(days=STORY_WINDOW_DAYS)}).all()

    def load() -> None:
        with Session(engine) as session:
            BatchIndex.load(session, batch)

    results = {
        "known_pages (listing of 100 URLs)":
            statistics.median(milliseconds(lambda: archive.known_pages(listing()))),
        "BatchIndex.load (200 pages)": statistics.median(milliseconds(load)),
        "story candidate query (one article)":
            statistics.median(milliseconds(candidates)) / len(signatures),
    }
    writes = []
    for _ in range(REPEATS):
        fresh = [probe.page(engine, now) for _ in range(BATCH)]
        started = time.perf_counter()
        archive.write(fresh, None)
        writes.append((time.perf_counter() - started) * 1000)
    results[f"Archive.write ({BATCH} new pages)"] = statistics.median(writes)
    return results


def search_latency(engine: Engine, texts: TextSource) -> list[tuple[str, float, float]]:
    """(query, median ms, p95 ms) of each query of the mix, and of the whole mix."""
    weights = {lang: np.diff(texts.cumulative[lang], prepend=0.0) for lang in texts.words}

    def rank_for(language: str, share: float) -> int:
        shares = 1 - (1 - weights[language]) ** 900
        return int(np.argmin(np.abs(shares - share)))

    en, hi = texts.words["en"], texts.words["hi"]
    rare, common = en[rank_for("en", 0.001)], en[rank_for("en", 0.13)]
    stop = "के" if "के" in set(hi[:20].tolist()) else str(hi[0])
    week_ago = date.today() - timedelta(days=7)
    mix = [
        (f"rare word `{rare}`", rare, None),
        (f"common word `{common}`", common, None),
        (f"Hindi stop word `{stop}`", stop, None),
        (f'phrase `"{hi[0]} {hi[1]}"`', f'"{hi[0]} {hi[1]}"', None),
        (f"`{common}` --source outlet00", common, Filters(source="outlet00")),
        (f"`{stop}` --since {week_ago}", stop, Filters(since=week_ago)),
    ]
    rows, every = [], []
    with engine.connect() as connection:
        for kind, run in (("", search), ("--stories ", search_stories)):
            for label, query, filters in mix:
                times = milliseconds(
                    lambda q=query, f=filters, r=run: r(connection, q, f, limit=50))
                every += times
                rows.append((kind + label, statistics.median(times), p95(times)))
    rows.append(("whole mix", statistics.median(every), p95(every)))
    return rows


def story_latency(engine: Engine) -> list[tuple[str, float, int]]:
    """(query, median ms, rows) of the README's story queries; a copy of a wire story
    of the last week stands for ``:url``."""
    queries = {"stories of the last week (README)": STORY_QUERIES[engine.dialect.name],
               **OTHER_STORY_QUERIES}
    rows = []
    with engine.connect() as connection:
        url = connection.scalar(select(Article.url).where(Article.wire_agency.is_not(None))
                                .order_by(Article.id.desc()).limit(1))
        for label, sql in queries.items():
            found = len(connection.execute(text(sql), {"url": url}).all())
            rows.append((label, statistics.median(milliseconds(
                lambda s=sql: connection.execute(text(s), {"url": url}).all())), found))
    return rows


def storage(engine: Engine, url: str) -> tuple[list[tuple[str, int, int]], int]:
    """(table, rows, bytes) of each table, indexes and full-text shadow tables included,
    and the database's total size (SQLite: the file, its write-ahead log checkpointed)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside a transaction, which would block it
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    with engine.begin() as connection:
        tables = [name for (name,) in connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            if engine.dialect.name == "postgresql" else
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'articles_fts_%'"))]
        counts = {name: connection.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar()
                  for name in tables}
        if engine.dialect.name == "postgresql":
            sizes = dict(connection.execute(text(
                "SELECT tablename, pg_total_relation_size(quote_ident(tablename))"
                " FROM pg_tables WHERE schemaname = 'public'")).all())
            total = connection.scalar(text("SELECT pg_database_size(current_database())"))
        else:
            sizes = Counter[str]()
            for name, table, size in connection.execute(text(
                    "SELECT d.name, m.tbl_name, SUM(d.pgsize) FROM dbstat AS d"
                    " LEFT JOIN sqlite_master AS m ON m.name = d.name GROUP BY d.name")):
                owner = table or name
                sizes["articles_fts" if owner.startswith("articles_fts") else owner] += size
            total = os.path.getsize(make_url(url).database or "")
    rows = sorted(((name, counts.get(name, 0), sizes.get(name, 0)) for name in tables),
                  key=lambda row: -row[2])
    return rows, int(total)


# Command -----------------------------------------------------------------------------


def fail(message: str) -> None:
    """A user's mistake: one line, exit status 2, no traceback."""
    print(f"archive_scale: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--database-url",
                        help="an empty database (default: a fresh SQLite file in --workdir)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsarchive-bench"))
    parser.add_argument("--per-day", type=int, default=3000,
                        help="articles archived a day: sets the time span the archive covers")
    parser.add_argument("--listings", type=float, default=0.5,
                        help="listing captures (homepages, feeds, sitemaps) per article")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--measure-only", action="store_true",
                        help="measure an archive this command built before (same --articles,"
                             " --seed and --database-url), without building it again")
    args = parser.parse_args()
    if args.articles < 1 or args.per_day < 1 or args.listings < 0:
        parser.error("--articles and --per-day must be at least 1, --listings not negative")
    url = args.database_url
    if url is None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        database = args.workdir / f"archive-scale-{args.articles}.sqlite"
        for leftover in args.workdir.glob(f"{database.name}*"):
            if not args.measure_only:
                leftover.unlink()
        url = f"sqlite:///{database}"
    postgres = url.startswith("postgresql")
    minutes = args.articles / (17_000 if postgres else 28_000) + 1  # measured at 20k
    print(f"# archive_scale: {args.articles:,} synthetic articles into {mask_url(url)} "
          f"(expected run time ~{minutes:.0f} min on 2 cores)", flush=True)
    try:
        engine = open_database(url)
    except DatabaseError as error:
        fail(str(error))
    with engine.connect() as connection:
        built_before = connection.scalar(select(func.count()).select_from(Article)) or \
            connection.scalar(select(func.count()).select_from(Source))
    if built_before and not args.measure_only:
        fail(f"{mask_url(url)} already holds an archive: give an empty database "
             "(created with CREATE DATABASE), omit --database-url, or add --measure-only")
    if args.measure_only and not built_before:
        fail(f"{mask_url(url)} holds no archive to measure: build one without --measure-only")

    vocabulary = vocabularies(args.seed)
    texts = TextSource(vocabulary)
    if args.measure_only:
        measure(engine, url, texts, read_outlets(engine), args.seed, None, None)
        return
    outlets = create_outlets(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=args.articles / args.per_day)
    start = now - span - timedelta(minutes=10)
    archive = Archive(engine)
    probe = Probe(texts, outlets, args.seed)
    at_zero = crawl_queries(archive, probe, start - timedelta(days=1))
    with engine.connect() as connection:
        first_id = (connection.scalar(select(func.max(Article.id))) or 0) + 1

    plan = Plan(args.seed, first_id, args.articles, start, now - timedelta(minutes=10),
                now - timedelta(days=STORY_WINDOW_DAYS), args.listings, outlets)
    started = time.perf_counter()
    inserted = fill(engine, plan, vocabulary)
    built = time.perf_counter() - started
    with engine.connect() as connection:
        stories = connection.scalar(select(func.count()).select_from(Story))
    print(f"\nBuilt {inserted['articles']:,} articles ({stories:,} stories; "
          f"{inserted['bands']:,} band rows for the last {STORY_WINDOW_DAYS} days; "
          f"{inserted['captures']:,} captures) over {span.days} days in {built / 60:.1f} min "
          f"({inserted['articles'] / built:,.0f} articles/s; 1M at this rate: "
          f"{1e6 / inserted['articles'] * built / 60:.0f} min).")
    measure(engine, url, texts, outlets, args.seed, at_zero, now)


def read_outlets(engine: Engine) -> tuple[Outlet, ...]:
    with engine.connect() as connection:
        return tuple(Outlet(*row) for row in connection.execute(
            select(Source.id, Source.name, Source.domain, Source.language)
            .where(Source.name.like("outlet%")).order_by(Source.id)))


def measure(engine: Engine, url: str, texts: TextSource, outlets: Sequence[Outlet], seed: int,
            at_zero: dict[str, float] | None, now: datetime | None) -> None:
    """Measure the archive and print the tables (at 0: the figures before the build)."""
    tables, total = storage(engine, url)
    articles = next(rows for name, rows, _ in tables if name == "articles")
    archive = Archive(engine)  # a new process's view: nothing cached from the fill
    at_size = crawl_queries(archive, Probe(texts, outlets, seed), now or datetime.now(UTC))
    searches = search_latency(engine, texts)
    story_times = story_latency(engine)
    engine.dispose()

    print("\n| table | rows | MB | bytes/article |\n|---|---|---|---|")
    for name, rows, size in tables:
        print(f"| {name} | {rows:,} | {size / 2**20:,.1f} | {size / articles:,.0f} |")
    print(f"| **database total** | | {total / 2**20:,.1f} | {total / articles:,.0f} |\n")
    print(f"| per-page query (median ms) | at 0 | at {articles:,} |\n|---|---|---|")
    for name, value in at_size.items():
        before = "-" if at_zero is None else f"{at_zero[name]:.2f}"
        print(f"| {name} | {before} | {value:.2f} |")
    print("\n| search, first page of 50 | median ms | p95 ms |\n|---|---|---|")
    for label, median, high in searches:
        print(f"| {label} | {median:.1f} | {high:.1f} |")
    print("\n| story query | median ms | rows |\n|---|---|---|")
    for label, median, found in story_times:
        print(f"| {label} | {median:.1f} | {found:,} |")


if __name__ == "__main__":
    main()
