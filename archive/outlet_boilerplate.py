"""Each outlet's boilerplate, learned from the archive itself.

trafilatura keeps some of a site's furniture in the text: a "यह भी पढ़ें: ..." teaser, a
newsletter box, a "Follow us on ..." line, a menu it took for a list. No rule can tell
such a block from the article on one page; across an outlet's pages it is plain: the
same short block, word for word, under different stories. So every article stored as
the first copy of a new story counts its short blocks (``extraction.outlet_blocks``)
under its outlet, and a block counted on ``OUTLET_BOILERPLATE_MIN_PAGES`` of them is
learned: written to ``outlet_boilerplate`` and removed from the outlet's later pages
by extraction. Copies of one story (a wire story the outlet ran twice) count once, so
a story never teaches its own paragraphs; long blocks are never learned.

Counting happens in memory, per process, for the blocks not learned yet (bounded per
outlet: most blocks are seen once and never again); only learned blocks reach the
database, where every writer adds its pages to them and reads what the others learned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from archive.models import OutletBlock, Source, utcnow

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

MIN_PAGES = 3  # different stories of one outlet
TRACKED_PER_OUTLET = 5000  # unlearned blocks counted per outlet (~300 pages of them)
WINDOW_DAYS = 30.0  # a learned block no page showed for this long is forgotten
# What other writers learned is read back from this long before the last read: their
# rows are stamped when written and visible at their commit, a moment later.
READ_OVERLAP = timedelta(minutes=1)


@dataclass
class Sighting:
    """Pages a learned block was seen on since the database last heard of it."""

    pages: int
    example: str


class OutletBoilerplate:
    """What this process knows of each outlet's boilerplate, by source name.

    One per crawl, shared by the extraction step (which asks :meth:`known`) and the
    archive (which feeds :meth:`observe` with stored articles and saves what it
    learns); built by :meth:`from_crawler`, configured by settings."""

    def __init__(self, min_pages: int = MIN_PAGES, tracked: int = TRACKED_PER_OUTLET,
                 window_days: float = WINDOW_DAYS) -> None:
        self.min_pages = min_pages  # 0: learn nothing, remove nothing
        self.tracked = tracked
        self.window = timedelta(days=window_days) if window_days > 0 else None
        self.counts: dict[str, dict[int, int]] = {}  # outlet -> block key -> pages
        self.learned: dict[str, frozenset[int]] = {}
        self.sightings: dict[tuple[str, int], Sighting] = {}  # not yet in the database

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutletBoilerplate:
        """The crawl's one instance: the pipelines that share it each ask here."""
        if (shared := getattr(crawler, "outlet_boilerplate", None)) is None:
            settings = crawler.settings
            shared = cls(settings.getint("OUTLET_BOILERPLATE_MIN_PAGES", MIN_PAGES),
                         settings.getint("OUTLET_BOILERPLATE_TRACKED", TRACKED_PER_OUTLET),
                         settings.getfloat("OUTLET_BOILERPLATE_WINDOW_DAYS", WINDOW_DAYS))
            crawler.outlet_boilerplate = shared  # type: ignore[attr-defined]
        return shared

    def known(self, outlet: str | None) -> frozenset[int]:
        """The block keys extraction removes from this outlet's pages."""
        return self.learned.get(outlet, frozenset()) if outlet and self.min_pages else frozenset()

    def reset(self, rows: Iterable[tuple[str, int]]) -> None:
        """Know exactly these learned blocks (the database's, after forgetting)."""
        self.learned = {}
        self.learn(rows)

    def learn(self, rows: Iterable[tuple[str, int]]) -> None:
        """Blocks learned earlier or by other writers: (outlet, block key) rows."""
        found: dict[str, set[int]] = {}
        for outlet, key in rows:
            found.setdefault(outlet, set()).add(key)
        for outlet, keys in found.items():
            self.learned[outlet] = self.learned.get(outlet, frozenset()) | keys
            counts = self.counts.get(outlet, {})
            for key in keys:
                counts.pop(key, None)

    def observe(self, outlet: str, blocks: Iterable[tuple[int, str]]) -> None:
        """Count one stored article's candidate blocks: (key, text) pairs, each once."""
        if not self.min_pages:
            return
        counts = self.counts.setdefault(outlet, {})
        learned = self.learned.get(outlet, frozenset())
        new: set[int] = set()
        for key, text in blocks:
            if key in learned:
                self._sighted(outlet, key, text, 1)
            elif (seen := counts.get(key, 0) + 1) >= self.min_pages:
                del counts[key]
                new.add(key)
                self._sighted(outlet, key, text, seen)
            else:
                counts[key] = seen
        if new:
            self.learned[outlet] = learned | new
        if len(counts) > self.tracked:
            self._forget(counts)

    def _sighted(self, outlet: str, key: int, text: str, pages: int) -> None:
        if sighting := self.sightings.get((outlet, key)):
            sighting.pages += pages
        else:
            self.sightings[(outlet, key)] = Sighting(pages, text)

    def _forget(self, counts: dict[int, int]) -> None:
        """Make room: every count drops by one and the blocks at zero go (a block an
        outlet repeats keeps coming back; one seen once never does)."""
        for key, seen in list(counts.items()):
            if seen <= 1:
                del counts[key]
            else:
                counts[key] = seen - 1

    def take_sightings(self) -> dict[tuple[str, int], Sighting]:
        """The sightings to save; :meth:`give_back` them if the save fails."""
        taken, self.sightings = self.sightings, {}
        return taken

    def give_back(self, sightings: dict[tuple[str, int], Sighting]) -> None:
        for (outlet, key), sighting in sightings.items():
            self._sighted(outlet, key, sighting.example, sighting.pages)


def read_learned(session: Session, since: datetime | None = None) -> list[tuple[str, int]]:
    """(outlet, block key) of the learned blocks: all of them, or those learned since a
    time."""
    query = select(Source.name, OutletBlock.block_key).join(
        Source, Source.id == OutletBlock.source_id)
    if since is not None:
        query = query.where(OutletBlock.learned_at >= since)
    return [(name, key) for name, key in session.execute(query)]


def forget_unseen(session: Session, before: datetime) -> None:
    """Delete the learned blocks no page has shown since ``before`` (a teaser for a
    story long gone): the table and each process's sets stay the size of what the
    outlets print now."""
    session.execute(delete(OutletBlock).where(OutletBlock.last_seen_at < before))


def save_sightings(session: Session, sightings: Mapping[tuple[str, int], Sighting],
                   source_ids: Mapping[str, int]) -> None:
    """Add the sightings to ``outlet_boilerplate``: a row for a block newly learned,
    more pages for one learned before (here or by another writer). Rows go in key
    order, so two writers adding to the same blocks wait for each other, never
    deadlock."""
    now = utcnow()
    rows = sorted(({"source_id": source_ids[outlet], "block_key": key,
                    "pages_seen": sighting.pages, "example_text": sighting.example,
                    "learned_at": now, "last_seen_at": now}
                   for (outlet, key), sighting in sightings.items()),
                  key=lambda row: (row["source_id"], row["block_key"]))
    table = OutletBlock.__table__
    upsert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
              else sqlite_insert)(table)
    session.execute(upsert.on_conflict_do_update(
        index_elements=["source_id", "block_key"],
        set_={"pages_seen": table.c.pages_seen + upsert.excluded.pages_seen,
              "last_seen_at": upsert.excluded.last_seen_at}), rows)
