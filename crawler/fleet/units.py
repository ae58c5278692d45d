"""Work units shared by a fleet's workers: replay's files, re-extraction's article ranges.

With ``REDIS_URL``, ``scrapy crawl replay`` and ``scrapy reextract`` started on N
machines split one list of *units* (strings: a group of files, a WARC file, a range of
article ids) kept in Redis under the cycle (:mod:`crawler.fleet.cycle`):

- ``todo``: a list of units nobody holds. The seeding worker (``claim_seeding``) pushes
  them as its walk finds them, so others start before the walk ends; ``seen`` (unit
  digests) makes a second seeder, after the first was killed, push only what is new.
- ``doing``: a sorted set of the units taken, scored by their lease deadline, and
  ``owners`` (unit → worker). Taking is one Lua script (requeue the expired, pop, lease),
  so two workers never take one unit, and a unit is never out of both lists.
- A worker renews its units' leases every lease/3 (``FLEET_LEASE_SECONDS``) and marks a
  unit done only once every page read from it is committed to the archive (the store
  pipeline's ``pages_stored``): a worker killed with SIGKILL stops renewing, its units
  expire back into ``todo``, and another worker reads them again. Nothing read but not
  stored is lost; a page stored twice that way is a revisit of the same article.
- The cycle ends (``finish``) when it is seeded and ``todo`` and ``doing`` are empty;
  until then a worker with nothing to take keeps polling, because a unit another worker
  holds may still come back. Each worker then ends its run, with its usual exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.fleet.connection import REDIS_DOWN
from crawler.fleet.cycle import Cycle
from crawler.items import Page
from pipelines.store import pages_stored

logger = logging.getLogger(__name__)

# KEYS: todo, seen; ARGV: units. Pushes the units never pushed in this cycle.
PUSH = """
local added = 0
for i = 1, #ARGV do
  if redis.call('SADD', KEYS[2], redis.sha1hex(ARGV[i])) == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    added = added + 1
  end
end
return added
"""
# KEYS: todo, doing, owners; ARGV: now (ms), deadline (ms), worker.
# Expired units go back to the head of todo first; returns {expired count[, unit]}.
TAKE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, unit in ipairs(expired) do
  redis.call('ZREM', KEYS[2], unit)
  redis.call('HDEL', KEYS[3], unit)
  redis.call('LPUSH', KEYS[1], unit)
end
local unit = redis.call('LPOP', KEYS[1])
if not unit then
  return {#expired}
end
redis.call('ZADD', KEYS[2], ARGV[2], unit)
redis.call('HSET', KEYS[3], unit, ARGV[3])
return {#expired, unit}
"""
# KEYS: doing, owners; ARGV: worker, deadline (ms), units. Returns the units lost.
RENEW = """
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""
# KEYS: todo, doing, owners, done; ARGV: worker, unit. 1: done; 0: another worker took
# it over after this one's lease ran out, and reads it again.
DONE = """
local owner = redis.call('HGET', KEYS[3], ARGV[2])
if owner and owner ~= ARGV[1] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
if not owner then
  redis.call('LREM', KEYS[1], 0, ARGV[2])
end
redis.call('INCR', KEYS[4])
return 1
"""
# KEYS: todo, doing, owners; ARGV: worker, units. A stopping worker's units, back to todo.
RELEASE = """
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[1] then
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('LPUSH', KEYS[1], ARGV[i])
  end
end
return 0
"""
PUSH_BATCH = 50  # units a seeder pushes at a time: few round trips, small scripts


def page_key(page: Page) -> str:
    """What tells a page apart from the pages around it, and survives the store's spool
    (which gives back copies, not the objects the spider yielded)."""
    return json.dumps([page.url, page.local_path, page.fetched_at.isoformat(), page.warc],
                      sort_keys=True, default=str)


class WorkUnits:
    """This worker's view of the cycle's units: what it holds, and which pages of each
    are not stored yet."""

    def __init__(self, crawler: Crawler, cycle: Cycle) -> None:
        self.crawler = crawler
        self.cycle = cycle
        self.server = cycle.server
        settings = crawler.settings
        self.poll_seconds = settings.getfloat("FLEET_POLL_SECONDS", 1.0)
        self.keys = {part: cycle.name(f"units:{part}")
                     for part in ("todo", "doing", "owners", "seen", "done")}
        self._push = self.server.register_script(PUSH)
        self._take = self.server.register_script(TAKE)
        self._renew = self.server.register_script(RENEW)
        self._done = self.server.register_script(DONE)
        self._release = self.server.register_script(RELEASE)
        self.held: dict[str, int] = {}  # unit → its pages read and not stored yet
        self.reading: set[str] = set()  # units whose pages are still being read
        self.pages: dict[str, list[str]] = {}  # page_key → units it was read from
        self.heart: asyncio.Task[None] | None = None
        crawler.signals.connect(self.stored, signal=pages_stored)
        # A page a pipeline dropped or failed on is never stored, and reading its unit
        # again would not change that: it counts as settled, or the cycle never ends.
        crawler.signals.connect(self.settled, signal=signals.item_dropped)
        crawler.signals.connect(self.settled, signal=signals.item_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler, identity: str) -> WorkUnits | None:
        """The units of the cycle this worker joins; None without ``REDIS_URL``.
        Raises :class:`~crawler.fleet.connection.FleetError` if Redis does not answer."""
        cycle = Cycle.from_crawler(crawler, identity)
        return None if cycle is None else cls(crawler, cycle)

    @property
    def stats(self) -> Any:
        return self.crawler.stats

    # The loop of a worker -----------------------------------------------------------

    async def share(
        self,
        seed: Callable[[], Iterable[str]],
        read: Callable[[str], AsyncIterator[Page]],
    ) -> AsyncIterator[Page]:
        """The pages of every unit this worker takes, until the cycle is done.

        ``seed`` lists the crawl's units (run in a thread, by the seeding worker only);
        ``read`` gives a unit's pages. Redis down: the worker waits for it, holding its
        pages read; a cycle lost (Redis restarted empty) is joined anew and seeded again,
        where what is already archived comes back as revisits."""
        self.heart = asyncio.create_task(self._beat_forever())
        logger.info("fleet worker %s in cycle %d of %s", self.cycle.worker, self.cycle.number,
                    self.cycle.crawl)
        try:
            while True:
                try:
                    unit = await asyncio.to_thread(self._next, seed)
                except REDIS_DOWN as exc:
                    logger.warning("Redis does not answer (%s); trying again", exc)
                    await asyncio.sleep(self.poll_seconds)
                    continue
                if unit is None:
                    if await asyncio.to_thread(self._ended):
                        return
                    await asyncio.sleep(self.poll_seconds)
                    continue
                self.held[unit] = 0
                self.reading.add(unit)
                self.stats.inc_value("fleet/units/taken")
                try:
                    async for page in read(unit):
                        key = page_key(page)
                        self.pages.setdefault(key, []).append(unit)
                        self.held[unit] += 1
                        yield page
                finally:
                    self.reading.discard(unit)
                if self.held.get(unit) == 0:  # nothing to store: done now
                    self._finish_unit(unit)
        finally:
            if self.heart is not None:
                self.heart.cancel()

    def _next(self, seed: Callable[[], Iterable[str]]) -> str | None:
        """A unit taken, after seeding the cycle if nobody has; None if none is free."""
        if self.cycle.lost():
            logger.warning("the fleet's Redis no longer knows cycle %d (it restarted, or the "
                           "cycle was ended): joining a new one", self.cycle.number)
            self.cycle.join()
        if self.cycle.claim_seeding():
            self._seed(seed)
        now = self._now_ms()
        expired, *taken = self._take(
            keys=[self.keys["todo"], self.keys["doing"], self.keys["owners"]],
            args=[now, now + self.cycle.lease_ms, self.cycle.worker],
        )
        if expired:
            logger.warning("%d unit(s) of a worker that stopped renewing its lease went back "
                           "to the list; they are read again", expired)
            self.stats.inc_value("fleet/units/expired", int(expired))
        return taken[0].decode() if taken else None

    def _seed(self, seed: Callable[[], Iterable[str]]) -> None:
        batch: list[str] = []
        pushed = 0
        for unit in seed():
            batch.append(unit)
            if len(batch) >= PUSH_BATCH:
                pushed += int(self._push(keys=[self.keys["todo"], self.keys["seen"]],
                                         args=batch))
                batch = []
        if batch:
            pushed += int(self._push(keys=[self.keys["todo"], self.keys["seen"]], args=batch))
        self.cycle.seeded()
        self.stats.set_value("fleet/units/seeded", pushed)
        logger.info("seeded cycle %d with %d units", self.cycle.number, pushed)

    def _ended(self) -> bool:
        """Whether the cycle's work is all done (then finished here, if no other worker
        did): seeded, nothing left to take, nothing held by anyone."""
        if self.cycle.done():
            return True
        pipe = self.server.pipeline(transaction=True)  # one snapshot of the three
        pipe.exists(self.cycle.name("seeded"))
        pipe.llen(self.keys["todo"])
        pipe.zcard(self.keys["doing"])
        seeded, todo, doing = pipe.execute()
        if not seeded or todo or doing:
            return False
        self.cycle.finish(*self.keys.values())
        logger.info("cycle %d is done: every unit is stored", self.cycle.number)
        return True

    # Pages stored, units done ---------------------------------------------------------

    def stored(self, pages: list[Page]) -> None:
        """``pages_stored``: a unit whose pages are all committed is done."""
        for page in pages:
            units = self.pages.get(page_key(page))
            if not units:
                continue  # not read from a unit (a spool of an earlier run)
            unit = units.pop(0)
            if not units:
                del self.pages[page_key(page)]
            if unit not in self.held:
                continue
            self.held[unit] -= 1
            if self.held[unit] == 0 and unit not in self.reading:
                self._finish_unit(unit)

    def settled(self, item: Any) -> None:
        if isinstance(item, Page):
            self.stored([item])

    def _finish_unit(self, unit: str) -> None:
        del self.held[unit]
        try:
            done = self._done(keys=[self.keys["todo"], self.keys["doing"], self.keys["owners"],
                                    self.keys["done"]], args=[self.cycle.worker, unit])
        except REDIS_DOWN as exc:
            # Its lease runs out and another worker reads it again: stored twice, not lost.
            logger.warning("could not mark a unit done, Redis does not answer (%s)", exc)
            return
        self.stats.inc_value("fleet/units/done" if done else "fleet/units/taken-over")

    # Leases -------------------------------------------------------------------------

    async def _beat_forever(self) -> None:
        """Renew this worker's leases every lease/3: two beats may be missed (a slow
        Redis, a long store batch) before another worker takes its units."""
        while True:
            await asyncio.sleep(self.cycle.lease_seconds / 3)
            try:
                await asyncio.to_thread(self.beat)
            except REDIS_DOWN as exc:
                logger.warning("fleet heartbeat: Redis does not answer (%s)", exc)

    def beat(self) -> None:
        self.cycle.beat()
        held = list(self.held)
        if not held:
            return
        deadline = self._now_ms() + self.cycle.lease_ms
        lost = self._renew(keys=[self.keys["doing"], self.keys["owners"]],
                           args=[self.cycle.worker, deadline, *held])
        for unit in lost:
            if unit.decode() in self.held:
                logger.warning("a unit's lease ran out before this worker renewed it (was it "
                               "paused?); another worker reads it again: %s", unit[:200])

    def _now_ms(self) -> int:
        """Redis's clock, not this machine's: leases compare across machines."""
        seconds, micros = self.server.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def spider_closed(self) -> None:
        """Give back the units not done (a run stopped early), so that the others take
        them now rather than after the lease; leave the cycle's live workers."""
        if self.heart is not None:
            self.heart.cancel()
        with contextlib.suppress(*REDIS_DOWN):
            if self.held:
                await asyncio.to_thread(
                    self._release, keys=[self.keys["todo"], self.keys["doing"],
                                         self.keys["owners"]],
                    args=[self.cycle.worker, *self.held])
            await asyncio.to_thread(self.cycle.leave)
