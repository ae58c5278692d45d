"""Stories: the copies of one news story across outlets share ``articles.story_id``.

Each article's text becomes a set of word shingles, whose MinHash is cut into LSH bands
(``pipelines.shingles``: the parameters; ``pipelines.dedupe_keys``: the computation, in
the extraction workers), and each band's hash goes into ``story_bands``, so the index
lives in the archive: it lasts across runs and is shared by every process writing there.
An article's candidates are the articles sharing one of its band hashes, at most
:data:`CANDIDATES_PER_BUCKET` of the newest in each band's bucket (one indexed query,
whatever the archive's size and however many copies a story has); a candidate is a copy
when the exact Jaccard similarity OR the containment of the shorter text's shingles in
the longer passes its threshold (containment catches the copy that kept only the first
paragraphs). An article that copies two stories merges them, so a story is a connected
component of "is a copy of", whatever order the pages came in.
Thresholds and their measurements: ``docs/near-duplicates.md``.

The signature is computed before the database transaction (in the extraction worker, or
the dedupe step for pages extracted elsewhere); only :func:`link_story` runs inside it,
in the crawl process, which therefore never loads numpy.
"""

from __future__ import annotations

import functools
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.orm import Session

from pipelines.models import Article, StoryBand
from pipelines.shingles import shingles

MIN_JACCARD = 0.3  # a copy with another template, dateline, headline or small edits
MIN_CONTAINMENT = 0.7  # the shorter text's shingles found in the longer: a trimmed copy
# Containment alone is not trusted below this many shingles: a 10-word snippet is
# "contained" in every article that quotes it.
MIN_CONTAINED_SHINGLES = 30
# Candidates read from one (band, hash) bucket: the newest members. A bucket of a story
# with hundreds of copies holds hundreds of articles, and one member per story is enough
# to link to it; a copy shares ~half of its 43 buckets with each other copy, so it meets
# its story in the newest members of one of them (tests/test_stories.py).
CANDIDATES_PER_BUCKET = 8
# Transaction-level PostgreSQL advisory lock key for the story index ("stories" in ASCII).
INDEX_LOCK_KEY = int.from_bytes(b"stories", "big")


def is_copy(a: set[int], b: Collection[int]) -> bool:
    """Exact check of an LSH candidate: Jaccard, or containment of the shorter text.
    ``b`` holds distinct values (a set, or the sorted array of one)."""
    if not a or not b:
        return False
    common = len(a.intersection(b))
    if common / (len(a) + len(b) - common) >= MIN_JACCARD:
        return True
    shorter = min(len(a), len(b))
    return shorter >= MIN_CONTAINED_SHINGLES and common / shorter >= MIN_CONTAINMENT


def lock_story_index(session: Session) -> None:
    """Serialise story linking between processes until this transaction ends.

    Without it, two PostgreSQL transactions (READ COMMITTED) inserting copies of one
    story at once each miss the other's uncommitted bands and start two stories. The
    lock is taken at the start of the batch, before any row is written, so it cannot
    deadlock against a wait on another writer's row. SQLite's writers are already
    serialised by ``BEGIN IMMEDIATE``.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INDEX_LOCK_KEY)))


class RecentShingles:
    """Shingles of the articles this process stored last, so that confirming a candidate
    seldom re-reads and re-tokenises its text: copies of a story tend to arrive close
    together. Sorted uint32 arrays, ~7 KB an article on the WCXB corpus (1,856 shingles
    on average): 7 MB for the default 1,000, a few hours of a busy news crawl; bounded,
    least recently used out. (With 500, the benchmark's copies, ~390 articles apart,
    were re-read: entries kept alive by frequent candidates shorten the reach.)"""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.entries: OrderedDict[int, array[int]] = OrderedDict()

    def get(self, article_id: int) -> array[int] | None:
        found = self.entries.get(article_id)
        if found is not None:
            self.entries.move_to_end(article_id)
        return found

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.entries  # without marking it used

    def put(self, article_id: int, values: Iterable[int]) -> None:
        self.entries[article_id] = array("I", values)
        self.entries.move_to_end(article_id)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()


def link_story(
    session: Session,
    article: Article,
    fields: dict[str, Any],
    recent: RecentShingles,
    per_bucket: int = CANDIDATES_PER_BUCKET,
) -> int:
    """Index a new or changed article and give it (and what it bridges) one story id.

    ``fields`` is the page's article, with its ``story_signature`` (computed here only
    for a page that skipped the extract and dedupe steps). An exact duplicate
    keeps the story of its original (same text, same copies). A changed article's old
    bands are replaced; it stays in its story and joins the stories its new text
    copies (a story is never split).
    """
    if article.duplicate_of_id is not None and article.story_id is not None:
        return article.story_id
    signature = fields.get("story_signature")
    if signature is None:  # imported here: the crawl process needs no numpy otherwise
        from pipelines.dedupe_keys import story_signature

        signature = story_signature(fields["text"])
    bands = signature["bands"]
    if article.story_id is not None:  # indexed before, under an older text
        session.execute(delete(StoryBand).where(StoryBand.article_id == article.id))
    if bands:
        session.execute(  # Core: no ORM bookkeeping for rows nothing reads back
            insert(StoryBand.__table__),
            [{"band": band, "hash": value, "article_id": article.id}
             for band, value in enumerate(bands)],
        )
    own = set(signature["shingles"])
    recent.put(article.id, signature["shingles"])
    stories = set(_copied_stories(
        session, article.id, article.story_id, bands, own, recent, per_bucket))
    if article.story_id is not None:
        stories.add(article.story_id)
    story_id = min(stories, default=article.id)
    merged = stories - {story_id}
    if merged:
        session.execute(
            update(Article).where(Article.story_id.in_(merged)).values(story_id=story_id)
        )
    article.story_id = story_id
    return story_id


@functools.cache
def candidates_query(bands: int, per_bucket: int) -> Select[tuple[int, int | None]]:
    """The newest ``per_bucket`` articles (and their stories) of each band's bucket:
    parameters ``h0``.. ``hN``, the article's band hashes.

    A UNION ALL of one ``ORDER BY article_id DESC LIMIT`` per band, each a backward
    search of the primary key (band, hash, article_id) that stops after ``per_bucket``
    rows, on SQLite and PostgreSQL alike; SQLite wants each limited SELECT in a subquery.
    Newest first: a story's latest copies are the ones :class:`RecentShingles` still
    holds. Built once per band count: building the expression costs more than running it.
    """
    buckets = []
    for band in range(bands):
        newest = (
            select(StoryBand.article_id)
            .where(StoryBand.band == band, StoryBand.hash == bindparam(f"h{band}"))
            .order_by(StoryBand.article_id.desc())
            .limit(per_bucket)
            .subquery()
        )
        buckets.append(select(newest.c.article_id))
    members = union_all(*buckets).subquery()
    return (
        select(Article.id, Article.story_id)
        .where(Article.id.in_(select(members.c.article_id)))
        .order_by(Article.story_id, Article.id.desc())
    )


def band_parameters(bands: list[int]) -> dict[str, int]:
    return {f"h{band}": value for band, value in enumerate(bands)}


def _copied_stories(
    session: Session,
    article_id: int,
    story_id: int | None,
    bands: list[int],
    own: set[int],
    recent: RecentShingles,
    per_bucket: int,
) -> Iterable[int]:
    """The other stories with a member that this text copies (one member is enough)."""
    if not bands:
        return
    query = candidates_query(len(bands), per_bucket)
    candidates = session.execute(query, band_parameters(bands)).all()
    # Members whose shingles are at hand first: one confirmed member settles a story,
    # whichever it is, so the order changes only how many texts are read and shingled.
    candidates.sort(key=lambda candidate: candidate[0] not in recent)
    confirmed = {story_id}
    for candidate_id, candidate_story in candidates:
        if candidate_id == article_id or candidate_story in confirmed:
            continue
        theirs: Collection[int] | None = recent.get(candidate_id)
        reread = theirs is None
        if reread:
            text = session.scalar(select(Article.text).where(Article.id == candidate_id))
            theirs = shingles(text or "")
        if is_copy(own, theirs):
            confirmed.add(candidate_story)
            yield candidate_story
        elif reread:
            # Kept only when not a copy: a copy's story is now represented by the new
            # article (cached, and its newest member). Caching copies too made the cache
            # thrash: two entries per article halved its reach, so that a story's
            # previous copy 300 articles back was always evicted and re-read.
            recent.put(candidate_id, theirs)
