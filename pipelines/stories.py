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

The index is bounded by a window (``STORY_WINDOW_DAYS``, measured on
``articles.first_seen_at``): candidates are only articles first seen within the window
before the new text arrived, and :func:`prune_story_bands` deletes the bands of older
articles now and then (they keep their ``story_id``). Wire copies arrive within days of
each other, so a window of weeks loses almost no link, and the table stops growing with
the archive: its size is the window's articles times 43. The window is measured on the
archive's own clock, not ``published_at_utc``: every article has it, no page can state
it wrong, and a replay of old captures keeps the dates they were fetched. The trade-off:
a copy arriving after the window (a story re-run months later) starts a new story.

The signature is computed before the database transaction (in the extraction worker, or
the dedupe step for pages extracted elsewhere); only :func:`link_story` runs inside it,
in the crawl process, which therefore never loads numpy.
"""

from __future__ import annotations

import functools
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from pipelines.models import Article, Source, Story, StoryBand, utcnow
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
# Candidates are articles first seen at most this long before the new text arrived
# (setting STORY_WINDOW_DAYS; 0 = no window, every band kept).
STORY_WINDOW_DAYS = 30
# A process prunes the bands of articles older than the window in its first batch, then
# every this many batches (100 x 200 pages): one indexed DELETE, not one per page.
PRUNE_EVERY_BATCHES = 100
# An article's band rows from the array of its band hashes (PostgreSQL).
BANDS_FROM_ARRAY = text(
    "INSERT INTO story_bands (band, hash, article_id) "
    "SELECT number - 1, hash, :article "
    "FROM unnest(CAST(:hashes AS bigint[])) WITH ORDINALITY AS bands(hash, number)"
)
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


def lock_story_index(session: Session) -> bool:
    """Serialise story linking between processes until this transaction ends; True if
    other processes may have written since the transaction began (PostgreSQL).

    Without it, two PostgreSQL transactions (READ COMMITTED) inserting copies of one
    story at once each miss the other's uncommitted bands and start two stories. The
    archive writer takes it after inserting its batch's articles, only for the linking
    and what follows (``pipelines.archive.Archive._write``): the batch's other work
    overlaps with other writers'. Under it, each statement sees every batch linked
    before, so the stories are those of the batches written one after the other.
    SQLite's writers are already serialised by ``BEGIN IMMEDIATE``.
    """
    if session.get_bind().dialect.name != "postgresql":
        return False
    session.execute(select(func.pg_advisory_xact_lock(INDEX_LOCK_KEY)))
    return True


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


def story_window(days: float) -> timedelta | None:
    """The window for ``STORY_WINDOW_DAYS``; None (no window) for 0 or less."""
    return timedelta(days=days) if days > 0 else None


def link_story(
    session: Session,
    article: Article,
    fields: dict[str, Any],
    recent: RecentShingles,
    per_bucket: int = CANDIDATES_PER_BUCKET,
    window: timedelta | None = timedelta(days=STORY_WINDOW_DAYS),
) -> set[int]:
    """Index a new or changed article and give it (and what it bridges) one story id;
    returns the story ids whose copies changed (its story, and those merged into it:
    :func:`refresh_stories` needs them).

    ``fields`` is the page's article, with its ``story_signature`` (computed here only
    for a page that skipped the extract and dedupe steps). An exact duplicate
    keeps the story of its original (same text, same copies). A changed article's old
    bands are replaced; it stays in its story and joins the stories its new text
    copies (a story is never split). Candidates were first seen within ``window``
    before the text arrived (``last_seen_at``: the capture that brought it).
    """
    if article.duplicate_of_id is not None and article.story_id is not None:
        return {article.story_id}
    signature = fields.get("story_signature")
    if signature is None:  # imported here: the crawl process needs no numpy otherwise
        from pipelines.dedupe_keys import story_signature

        signature = story_signature(fields["text"])
    bands = signature["bands"]
    if article.story_id is not None:  # indexed before, under an older text
        session.execute(delete(StoryBand).where(StoryBand.article_id == article.id))
    if bands and session.get_bind().dialect.name == "postgresql":
        # One statement: an executemany sends one INSERT per band, and their 43 round
        # trips and executions were ~1/3 of the time a batch holds the story lock.
        session.execute(BANDS_FROM_ARRAY, {"hashes": bands, "article": article.id})
    elif bands:
        session.execute(  # Core: no ORM bookkeeping for rows nothing reads back
            insert(StoryBand.__table__),
            [{"band": band, "hash": value, "article_id": article.id}
             for band, value in enumerate(bands)],
        )
    own = set(signature["shingles"])
    recent.put(article.id, signature["shingles"])
    since = None if window is None else article.last_seen_at - window
    stories: set[int] = set(_copied_stories(
        session, article.id, article.story_id, bands, own, recent, per_bucket, since))
    if article.story_id is not None:
        stories.add(article.story_id)
    story_id = min(stories, default=article.id)
    merged = stories - {story_id}
    if merged:
        session.execute(
            update(Article).where(Article.story_id.in_(merged)).values(story_id=story_id)
        )
    article.story_id = story_id
    return stories


@functools.cache
def candidates_query(
    bands: int, per_bucket: int, windowed: bool = False
) -> Select[tuple[int, int | None]]:
    """The newest ``per_bucket`` articles (and their stories) of each band's bucket:
    parameters ``h0``.. ``hN``, the article's band hashes; ``windowed``: and ``since``,
    the earliest ``first_seen_at`` of a candidate (checked on the few rows found).

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
    query = select(Article.id, Article.story_id).where(
        Article.id.in_(select(members.c.article_id)))
    if windowed:
        query = query.where(Article.first_seen_at >= bindparam("since"))
    return query.order_by(Article.story_id, Article.id.desc())


def refresh_stories(session: Session, story_ids: Collection[int],
                    alone: Sequence[tuple[Article, str | None]] = ()) -> None:
    """Rewrite the ``stories`` rows of these stories from their copies, in the writer's
    transaction; a story merged into another has no copies left, and so no row. ``alone``:
    new articles (with their source's name) that are a story of their own, written
    from the article itself: most articles, whose copies need no reading back.

    The same definition as migration 0007's fill: the first copy is the first published
    (undated last, then first archived, then lowest id), counts over every copy. Each
    story's copies are read through ``ix_articles_story_id``: the cost is the batch's
    stories' copies, not the archive's size.
    """
    if alone:
        session.execute(insert(Story), [
            {"story_id": article.id, "title": article.title, "first_article_id": article.id,
             "first_url": article.url, "first_source": source,
             "first_published_at": article.published_at,
             "first_published_at_utc": article.published_at_utc,
             "wire_agency": article.wire_agency, "copies": 1,
             "outlets": int(article.source_id is not None),
             "first_seen_at": article.first_seen_at, "last_seen_at": article.last_seen_at}
            for article, source in alone
        ])
    if not story_ids:
        return
    ids = sorted(story_ids)
    session.execute(delete(Story).where(Story.story_id.in_(ids)))
    ranked = (
        select(Article.id, Article.story_id, func.row_number().over(
            partition_by=Article.story_id,
            order_by=(Article.published_at_utc.asc().nulls_last(), Article.first_seen_at,
                      Article.id),
        ).label("rank"))
        .where(Article.story_id.in_(ids))
        .subquery()
    )
    copies = (
        select(
            Article.story_id,
            func.max(Article.wire_agency).label("wire_agency"),
            func.count().label("copies"),
            func.count(func.distinct(Article.source_id)).label("outlets"),
            func.min(Article.first_seen_at).label("first_seen_at"),
            func.max(Article.last_seen_at).label("last_seen_at"),
        )
        .where(Article.story_id.in_(ids))
        .group_by(Article.story_id)
        .subquery()
    )
    first = aliased(Article)
    rows = (
        select(copies.c.story_id, first.title, first.id, first.url, Source.name,
               first.published_at, first.published_at_utc, copies.c.wire_agency,
               copies.c.copies, copies.c.outlets, copies.c.first_seen_at,
               copies.c.last_seen_at)
        .join(ranked, and_(ranked.c.story_id == copies.c.story_id, ranked.c.rank == 1))
        .join(first, first.id == ranked.c.id)
        .outerjoin(Source, Source.id == first.source_id)
    )
    session.execute(insert(Story).from_select(STORY_COLUMNS, rows))


# The columns of ``stories`` in the order refresh_stories selects them.
STORY_COLUMNS = ["story_id", "title", "first_article_id", "first_url", "first_source",
                 "first_published_at", "first_published_at_utc", "wire_agency", "copies",
                 "outlets", "first_seen_at", "last_seen_at"]


def prune_story_bands(session: Session, window: timedelta) -> int:
    """Delete the bands of articles first seen before the window (counted back from the
    archive's newest article, so replaying old captures prunes by their own dates);
    returns how many. Stories stay: only ``story_bands`` rows go.

    It deletes below the smallest id first seen within the window: every smaller id was
    first seen earlier, and ``story_bands``' index on ``article_id`` then reaches only
    the rows to delete, however many were pruned before. An older article stored after
    a newer one (a late replay) keeps its bands until the window passes its id; it is
    no candidate meanwhile (:func:`candidates_query`).
    """
    newest = session.scalar(select(func.max(Article.first_seen_at)))
    if newest is None:
        return 0
    # Never past the clock: a page dated in the future (a typo in a replay's manifest)
    # would otherwise prune every band.
    cutoff = min(newest, utcnow()) - window
    # The window's ids through the first_seen_at index; OFFSET 0 keeps PostgreSQL from
    # turning min() into a walk of the primary key from id 1, which passes every
    # article older than the window before the first that is not.
    recent = select(Article.id).where(Article.first_seen_at >= cutoff).offset(0).subquery()
    boundary = session.scalar(select(func.min(recent.c.id)))  # the newest article at least
    result = session.execute(delete(StoryBand).where(StoryBand.article_id < boundary))
    return result.rowcount


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
    since: datetime | None,
) -> Iterable[int]:
    """The other stories with a member that this text copies (one member is enough)."""
    if not bands:
        return
    parameters: dict[str, Any] = band_parameters(bands)
    if since is not None:
        parameters["since"] = since
    query = candidates_query(len(bands), per_bucket, since is not None)
    candidates = session.execute(query, parameters).all()
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
