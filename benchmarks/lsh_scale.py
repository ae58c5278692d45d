"""Does linking an article into its story stay O(1) as the archive grows?

Fills a real database with N synthetic articles and their real story signatures (bulk
inserts into ``articles`` and ``story_bands``, signatures computed by two worker
processes: the archive's own write path would take hours for a million), and at each
checkpoint writes a window of new articles through the real archive writer
(``Archive.write`` in batches of 200, like the store pipeline: article, full-text
triggers, story link, capture). It prints the mean write time per article over the
window, the mean time of the candidate lookup alone (the one ``story_bands`` query) for
200 probe articles, the candidates it returned, and the index and database sizes.
One article in ten of a window is an edited, trimmed copy of a recent window article, so
stories get copies and lookups confirm real candidates. The filler articles hold their
signature (of a 100-word text, to make a million of them in reasonable time) but no
text (the full-text index would make the fill slow and the database ten times larger;
the story index is what is measured). Texts: 300 words drawn from a
Zipf-distributed vocabulary of 50,000 pseudo-Hindi words, so common words and phrases
recur as in news.

    .venv/bin/python benchmarks/lsh_scale.py --articles 1000000 \\
        --checkpoints 10000,100000,300000,1000000 --database-url sqlite:////tmp/lsh_scale.sqlite
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from datetime import UTC, datetime, timedelta
from multiprocessing import Pool

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from archive.database import mask_url, open_database
from archive.models import Article, StoryBand
from archive.stories import CANDIDATES_PER_BUCKET, band_parameters, candidates_query
from archive.writer import Archive
from crawler.items import Page
from pipelines.keys.copies import content_hash, story_signature

CONSONANTS = "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह"
VOWEL_SIGNS = ["", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ", "ं"]
WORDS_PER_ARTICLE = 300
FILL_WORDS = 100
BATCH = 200
START = datetime(2025, 1, 1, tzinfo=UTC)


def vocabulary(rng: np.random.Generator, size: int = 50_000) -> list[str]:
    syllables = [c + v for c in CONSONANTS for v in VOWEL_SIGNS]
    found: set[str] = set()
    while len(found) < size:
        length = int(rng.integers(1, 4))
        found.add("".join(syllables[i] for i in rng.integers(0, len(syllables), length)))
    return sorted(found)


class Articles:
    """Synthetic news texts; every tenth is an edited copy of an earlier article."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = np.array(vocabulary(self.rng))
        ranks = np.arange(1, len(self.vocab) + 1)
        weights = 1.0 / ranks**1.1
        self.cumulative = np.cumsum(weights / weights.sum())
        self.recent: list[list[str]] = []  # originals that later copies may copy

    def next(self, number: int, copy: bool = True, words: int = WORDS_PER_ARTICLE) -> str:
        if copy and number % 10 == 9 and self.recent:
            tokens = list(self.recent[int(self.rng.integers(len(self.recent)))])
            for i in self.rng.integers(0, len(tokens), len(tokens) // 20):  # 5% edited
                tokens[i] = str(self.vocab[int(self.rng.integers(len(self.vocab)))])
            cut = int(len(tokens) * self.rng.uniform(0.6, 1.0))  # and maybe trimmed
            return " ".join(tokens[:cut])
        draws = np.searchsorted(self.cumulative, self.rng.random(words))
        tokens = self.vocab[np.minimum(draws, len(self.vocab) - 1)].tolist()
        if copy:
            self.recent = [*self.recent[-999:], tokens]
        return " ".join(tokens)


def page(number: int, body: str) -> Page:
    url = f"https://site{number % 500}.example/news/{number}"
    article = {
        "url": url, "title": f"समाचार {number}", "text": body,
        "content_hash": content_hash(body), "story_signature": story_signature(body),
    }
    return Page(url=url, fetched_at=START + timedelta(seconds=number),
                source=f"site{number % 500}", article=article)


def signed(body: str) -> tuple[str, list[int]]:
    return content_hash(body), story_signature(body)["bands"]


def fill(archive: Archive, source: Articles, count: int, pool: Pool) -> None:
    """Bulk-insert originals with their real signatures, as the writer would store them.

    Filler texts are shorter (:data:`FILL_WORDS`) and not stored (the full-text index
    would make the fill slow and the database ten times larger; the story index is what
    is measured), so window copies copy window articles. Rows go in through the DB-API
    sorted by key, with a large page cache on this connection only.
    """
    with archive.engine.connect() as connection:
        first = (connection.scalar(select(func.max(Article.id))) or 0) + 1
    chunks = [range(start, min(start + 10_000, first + count))
              for start in range(first, first + count, 10_000)]
    # The workers sign the next chunk while this process inserts the last one.
    texts = (source.next(n, words=FILL_WORDS) for n in range(first, first + count))
    signatures = pool.imap(signed, texts, chunksize=250)
    for chunk in chunks:
        rows = list(itertools.islice(signatures, len(chunk)))
        with archive.engine.begin() as connection:
            connection.execute(insert(Article), [
                {"id": n, "url": f"https://fill.example/{n}", "title": None, "text": "",
                 "authors": [], "content_hash": digest, "first_seen_at": START,
                 "last_seen_at": START, "story_id": n, "version": 1,
                 "metadata_sources": {}}
                for n, (digest, _) in zip(chunk, rows, strict=True)
            ])
            bands = sorted(
                (band, value, n)
                for n, (_, hashes) in zip(chunk, rows, strict=True)
                for band, value in enumerate(hashes)
            )
            cursor = connection.connection.cursor()
            if connection.dialect.name == "postgresql":
                cursor.executemany("INSERT INTO story_bands VALUES (%s, %s, %s)", bands)
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id)) FROM articles"
                )
            else:
                cursor.execute("PRAGMA cache_size = -1000000")
                cursor.executemany("INSERT INTO story_bands VALUES (?, ?, ?)", bands)


def lookup_seconds(archive: Archive, probes: list[Page]) -> tuple[float, float]:
    """Mean time and mean number of rows of the candidate query, as stories.py runs it."""
    rows = 0
    started = time.perf_counter()
    with Session(archive.engine) as session:
        for probe in probes:
            bands = (probe.article or {})["story_signature"]["bands"]
            query = candidates_query(len(bands), CANDIDATES_PER_BUCKET)
            rows += len(session.execute(query, band_parameters(bands)).all())
    return (time.perf_counter() - started) / len(probes), rows / len(probes)


def sizes(archive: Archive, url: str) -> tuple[int, str, str]:
    """story_bands rows, the index's size (table + indexes), the whole database's size."""
    with Session(archive.engine) as session:
        rows = session.scalar(select(func.count()).select_from(StoryBand)) or 0
        if archive.engine.dialect.name == "postgresql":
            index, total = session.execute(text(
                "SELECT pg_total_relation_size('story_bands'), pg_database_size(current_database())"
            )).one()
        else:
            index = session.scalar(text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE '%story_bands%'"
            ))
            path = make_url(url).database or ""
            total = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    return rows, megabytes(index), megabytes(total)


def megabytes(size: int | None) -> str:
    return "?" if size is None else f"{size / 2**20:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--checkpoints", default="10000,100000",
                        help="archive sizes at which to measure, comma-separated")
    parser.add_argument("--window", type=int, default=2_000, help="articles timed per checkpoint")
    parser.add_argument("--database-url", default="sqlite:////tmp/lsh_scale.sqlite")
    options = parser.parse_args()
    checkpoints = sorted({int(c) for c in options.checkpoints.split(",")} | {options.articles})

    archive = Archive(open_database(options.database_url))
    source = Articles()
    print(f"# {options.articles:,} synthetic articles into {mask_url(options.database_url)}")
    print("| articles | write ms/article | lookup ms | candidates | story_bands rows "
          "| index size | database size | fill minutes |")
    print("|---|---|---|---|---|---|---|---|")
    size = 0
    with Pool(2) as pool:
        for checkpoint in checkpoints:
            started = time.perf_counter()
            fill(archive, source, checkpoint - size, pool)
            filled = time.perf_counter() - started
            size = checkpoint
            started = time.perf_counter()
            for first in range(size, size + options.window, BATCH):
                archive.write([page(n, source.next(n)) for n in range(first, first + BATCH)], None)
            write = (time.perf_counter() - started) / options.window
            size += options.window
            probes = [page(n, source.next(n)) for n in range(size, size + 200)]
            lookup, candidates = lookup_seconds(archive, probes)
            rows, index, total = sizes(archive, options.database_url)
            print(f"| {size:,} | {write * 1000:.1f} | {lookup * 1000:.2f} | {candidates:.2f} | "
                  f"{rows:,} | {index} | {total} | {filled / 60:.1f} |", flush=True)
    archive.engine.dispose()


if __name__ == "__main__":
    main()
