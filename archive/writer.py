"""Writing pages into the archive database, one transaction per batch.

Everything here runs in a worker thread (see ``pipelines.store``), never on the
reactor. A batch is all-or-nothing: a crash mid-batch leaves no half article, and the
unique constraints on ``sources.name`` and ``articles.url`` keep two processes that
write at once from creating duplicates.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from archive.models import Article, ArticleVersion, Capture, CrawlRun, Source, utcnow
from archive.outlet_boilerplate import (
    READ_OVERLAP,
    OutletBoilerplate,
    forget_unseen,
    read_learned,
    save_sightings,
)
from archive.stories import (
    CANDIDATES_PER_BUCKET,
    PRUNE_EVERY_BATCHES,
    STORY_WINDOW_DAYS,
    BatchLinks,
    RecentShingles,
    lock_story_index,
    prune_story_bands,
    refresh_stories,
    story_window,
)
from crawler.items import Page
from crawler.sources import NewsSource

logger = logging.getLogger(__name__)

# Captures read from the database at a time when a command walks the archive
# (setting REEXTRACT_BATCH_ROWS): memory stays flat whatever the archive's size.
CAPTURE_BATCH_ROWS = 500
# Tries of a batch: a URL archived meanwhile or a deadlock with another writer rolls
# it back, and the next try starts from what the other writer committed.
WRITE_ATTEMPTS = 3
# PostgreSQL's codes for a transaction aborted only because of another one: deadlock
# detected, serialization failure. Tried again, the batch goes through.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def to_utc(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso).astimezone(UTC) if iso else None


def retryable(error: DBAPIError) -> bool:
    """Whether a failed batch may succeed when written again: a unique constraint that
    another process's commit broke, or a deadlock or serialization failure."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def process_alive(pid: int, started_at: datetime) -> bool:
    """Whether pid is still the process of a run that started at started_at: it runs,
    and did not start after the run did (a pid reused by a later process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    try:  # Linux: field 22 of /proc/<pid>/stat is the start time in ticks after boot
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return True  # no /proc: the pid exists, take it as the run's
    began = boot + ticks / os.sysconf("SC_CLK_TCK")
    return began <= started_at.timestamp() + 1  # +1 s: btime is rounded to the second


@dataclass
class KnownPage:
    """What the archive holds of a URL: its last capture, and how to revalidate it."""

    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None  # the last capture's failure reason; None when it succeeded
    final_url: str | None = None  # where the last capture's redirects ended
    article_id: int | None = None  # the article the last capture archived
    # sha256 of the last capture's body as received: a listing with the same is unchanged
    content_hash: str | None = None


@dataclass
class BatchIndex:
    """The articles a batch's pages may meet again, loaded with one query each: by URL
    (a revisit) and by content hash (a duplicate). The batch's own articles join as they
    are stored, so a page can also be a revisit or a duplicate of an earlier page of it."""

    by_url: dict[str, Article]
    originals: dict[str, Any]  # content hash -> its first non-duplicate article (id, story_id)

    @classmethod
    def load(cls, session: Session, articles: Sequence[dict[str, Any]]) -> BatchIndex:
        urls = list({fields["url"] for fields in articles})
        hashes = list({fields["content_hash"] for fields in articles})
        by_url: dict[str, Article] = {}
        originals: dict[str, Any] = {}
        for start in range(0, len(urls), 500):
            found = session.scalars(select(Article).where(Article.url.in_(urls[start:start + 500])))
            by_url.update((article.url, article) for article in found)
        for row in originals_of(session, hashes):
            originals.setdefault(row.content_hash, row)
        return cls(by_url, originals)

    def add(self, article: Article) -> None:
        self.by_url[article.url] = article
        if article.duplicate_of_id is None:
            self.originals.setdefault(article.content_hash, article)


def new_article_ids(session: Session, count: int) -> Iterator[int]:
    """Ids for a batch's new articles before they are inserted: story linking gives
    each its story first, and the INSERT carries it (``stories.BatchLinks``)."""
    if count == 0:  # a batch of revisits
        return iter(())
    if session.get_bind().dialect.name == "postgresql":
        return iter(session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('articles', 'id')) "
                 "FROM generate_series(1, :count)"), {"count": count}).all())
    # SQLite: the writer holds the database's write lock since BEGIN IMMEDIATE.
    last = session.scalar(select(func.coalesce(func.max(Article.id), 0)))
    return iter(range(last + 1, last + 1 + count))


def originals_of(session: Session, hashes: Sequence[str]) -> Iterator[Any]:
    """(content_hash, id, story_id) of the articles that are no copy, with one of these
    text hashes, oldest first for each batch of 500 hashes."""
    for start in range(0, len(hashes), 500):
        yield from session.execute(
            select(Article.content_hash, Article.id, Article.story_id)
            .where(Article.content_hash.in_(hashes[start:start + 500]))
            .where(Article.duplicate_of_id.is_(None))
            .order_by(Article.id)
        )


def capture_page(capture: Capture, source: str | None) -> Page:
    """A capture as the Page that reads it again (see ``Archive.article_captures``)."""
    page = Page(
        url=capture.final_url or capture.url,
        requested_url=capture.url if capture.final_url not in (None, capture.url) else None,
        fetched_at=capture.fetched_at,
        http_status=capture.http_status,
        source=source,
        listing=capture.listing or {},
    )
    if capture.warc_file is not None:
        page.warc = {"file": capture.warc_file, "offset": capture.warc_offset,
                     "length": capture.warc_length}
    else:  # a replayed file: the WARC reader gives the others their headers
        page.local_path = capture.local_path
        page.headers = {"content-type": capture.content_type} if capture.content_type else {}
        page.body_length, page.body_sha256 = capture.content_length, capture.content_hash
    return page


def first_copies(stored: Sequence[tuple[Page, Article | None]]
                 ) -> list[tuple[str, list[tuple[int, str]]]]:
    """(outlet, candidate blocks) of each new article that is the first copy of its
    story: what the outlet boilerplate is learned from."""
    return [(page.source, [(key, text) for key, text in page.article.get("blocks") or []])
            for page, article in stored
            if page.outcome == "new" and article is not None and page.source
            and page.article is not None and article.story_id in (None, article.id)]


class Archive:
    """The archive database as the pipelines see it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._source_ids: dict[str, int] = {}
        self.recent = RecentShingles()
        self.candidates_per_bucket = CANDIDATES_PER_BUCKET  # tests lower it
        self.story_window = story_window(STORY_WINDOW_DAYS)  # the setting, from the store
        self.batches_written = 0  # old story bands are pruned every PRUNE_EVERY_BATCHES
        self.boilerplate: OutletBoilerplate | None = None  # set by the store step
        self._first_copies: list[tuple[str, list[tuple[int, str]]]] = []
        self._learned_read_at = utcnow()  # when other writers' learning was last read

    # Crawl runs -------------------------------------------------------------------

    def start_run(self, spider: str, arguments: dict[str, Any]) -> int:
        with Session(self.engine) as session, session.begin():
            run = CrawlRun(spider=spider, arguments=arguments, status="running", stats={},
                           host=socket.gethostname(), pid=os.getpid(), heartbeat_at=utcnow())
            session.add(run)
            session.flush()
            return run.id

    def heartbeat(self, run_id: int) -> bool:
        """Say the run is alive; True if another run had marked it interrupted (this run
        was cut off from the database for longer than RUN_STALE_SECONDS), which is undone."""
        with Session(self.engine) as session, session.begin():
            revived = session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id, CrawlRun.status == "interrupted")
                .values(status="running", finished_at=None, finish_reason=None)
            ).rowcount
            session.execute(
                update(CrawlRun).where(CrawlRun.id == run_id).values(heartbeat_at=utcnow())
            )
        return bool(revived)

    def mark_dead_runs(self, stale_seconds: float) -> list[int]:
        """Mark ``interrupted`` the runs still ``running`` whose process is gone: on this
        host, a pid not running or reused; on any host, no heartbeat for stale_seconds."""
        host, now = socket.gethostname(), utcnow()
        dead: dict[int, str] = {}
        with Session(self.engine) as session, session.begin():
            runs = session.execute(
                select(CrawlRun.id, CrawlRun.host, CrawlRun.pid, CrawlRun.started_at,
                       CrawlRun.heartbeat_at).where(CrawlRun.status == "running")
            )
            for run_id, run_host, pid, started_at, heartbeat_at in runs:
                if run_host == host and pid is not None and not process_alive(pid, started_at):
                    dead[run_id] = "process-gone"
                elif (now - (heartbeat_at or started_at)).total_seconds() > stale_seconds:
                    dead[run_id] = "heartbeat-lost"
            for run_id, reason in dead.items():
                session.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id == run_id, CrawlRun.status == "running")
                    .values(status="interrupted", finished_at=now, finish_reason=reason)
                )
        return sorted(dead)

    def finish_run(self, run_id: int, status: str, reason: str | None, stats: dict) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(finished_at=utcnow(), status=status, finish_reason=reason, stats=stats)
            )

    # What the live crawl reads --------------------------------------------------------

    def register_sources(self, sources: Sequence[NewsSource]) -> None:
        """Create or update the sources-file outlets (homepage, domain, language)."""
        with Session(self.engine) as session, session.begin():
            for entry in sources:
                host = urlsplit(entry.homepage).hostname or ""
                values = {"homepage": entry.homepage, "language": entry.language,
                          "domain": host.removeprefix("www.") or None}
                source = session.scalar(select(Source).where(Source.name == entry.name))
                if source is None:
                    try:
                        with session.begin_nested():
                            session.add(Source(name=entry.name, **values))
                    except IntegrityError:  # another process created it first
                        pass
                else:
                    for name, value in values.items():
                        setattr(source, name, value)

    def known_pages(self, urls: Iterable[str]) -> dict[str, KnownPage]:
        """The archive's knowledge of each URL: its latest capture (by requested URL),
        else the article archived under it. One query per 500 URLs."""
        urls = list(dict.fromkeys(urls))
        found: dict[str, KnownPage] = {}
        with Session(self.engine) as session:
            for start in range(0, len(urls), 500):
                chunk = urls[start:start + 500]
                rows = session.execute(
                    select(Capture.url, Capture.fetched_at, Capture.etag,
                           Capture.last_modified, Capture.error, Capture.final_url,
                           Capture.article_id, Capture.content_hash)
                    .where(Capture.url.in_(chunk))
                    .order_by(Capture.fetched_at)
                )
                for (url, fetched_at, etag, last_modified, error, final_url, article,
                     digest) in rows:
                    known = found.setdefault(url, KnownPage(fetched_at))
                    known.fetched_at, known.error, known.final_url = fetched_at, error, final_url
                    known.article_id, known.content_hash = article, digest
                    if error is None:  # validators of the latest good capture
                        known.etag = etag or known.etag
                        known.last_modified = last_modified or known.last_modified
                articles = session.execute(
                    select(Article.url, Article.last_seen_at).where(Article.url.in_(chunk))
                )
                for url, last_seen_at in articles:
                    found.setdefault(url, KnownPage(last_seen_at))
        return found

    # What re-extraction reads ----------------------------------------------------------

    def article_captures(
        self,
        source: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch_rows: int = CAPTURE_BATCH_ROWS,
        article_ids: tuple[int, int] | None = None,
    ) -> Iterator[Page]:
        """Each article's latest capture that can be read again, oldest first, as a Page
        (body not read yet); filtered by source name and fetch time (since ≤ t < until),
        and to the articles with ``first ≤ id < end`` given ``article_ids=(first, end)``:
        a fleet's re-extraction splits the archive so (crawler.fleet.units), each range
        ranking only its own articles' captures (the articles index).

        A capture can be read again from its WARC record (``page.warc``) or, replayed from
        a file and kept in no WARC file, from that file (``page.local_path``; its
        ``body_sha256`` is the one archived, so that a file changed since is not taken
        for the page, and its content type the one replay gave). Streamed, batch_rows
        rows at a time (a server-side cursor on PostgreSQL): an archive of 100M articles
        is never held in memory. The query runs in one transaction, so the captures a
        re-extraction stores meanwhile are not read back.
        """
        readable = or_(Capture.warc_file.is_not(None), Capture.local_path.is_not(None))
        latest = (
            select(
                Capture.id,
                func.row_number()
                .over(partition_by=Capture.article_id,
                      order_by=(Capture.fetched_at.desc(), Capture.id.desc()))
                .label("rank"),
            )
            .where(Capture.article_id.is_not(None), readable)
        )
        if article_ids is not None:
            latest = latest.where(Capture.article_id >= article_ids[0],
                                  Capture.article_id < article_ids[1])
        ranked = latest.subquery()
        query = (
            select(Capture, Source.name)
            .join(ranked, (ranked.c.id == Capture.id) & (ranked.c.rank == 1))
            .outerjoin(Source, Source.id == Capture.source_id)
            .order_by(Capture.fetched_at, Capture.id)
        )
        if source is not None:
            query = query.where(Source.name == source)
        if since is not None:
            query = query.where(Capture.fetched_at >= since)
        if until is not None:
            query = query.where(Capture.fetched_at < until)
        with Session(self.engine) as session:
            rows = session.execute(query, execution_options={"yield_per": batch_rows})
            for capture, name in rows:
                yield capture_page(capture, name)

    # Pages ------------------------------------------------------------------------

    def write(self, pages: Sequence[Page], run_id: int | None) -> None:
        """Store a batch of pages in one transaction; sets each page's outcome.

        A URL archived by another process while this batch was prepared breaks the
        unique constraint and the batch rolls back; it is written once more, where that
        URL is now a revisit. A deadlock with another writer (PostgreSQL aborts one of
        them: see ``_write``) is retried the same way.
        """
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self._write(pages, run_id)
                break
            except (IntegrityError, OperationalError) as error:
                self._forget_uncommitted()
                if attempt == WRITE_ATTEMPTS or not retryable(error):
                    raise
            except Exception:
                self._forget_uncommitted()
                raise
        self._learn_boilerplate()

    def load_boilerplate(self) -> None:
        """What every writer learned of the outlets' boilerplate, forgetting the blocks
        no page showed within the window."""
        learner = self.boilerplate
        if learner is None or not learner.min_pages:
            return
        with Session(self.engine) as session, session.begin():
            self._read_boilerplate(session, learner, whole=True)

    def _learn_boilerplate(self) -> None:
        """Count the blocks of the batch's first copies of new stories, save the blocks
        learned or seen again, and read what other writers learned since the last batch
        (``archive.outlet_boilerplate``); every PRUNE_EVERY_BATCHES batches, forget
        the blocks no page showed within the window and read them all again. After the
        batch's commit, in a short transaction of its own: learning is a statistic, and
        a failure here loses a few counts (logged), never the batch."""
        learner, firsts, self._first_copies = self.boilerplate, self._first_copies, []
        if learner is None or not learner.min_pages:
            return
        for outlet, blocks in firsts:
            learner.observe(outlet, blocks)
        sightings = learner.take_sightings()
        whole = learner.window is not None and self.batches_written % PRUNE_EVERY_BATCHES == 0
        try:
            with Session(self.engine) as session, session.begin():
                if sightings:
                    save_sightings(session, sightings, self._source_ids)
                self._read_boilerplate(session, learner, whole)
        except DBAPIError as error:
            learner.give_back(sightings)
            logger.warning("Could not save what was learned of the outlets' boilerplate "
                           "(kept for the next batch): %s", str(error).splitlines()[0])

    def _read_boilerplate(self, session: Session, learner: OutletBoilerplate,
                          whole: bool) -> None:
        """Read the learned blocks: all of them (``whole``), after forgetting those no
        page showed within the window, else those learned since the last read."""
        read_at = utcnow()
        if whole:
            if learner.window is not None:
                forget_unseen(session, read_at - learner.window)
            learner.reset(read_learned(session))
        else:
            learner.learn(read_learned(session, since=self._learned_read_at - READ_OVERLAP))
        self._learned_read_at = read_at

    def _forget_uncommitted(self) -> None:
        """Ids handed out in a rolled-back transaction may be given out again."""
        self.recent.clear()

    def _write(self, pages: Sequence[Page], run_id: int | None) -> None:
        """The batch in two phases of one transaction. First, without any lock, what
        other writers cannot see until the commit: the revisits, the story links of the
        new and changed texts as the committed archive stands (``stories.BatchLinks``),
        then the new articles with their stories (multi-row INSERTs and the full-text
        index), their band rows and the captures: nearly all of the batch's work. Then,
        under the story-index lock (``lock_story_index``) until the commit, only what
        other writers may have committed meanwhile: a text archived first elsewhere,
        stories merged, new copies; and the ``stories`` rows. Several processes writing
        into one PostgreSQL database thus overlap all but that short second phase
        (benchmarks/store_writers.py).

        A writer in its first phase may wait for a row another writer holds (the same
        new URL, a revisited article being merged into a story): a wait cycle through
        the lock is a deadlock that PostgreSQL breaks by aborting one batch, and
        ``write`` retries it.
        """
        self._load_source_ids(pages)
        with Session(self.engine) as session, session.begin():
            batch = BatchIndex.load(session, [p.article for p in pages if p.article])
            ids = new_article_ids(session, sum(  # at most one a page of a URL not archived
                p.article is not None and p.article["url"] not in batch.by_url for p in pages))
            stored: list[tuple[Page, Article | None]] = []
            for page in pages:
                article = None
                if page.error is not None:
                    page.outcome = "failed"
                elif page.article is not None:
                    page.outcome, article = self.store_article(session, page, batch, ids)
                elif page.outcome is None:
                    page.outcome = "not-article"
                stored.append((page, article))
            links = BatchLinks(self.recent, self.candidates_per_bucket, self.story_window)
            alone = links.plan(session, [(article, page.article, page.outcome, page.source)
                                         for page, article in stored if article is not None])
            # The new articles go in together, with their stories: multi-row INSERTs, in
            # which the full-text trigger indexes the batch. Inserted one by one between
            # the story statements, the same index work took about twice the CPU
            # (benchmarks/store_cost.py, docs/benchmarks.md "Eighth round").
            session.flush()
            links.insert_bands(session)
            refresh_stories(session, (), alone)  # stories of one copy: no other writer's
            captures = [
                self.capture(page, run_id, self._source_id(page), article and article.id)
                for page, article in stored
            ]
            session.execute(insert(Capture.__table__), captures)  # Core: no ORM bookkeeping
            locked = lock_story_index(session)
            if locked:
                links.became_duplicate(session, self._catch_up(session, stored))
            stories, alone = links.settle(session, locked)
            if self.story_window is not None and self.batches_written % PRUNE_EVERY_BATCHES == 0:
                prune_story_bands(session, self.story_window)
            session.flush()
            refresh_stories(session, stories, alone)
            firsts = first_copies(stored)
        self.batches_written += 1
        self._first_copies = firsts

    @staticmethod
    def _catch_up(session: Session, stored: Sequence[tuple[Page, Article | None]]
                  ) -> dict[int, tuple[int, int | None]]:
        """The batch's new texts that another writer archived first, between the batch's
        reads and its lock: each becomes a duplicate of theirs (article id -> the
        original and its story), as if the batches had been written one after the
        other. One query, under the lock."""
        inserted = {article.id for page, article in stored
                    if article is not None and page.outcome in ("new", "duplicate")}
        hashes = list({article.content_hash for page, article in stored
                       if article is not None and page.outcome == "new"})
        originals: dict[str, tuple[int, int | None]] = {}  # content hash -> (id, story)
        for digest, article_id, story_id in originals_of(session, hashes):
            if article_id not in inserted:
                originals.setdefault(digest, (article_id, story_id))
        moved: dict[int, tuple[int, int | None]] = {}
        for page, article in stored:
            if article is None:
                continue
            if page.outcome == "new" and article.content_hash in originals:
                page.outcome = "duplicate"
                moved[article.id] = originals[article.content_hash]
                article.duplicate_of_id = moved[article.id][0]
            elif page.outcome == "duplicate" and article.duplicate_of_id in moved:
                article.duplicate_of_id = moved[article.duplicate_of_id][0]
        if moved:  # its capture went in before the lock, as new
            session.execute(update(Capture).where(Capture.article_id.in_(sorted(moved)),
                                                  Capture.outcome == "new")
                            .values(outcome="duplicate"))
        return moved

    def _source_id(self, page: Page) -> int | None:
        return self._source_ids[page.source] if page.source else None

    def _load_source_ids(self, pages: Sequence[Page]) -> None:
        """Put the id of each of the batch's sources in ``_source_ids``, creating those
        the archive lacks: one query for the unknown names, one insert for the new ones
        (a replay meets a new site every few pages; a savepoint each cost ~5 ms).

        In a short transaction of its own, committed before the batch's, and new names
        inserted in name order: writers that create the same new source then wait for
        each other that long, never for a whole batch, and never in a deadlock (two
        batches inserting the same names in another order). A source row is never
        worth rolling back with a batch."""
        first_urls: dict[str, str] = {}
        for page in pages:
            if page.source and page.source not in self._source_ids:
                first_urls.setdefault(page.source, page.url)
        if not first_urls:
            return
        with Session(self.engine) as session, session.begin():
            self._read_source_ids(session, list(first_urls))
            new = sorted((
                {"name": name, "domain": host.removeprefix("www.") if host else None}
                for name, url in first_urls.items()
                if name not in self._source_ids
                for host in [urlsplit(url).hostname]
            ), key=lambda row: row["name"])
            if new:
                dialect = session.get_bind().dialect.name
                upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
                # Names another process created meanwhile are skipped, then read back.
                session.execute(
                    upsert(Source.__table__).on_conflict_do_nothing(index_elements=["name"]),
                    new)
                self._read_source_ids(session, [row["name"] for row in new])

    def _read_source_ids(self, session: Session, names: list[str]) -> None:
        for start in range(0, len(names), 500):
            rows = session.execute(
                select(Source.name, Source.id).where(Source.name.in_(names[start:start + 500]))
            )
            self._source_ids.update((name, source_id) for name, source_id in rows)

    def store_article(
        self, session: Session, page: Page, batch: BatchIndex, ids: Iterator[int]
    ) -> tuple[str, Article]:
        """The page's article, new or revisited, and the outcome; a new one is added to
        the session with the next of ``ids``, not yet inserted (see ``_write``)."""
        fields = page.article or {}
        existing = batch.by_url.get(fields["url"])
        if existing is not None:
            outcome = self._revisit_article(session, existing, page)
            if outcome == "updated":
                batch.add(existing)  # its new text may be the original of a later page's
            return outcome, existing
        original = batch.originals.get(fields["content_hash"])
        article = Article(
            id=next(ids),
            source_id=self._source_id(page),
            first_seen_at=page.fetched_at,
            last_seen_at=page.fetched_at,
            duplicate_of_id=original.id if original else None,
            story_id=original.story_id if original else None,
            **self._content(fields),
        )
        session.add(article)
        batch.add(article)
        return ("duplicate" if original else "new"), article

    def _revisit_article(self, session: Session, article: Article, page: Page) -> str:
        fields = page.article or {}
        article.last_seen_at = max(article.last_seen_at, page.fetched_at)
        if article.content_hash == fields["content_hash"]:
            return "unchanged"
        session.flush()  # an article new in this batch gets its id, for its version row
        # When the current text was first seen: when the previous version was replaced.
        current_since = session.scalar(
            select(func.max(ArticleVersion.replaced_at))
            .where(ArticleVersion.article_id == article.id)
        ) or article.first_seen_at
        if page.fetched_at < current_since:
            return "unchanged"  # an older capture replayed late: not a newer version
        session.add(
            ArticleVersion(
                article_id=article.id,
                version=article.version,
                title=article.title,
                text=article.text,
                authors=article.authors,
                published_at=article.published_at,
                content_hash=article.content_hash,
                extractor=article.extractor,
                first_seen_at=current_since,
                replaced_at=page.fetched_at,
            )
        )
        for name, value in self._content(fields).items():
            setattr(article, name, value)
        article.version += 1
        return "updated"

    @staticmethod
    def _content(fields: dict[str, Any]) -> dict[str, Any]:
        """The article columns that come from extraction."""
        return {
            "url": fields["url"],
            "title": fields.get("title"),
            "text": fields["text"],
            "authors": fields.get("authors") or [],
            "published_at": fields.get("published_at"),
            "published_at_utc": to_utc(fields.get("published_at")),
            "language": fields.get("language"),
            "description": fields.get("description"),
            "wire_agency": fields.get("agency"),
            "content_hash": fields["content_hash"],
            "extractor": fields.get("extractor"),
            "metadata_sources": fields.get("provenance") or {},
        }

    @staticmethod
    def capture(
        page: Page, run_id: int | None, source_id: int | None, article_id: int | None
    ) -> dict[str, Any]:
        """The page's ``captures`` row, for one bulk insert per batch."""
        page.drop_body()
        warc = page.warc or {}
        return dict(
            crawl_run_id=run_id,
            source_id=source_id,
            url=page.requested_url or page.url,
            final_url=page.url,
            local_path=page.local_path,
            fetched_at=page.fetched_at,
            http_status=page.http_status,
            content_type=page.headers.get("content-type"),
            content_length=page.body_length,
            content_hash=page.body_sha256,
            etag=page.headers.get("etag"),
            last_modified=page.headers.get("last-modified"),
            outcome=page.outcome or "failed",
            error=page.error,
            error_detail=page.error_detail,
            article_id=article_id,
            listing=page.listing or None,
            warc_file=warc.get("file"),
            warc_offset=warc.get("offset"),
            warc_length=warc.get("length"),
        )
