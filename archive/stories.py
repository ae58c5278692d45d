"""Stories: the copies of one news story across outlets share ``articles.story_id``.

Each article's text becomes a set of word shingles, whose MinHash is cut into LSH bands
(``pipelines.keys.shingles``: the parameters; ``pipelines.keys.copies``: the computation, in
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
the dedupe step for pages extracted elsewhere); only :class:`BatchLinks` runs inside it,
in the crawl process, which therefore never loads numpy.
"""

from __future__ import annotations

import functools
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from sqlalchemy.orm.attributes import set_committed_value

from archive.models import Article, Source, Story, StoryBand, StoryLinkLog, utcnow
from pipelines.keys.shingles import shingles

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
# A batch's band rows from arrays of their columns (PostgreSQL).
BANDS_FROM_ARRAYS = text(
    "INSERT INTO story_bands (band, hash, article_id) "
    "SELECT * FROM unnest(CAST(:bands AS integer[]), CAST(:hashes AS bigint[]), "
    "CAST(:articles AS bigint[]))"
)
# The candidates of many articles in one statement (PostgreSQL): for each (article,
# band, hash, since) row, the newest ``per_bucket`` members of the bucket, as
# :func:`candidates_query` reads them for one article; ``skip``: ids that are none.
BATCH_CANDIDATES = text(
    "SELECT q.article_id, c.article_id, a.story_id "
    "FROM unnest(CAST(:items AS bigint[]), CAST(:bands AS integer[]), "
    "CAST(:hashes AS bigint[]), CAST(:since AS timestamp[])) AS q(article_id, band, hash, since) "
    "CROSS JOIN LATERAL (SELECT b.article_id FROM story_bands b "
    "WHERE b.band = q.band AND b.hash = q.hash "
    "AND b.article_id <> ALL(CAST(:skip AS bigint[])) "
    "ORDER BY b.article_id DESC LIMIT :per_bucket) AS c "
    "JOIN articles a ON a.id = c.article_id "
    "WHERE q.since IS NULL OR a.first_seen_at >= q.since"
)
# This batch's entry in the log, and the end of the entries older than the last
# LOG_BATCHES (under the story lock: batches are numbered in the order they commit).
LOG_BATCH = text(
    "WITH pruned AS (DELETE FROM story_link_log WHERE batch <= :batch - :keep) "
    "INSERT INTO story_link_log (batch, article_id) "
    "SELECT :batch, unnest(CAST(:articles AS bigint[]))"
)
# Batches kept in story_link_log: a writer whose batch took longer than this many of
# the others' searches all its candidates again (correct, only slower).
LOG_BATCHES = 1000
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
    archive writer links its batch before taking it and takes it at the end, for the
    delta only (:meth:`BatchLinks.settle`): under it, each statement sees every batch
    settled before, so the stories are those of the batches written one after the other.
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


class _Components:
    """Union-find over article and story ids (one id space: a story's id is the id of
    an article in it), for the copies a batch links."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, node: int) -> int:
        root = node
        while (up := self.parent.get(root, root)) != root:
            root = up
        while node != root:
            self.parent[node], node = root, self.parent.get(node, node)
        return root

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


@dataclass
class _Linked:
    """A batch article that is indexed and linked by its own text."""

    article: Article
    bands: list[int]
    shingles: set[int]
    since: datetime | None


@dataclass
class BatchLinks:
    """The story links of one batch of articles, found in two steps so that writers in
    other processes overlap all but the last, short one.

    :meth:`plan` runs before the batch's new articles are inserted, without the story
    lock: it reads the candidates of all of them from the committed archive (one
    statement on PostgreSQL), checks the copies and gives every article its story as
    the archive stands, so the articles go in with it (an UPDATE of every new row after
    the INSERT cost as much again). :meth:`settle` runs under the story lock
    (``lock_story_index``) on PostgreSQL: it reads only what other writers may have
    committed since, the stories of the articles it relied on (merged meanwhile?) and
    the articles linked since (``story_link_log``: a copy archived meanwhile?), and
    writes the final stories. The stories are then those of the batches written one
    after the other (tests/test_store_writers.py). On SQLite writers are serialised and
    the plan is final.

    An article's candidates are the newest :data:`CANDIDATES_PER_BUCKET` of each of its
    band buckets, first seen within the window, plus the batch's earlier articles that
    share a bucket; a candidate is a copy when :func:`is_copy` says so (shingles from
    :class:`RecentShingles`, else its text read back). An exact duplicate joins its
    original's story; a changed article stays in its story and joins those its new text
    copies (a story is never split); copies of two stories merge them into the older.
    """

    recent: RecentShingles
    per_bucket: int = CANDIDATES_PER_BUCKET
    window: timedelta | None = timedelta(days=STORY_WINDOW_DAYS)
    linked: dict[int, _Linked] = field(default_factory=dict)  # by article id
    articles: dict[int, tuple[Article, str | None]] = field(default_factory=dict)
    new: set[int] = field(default_factory=set)  # ids first inserted by this batch
    edges: set[tuple[int, int]] = field(default_factory=set)  # batch article, its copy
    judged: set[tuple[int, int]] = field(default_factory=set)  # candidates checked
    story_of: dict[int, int | None] = field(default_factory=dict)  # archived article's
    seen: int | None = None  # the last batch of story_link_log committed before plan
    alone: dict[int, tuple[Article, str | None]] = field(default_factory=dict)  # planned

    def plan(self, session: Session,
             entries: Iterable[tuple[Article, dict[str, Any], str, str | None]]
             ) -> list[tuple[Article, str | None]]:
        """Link the batch's articles (with their page's fields, outcome and source) as
        the committed archive stands; new articles not yet inserted, with their ids.
        Returns the new articles that are a story of their own, with their source:
        most of them, whose ``stories`` rows no other writer touches, so they go in
        (:func:`refresh_stories`) before the lock."""
        with session.no_autoflush:  # the new articles go in once they have a story
            self._plan(session, entries)
        return list(self.alone.values())

    def _plan(self, session: Session,
              entries: Iterable[tuple[Article, dict[str, Any], str, str | None]]) -> None:
        if session.get_bind().dialect.name == "postgresql":  # read before any candidate
            self.seen = session.scalar(select(func.coalesce(func.max(StoryLinkLog.batch), 0)))
        for article, fields, outcome, source in entries:
            self.articles[article.id] = (article, source)
            if outcome in ("new", "duplicate"):
                self.new.add(article.id)
            if outcome in ("unchanged", "updated"):
                self.story_of[article.id] = article.story_id
            if outcome == "duplicate" and (article.duplicate_of_id in self.articles
                                           or article.story_id is not None):
                self.edges.add((article.id, article.duplicate_of_id))
                if article.duplicate_of_id not in self.articles:
                    self.story_of[article.duplicate_of_id] = article.story_id
            elif outcome in ("new", "duplicate", "updated"):
                self._index(article, fields)
        changed = [i for i in self.linked if i not in self.new]
        if changed:  # indexed before, under an older text
            session.execute(delete(StoryBand).where(StoryBand.article_id.in_(changed)))
        components = self._components()
        self._check(session, self._candidates(session, []), components, in_batch=True)
        _, self.alone = self._assign(session, components, final=False)

    def insert_bands(self, session: Session) -> None:
        """The batch's band rows, once its articles are in."""
        rows = [(band, value, article_id) for article_id, item in self.linked.items()
                for band, value in enumerate(item.bands)]
        if not rows:
            return
        if session.get_bind().dialect.name == "postgresql":
            # One statement: an executemany sends one INSERT per band row.
            bands, values, ids = (list(column) for column in zip(*rows, strict=True))
            session.execute(BANDS_FROM_ARRAYS,
                            {"bands": bands, "hashes": values, "articles": ids})
        else:  # Core: no ORM bookkeeping for rows nothing reads back
            session.execute(insert(StoryBand.__table__), [
                {"band": band, "hash": value, "article_id": article_id}
                for band, value, article_id in rows])

    def became_duplicate(self, session: Session, moved: dict[int, tuple[int, int | None]]
                         ) -> None:
        """Articles of the batch that another writer archived first (article id ->
        their original and its story): they join its story, unindexed."""
        if not moved:
            return
        session.execute(delete(StoryBand).where(StoryBand.article_id.in_(sorted(moved))))
        self.edges = {(a, b) for a, b in self.edges if a not in moved}
        for article_id, (original, story) in moved.items():
            self.linked.pop(article_id, None)
            self.edges.add((article_id, original))
            self.story_of[original] = story

    def settle(self, session: Session, locked: bool
               ) -> tuple[set[int], list[tuple[Article, str | None]]]:
        """Write the final stories; returns what :func:`refresh_stories` needs: the
        story ids whose copies changed (a story planned alone that joined another
        among them), and the new articles alone now but not as planned. ``locked``:
        under the story lock, what other writers committed since :meth:`plan` is read."""
        if locked:
            self._read_stories(session)
            self._check(session, self._linked_since(session), self._components(),
                        in_batch=False)
            self._log(session)
        changed, alone = self._assign(session, self._components(), final=True)
        return (changed | (self.alone.keys() - alone.keys()),
                [row for article_id, row in alone.items() if article_id not in self.alone])

    # Planning -------------------------------------------------------------------

    def _index(self, article: Article, fields: dict[str, Any]) -> None:
        signature = fields.get("story_signature")
        if signature is None:  # imported here: the crawl process needs no numpy otherwise
            from pipelines.keys.copies import story_signature

            signature = story_signature(fields["text"])
        since = None if self.window is None else article.last_seen_at - self.window
        self.linked[article.id] = _Linked(article, signature["bands"],
                                          set(signature["shingles"]), since)
        self.recent.put(article.id, signature["shingles"])

    def _node(self, article_id: int) -> int:
        """An archived article stands for its story; a new one for itself."""
        story = self.story_of.get(article_id)
        return article_id if story is None else story

    def _components(self) -> _Components:
        components = _Components()
        for article_id, copy in self.edges:
            components.union(self._node(article_id), self._node(copy))
        return components

    def _candidates(self, session: Session, skip: list[int]
                    ) -> dict[int, dict[int, int | None]]:
        """Each indexed article's archived candidates and their stories; ``skip``: ids
        that are no candidate (the batch's own, once inserted)."""
        items = [item for item in self.linked.values() if item.bands]
        found: dict[int, dict[int, int | None]] = {item.article.id: {} for item in items}
        if not items:
            return found
        if session.get_bind().dialect.name == "postgresql":
            rows = session.execute(BATCH_CANDIDATES, {**self._columns(items), "skip": skip,
                                                      "per_bucket": self.per_bucket})
            for article_id, candidate, story in rows:
                found[article_id][candidate] = story
            return found
        for item in items:
            parameters: dict[str, Any] = band_parameters(item.bands)
            if item.since is not None:
                parameters["since"] = item.since
            query = candidates_query(len(item.bands), self.per_bucket, item.since is not None)
            for candidate, story in session.execute(query, parameters):
                if candidate not in skip:
                    found[item.article.id][candidate] = story
        return found

    def _linked_since(self, session: Session) -> dict[int, dict[int, int | None]]:
        """The candidates linked by other writers since :meth:`plan` read the archive
        (PostgreSQL, under the story lock): from the log, or, if it was pruned past
        that point, from a search of every bucket again."""
        oldest = session.scalar(select(func.min(StoryLinkLog.batch)))
        if oldest is not None and self.seen is not None and oldest > self.seen + 1:
            return self._candidates(session, sorted(self.articles))
        found: dict[int, dict[int, int | None]] = {
            article_id: {} for article_id, item in self.linked.items() if item.bands}
        logged = session.scalars(select(StoryLinkLog.article_id)
                                 .where(StoryLinkLog.batch > self.seen))
        others = sorted(set(logged) - self.articles.keys())
        if not found or not others:
            return found
        buckets: dict[tuple[int, int], list[_Linked]] = {}
        for article_id in found:
            item = self.linked[article_id]
            for key in enumerate(item.bands):
                buckets.setdefault(key, []).append(item)
        for start in range(0, len(others), 500):  # their band rows: ~43 an article
            rows = session.execute(
                select(StoryBand.band, StoryBand.hash, StoryBand.article_id,
                       Article.story_id, Article.first_seen_at)
                .join(Article, Article.id == StoryBand.article_id)
                .where(StoryBand.article_id.in_(others[start:start + 500])))
            for band, value, candidate, story, first_seen_at in rows:
                for item in buckets.get((band, value), ()):
                    if item.since is None or first_seen_at >= item.since:
                        found[item.article.id][candidate] = story
        return found

    def _log(self, session: Session) -> None:
        """Add the batch's indexed articles to story_link_log, as the next batch."""
        if not self.linked:
            return
        last = session.scalar(select(func.coalesce(func.max(StoryLinkLog.batch), 0)))
        session.execute(LOG_BATCH, {"batch": last + 1, "keep": LOG_BATCHES,
                                    "articles": sorted(self.linked)})

    @staticmethod
    def _columns(items: list[_Linked]) -> dict[str, list[Any]]:
        """The (article, band, hash, since) rows of these articles' buckets, as arrays."""
        columns: dict[str, list[Any]] = {"items": [], "bands": [], "hashes": [], "since": []}
        for item in items:
            since = item.since and item.since.astimezone(UTC).replace(tzinfo=None)
            for band, value in enumerate(item.bands):
                columns["items"].append(item.article.id)
                columns["bands"].append(band)
                columns["hashes"].append(value)
                columns["since"].append(since)
        return columns

    def _check(self, session: Session, found: dict[int, dict[int, int | None]],
               components: _Components, in_batch: bool) -> None:
        """Check the candidates not checked yet, in batch order; ``in_batch``: the
        batch's earlier articles sharing a bucket are candidates too."""
        buckets: dict[tuple[int, int], list[int]] = {}
        texts = self._texts(session, {
            candidate for article_id, candidates in found.items() for candidate in candidates
            if (article_id, candidate) not in self.judged and candidate not in self.recent})
        for article_id, candidates in found.items():
            item = self.linked[article_id]
            for candidate, story in candidates.items():
                if story is not None:
                    self.story_of[candidate] = story
            earlier: list[int] = []
            if in_batch:
                for key in enumerate(item.bands):
                    earlier.extend(buckets.setdefault(key, []))
                    buckets[key].append(article_id)
            order = sorted(
                (c for c, story in candidates.items() if story is not None), reverse=True)
            # Those at hand first: one confirmed member settles a story.
            order.sort(key=lambda candidate: candidate not in self.recent)
            for candidate in [*dict.fromkeys(reversed(earlier)), *order]:
                pair = (article_id, candidate)
                if pair in self.judged:
                    continue
                self.judged.add(pair)
                if components.find(self._node(candidate)) == components.find(
                        self._node(article_id)):
                    continue  # already in its story
                theirs, read = self._shingles(session, candidate, texts)
                if is_copy(item.shingles, theirs):
                    self.edges.add(pair)
                    components.union(self._node(article_id), self._node(candidate))
                elif read:
                    # Kept only when not a copy: a copy's story is now represented by
                    # the new article (cached, and its newest member). Caching copies
                    # too made the cache thrash: two entries per article halved its
                    # reach, so that a story's previous copy 300 articles back was
                    # always evicted and re-read.
                    self.recent.put(candidate, theirs)

    def _texts(self, session: Session, ids: set[int]) -> dict[int, str]:
        texts: dict[int, str] = {}
        wanted = sorted(ids - set(self.linked))
        for start in range(0, len(wanted), 500):
            rows = session.execute(select(Article.id, Article.text)
                                   .where(Article.id.in_(wanted[start:start + 500])))
            texts.update((article_id, body) for article_id, body in rows)
        return texts

    def _shingles(self, session: Session, candidate: int, texts: dict[int, str]
                  ) -> tuple[Collection[int], bool]:
        """The candidate's shingles, and whether they were read from its text (with the
        others in ``texts``, or now if it has left the cache since): the batch's own,
        else cached, else read."""
        if candidate in self.linked:
            return self.linked[candidate].shingles, False
        theirs = self.recent.get(candidate)
        if theirs is not None:
            return theirs, False
        if candidate not in texts:
            texts.update(self._texts(session, {candidate}))
        return shingles(texts.get(candidate) or ""), True

    def _read_stories(self, session: Session) -> None:
        """The stories of the archived articles relied on (the batch's, and the copies
        and originals it links to), as committed now: another writer may have merged
        them. A revisited article's row is the batch's since its UPDATE, but not its
        story: only :meth:`settle` writes an archived article's story."""
        ids = sorted({copy for _, copy in self.edges if copy not in self.new}
                     | (self.articles.keys() - self.new))
        for start in range(0, len(ids), 500):
            rows = session.execute(select(Article.id, Article.story_id)
                                   .where(Article.id.in_(ids[start:start + 500])))
            self.story_of.update((article_id, story) for article_id, story in rows)

    # Writing --------------------------------------------------------------------

    def _assign(self, session: Session, components: _Components, final: bool
                ) -> tuple[set[int], dict[int, tuple[Article, str | None]]]:
        """Give each batch article the story of its component: the oldest story in it,
        else its first article's id; returns the stories whose copies changed and the
        new articles that are a story alone. ``final``: also give the batch's archived
        articles theirs, and merge the archived stories a component joins."""
        stories: dict[int, set[int]] = {}  # component root -> archived stories in it
        members: dict[int, list[int]] = {}  # component root -> batch articles
        for story in set(self.story_of.values()) - {None}:
            stories.setdefault(components.find(story), set()).add(story)
        for article_id in self.articles:
            members.setdefault(components.find(self._node(article_id)), []).append(article_id)
        changed: set[int] = set()
        alone: dict[int, tuple[Article, str | None]] = {}
        for root, ids in members.items():
            archived = stories.get(root, set())
            linking = [i for i in ids if i in self.linked or i in self.new]
            story_id = min(archived, default=min(ids))
            for article_id in linking if final else self.new.intersection(ids):
                article = self.articles[article_id][0]
                if article_id in self.story_of:  # archived: its story as read last
                    set_committed_value(article, "story_id", self.story_of[article_id])
                article.story_id = story_id
            merged = sorted(archived - {story_id})
            if final and merged:
                session.flush()
                session.execute(update(Article).where(Article.story_id.in_(merged))
                                .values(story_id=story_id))
            if archived or len(linking) > 1 or (linking and linking[0] not in self.new):
                changed |= archived | {story_id}
            elif linking:
                alone[linking[0]] = self.articles[linking[0]]
        return changed, alone


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
