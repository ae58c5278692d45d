"""The live crawl's frontier shared by a fleet: scrapy-redis's scheduler, by outlet.

scrapy-redis gives the shared queue, the shared duplicate filter and the request
serialisation; what a news fleet needs on top of it is here:

- **One queue per outlet, one worker per outlet at a time.** Requests go to
  ``q:<outlet>`` (a sorted set by priority). A worker takes requests only from outlets
  it holds the *lease* of (``lease:<outlet>``, renewed every third of
  ``FLEET_LEASE_SECONDS``), so ``CONCURRENT_REQUESTS_PER_DOMAIN``, the download delay,
  AutoThrottle and robots.txt, all applied by the one worker talking to an outlet,
  hold for the fleet (StormCrawler's partitioning by host, with outlets as hosts).
  A worker holds about its share of the outlets that have work (outlets / live
  workers) and gives an outlet back once its queue is empty and nothing of it is
  claimed.
- **Claims until stored.** A request taken from Redis is kept in ``inflight:<outlet>``
  until every page it produced is committed to the archive (``pages_stored``) and the
  engine is done with it (its follow-up requests are queued by then). A worker killed
  with SIGKILL loses its leases after ``FLEET_LEASE_SECONDS``; the next worker to take
  such an outlet puts its claimed requests back in the queue first. A page can thus be
  fetched twice (by the dead worker and its successor), never lost.
- **A duplicate filter per cycle** (``<cycle>:dupefilter``): each page is requested once
  per cycle by the fleet, and the next cycle's homepages, listings and revalidations
  are never filtered as seen last time.
- **Workers wait for the cycle, not for themselves.** An idle worker stays while the
  cycle has work anywhere (another worker's outlets may still yield requests, or be
  left by a dead worker), and exits by itself once the cycle is done.
- **Redis down**: requests to queue wait in memory and are queued when it answers;
  past ``FLEET_REDIS_OUTAGE_MAX`` seconds the worker stops (exit 2), what it stored is
  in the archive. A Redis that restarted empty has lost the cycle: the workers start
  a new one, seeded again; what the archive holds is not fetched again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base as RedisQueue
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler.fleet.connection import REDIS_DOWN, connect, fleet_url
from crawler.fleet.cycle import Cycle
from pipelines.store import pages_stored

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLAIM = "fleet_claim"  # request meta: the token of the claim it was taken under
REQUEUED_SCORE = -1e9  # requests taken over from a dead worker go first

# Take an outlet: refresh our lease, or take a free one that has work, putting back in
# the queue what its last holder had claimed (a holder gives an outlet back only once
# nothing of it is claimed, so anything claimed here is a dead worker's).
# Returns -1: another worker holds it; -2: nothing to do; else how many were put back.
TAKE = """
local owner = redis.call('GET', KEYS[1])
if owner then
  if owner ~= ARGV[1] then return -1 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
if redis.call('ZCARD', KEYS[3]) == 0 and redis.call('HLEN', KEYS[2]) == 0 then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local claimed = redis.call('HVALS', KEYS[2])
for _, request in ipairs(claimed) do redis.call('ZADD', KEYS[3], ARGV[3], request) end
redis.call('DEL', KEYS[2])
return #claimed
"""
# Claim up to ARGV[2] requests of an outlet we hold; false if the lease was lost.
POP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local requests = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)
if #requests > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #requests - 1) end
for _, request in ipairs(requests) do
  redis.call('HSET', KEYS[3], redis.sha1hex(request), request)
end
return requests
"""
# Give an outlet back: when its queue is empty and nothing of it is claimed (ARGV[2]=1:
# with its queue, a drained outlet or on close, once our claims were settled or put back).
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '1' and (redis.call('ZCARD', KEYS[2]) > 0 or redis.call('HLEN', KEYS[3]) > 0) then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"""
# Put claimed requests (tokens ARGV[2..]) back in the queue: a closing worker's.
GIVE_BACK = """
local n = 0
for i = 2, #ARGV do
  local request = redis.call('HGET', KEYS[2], ARGV[i])
  if request then
    redis.call('ZADD', KEYS[1], ARGV[1], request)
    redis.call('HDEL', KEYS[2], ARGV[i])
    n = n + 1
  end
end
return n
"""
# The outlets that have work (queued or claimed), and those of them nobody holds.
WORK = """
local active, free = 0, {}
for _, outlet in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local base = ARGV[1] .. ':'
  if redis.call('ZCARD', base .. 'q:' .. outlet) > 0
      or redis.call('HLEN', base .. 'inflight:' .. outlet) > 0 then
    active = active + 1
    if redis.call('EXISTS', base .. 'lease:' .. outlet) == 0 then table.insert(free, outlet) end
  end
end
return {active, free}
"""


class CycleDupeFilter(RFPDupeFilter):
    """scrapy-redis's filter, its key that of the current cycle (set by the scheduler)."""

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: the other workers of the cycle still need them."""


class OutletQueues(RedisQueue):
    """Encodes requests as scrapy-redis does; the queues themselves are the outlets'."""

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)

    def decode(self, data: bytes) -> Request:
        return self._decode_request(data)


def outlet_of(request: Request) -> str:
    return request.meta.get("source") or "-"


# Two places where Scrapy (2.19) has no public word, read from its engine's private
# ``_slot``; tests/test_fleet_crawl.py fails if a Scrapy upgrade moves them.


def in_progress(crawler: Crawler) -> Iterable[Request]:
    """The requests the engine is downloading or whose output it is still handling:
    one leaves only once its callback's requests are scheduled and its items have
    passed the pipelines, which is when its claim may be settled."""
    slot = getattr(crawler.engine, "_slot", None)
    return slot.inprogress if slot is not None else ()


def wake(crawler: Crawler) -> None:
    """Have the engine ask for requests now: work found by polling Redis would
    otherwise wait for the engine's 5-second heartbeat."""
    slot = getattr(crawler.engine, "_slot", None)
    if slot is not None:
        slot.nextcall.schedule()


class FleetScheduler(RedisScheduler):
    """The spider it serves (``news``) gives it ``cycle`` (its :class:`Cycle`),
    ``seeds()`` (its first requests, to seed a cycle again) and ``cycle_lost()`` (to
    forget what it listed in a cycle Redis lost)."""

    def __init__(self, crawler: Crawler, server: Any) -> None:
        super().__init__(server, persist=True, dupefilter=CycleDupeFilter(server, key=""),
                         serializer=picklecompat)
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.lease_seconds = settings.getfloat("FLEET_LEASE_SECONDS", 30.0)
        self.outage_max = settings.getfloat("FLEET_REDIS_OUTAGE_MAX", 300.0)
        self.take_batch = max(1, 2 * settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2))
        self.cycle: Cycle
        self.codec: OutletQueues
        self.ready: deque[Request] = deque()  # claimed, not yet handed to the engine
        self.local: deque[Request] = deque()  # redirects and retries of claimed requests
        self.unsent: list[Request] = []  # to queue once Redis answers again
        self.owned: set[str] = set()  # outlets whose lease this worker holds
        self.draining: set[str] = set()  # owned, to give back once nothing of it is claimed
        self.claims: dict[str, str] = {}  # claim token -> outlet
        self.waiting: dict[str, int] = {}  # claim token -> its pages not stored yet
        self.next_poll = 0.0
        self.next_take = 0.0
        self.down_since: float | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self._take = server.register_script(TAKE)
        self._pop = server.register_script(POP)
        self._release = server.register_script(RELEASE)
        self._give_back = server.register_script(GIVE_BACK)
        self._work = server.register_script(WORK)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        crawler.signals.connect(self.page_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.stored, signal=pages_stored)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetScheduler:
        url = fleet_url(crawler.settings)
        assert url is not None  # this scheduler is set only with REDIS_URL
        return cls(crawler, connect(url))

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.cycle = spider.cycle
        self.df.key = self.cycle.name("dupefilter")
        self.stats.set_value("fleet/cycle", self.cycle.number)
        self.stats.set_value("fleet/worker", self.cycle.worker)
        self.codec = OutletQueues(self.server, spider, key="", serializer=self.serializer)
        beat = self.lease_seconds / 3
        self.tasks = [asyncio.ensure_future(self.every(beat, self.heartbeat)),
                      asyncio.ensure_future(self.every(min(0.5, beat), self.tick))]
        logger.info("fleet worker %s joined cycle %d of %s", self.cycle.worker,
                    self.cycle.number, self.cycle.crawl)

    async def every(self, seconds: float, work: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            work()

    def close(self, reason: str) -> None:
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(*REDIS_DOWN):
            self.settle()
            self.give_back()
            self.cycle.leave()

    # Redis, riding out an outage --------------------------------------------------

    def redis(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """The call's result, or None while Redis does not answer (counted, timed)."""
        try:
            result = call(*args, **kwargs)
        except REDIS_DOWN as exc:
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.stats.inc_value("fleet/redis-outages")
                logger.warning("Redis does not answer (%s); fetched pages are still stored, "
                               "new requests wait in memory", exc)
            return None
        if self.down_since is not None:
            logger.warning("Redis answers again after %.0f s",
                           time.monotonic() - self.down_since)
            self.down_since = None
        return result

    def key(self, part: str, outlet: str) -> str:
        return self.cycle.name(f"{part}:{outlet}")

    # Queueing ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ready) + len(self.local) + len(self.unsent)

    def enqueue_request(self, request: Request) -> bool:
        queued = None if self.unsent else self.redis(self.push, request)
        if queued is None:
            self.unsent.append(request)  # after those already waiting: order kept
            return True
        return queued

    def push(self, request: Request) -> bool:
        """Queue one request in Redis, unless the cycle has seen it (False); a redirect
        or retry of a claimed request stays here, under the same claim."""
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if request.meta.get(CLAIM) in self.claims:
            self.local.append(request)
            self.stats.inc_value("scheduler/enqueued")  # the progress line: this worker's
            return True
        self.stats.inc_value("fleet/queued")
        outlet = outlet_of(request)
        if outlet in self.owned:
            self.next_poll = 0.0  # work for this worker: poll at once
        self.server.pipeline().sadd(self.cycle.name("outlets"), outlet).zadd(
            self.key("q", outlet), {self.codec.encode(request): -request.priority}).execute()
        return True

    def send_unsent(self) -> None:
        while self.unsent and self.redis(self.push, self.unsent[0]) is not None:
            self.unsent.pop(0)

    def next_request(self) -> Request | None:
        if self.local:
            request = self.local.popleft()
        elif self.ready or self.fill():
            request = self.ready.popleft()
        else:
            return None
        self.stats.inc_value("scheduler/dequeued")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local or self.ready) or self.fill()

    # Taking work ------------------------------------------------------------------

    def fill(self) -> bool:
        """Claim requests of the outlets this worker holds, taking more outlets up to
        its share; polled at most every half second when there is nothing."""
        now = time.monotonic()
        if now < self.next_poll:
            return False
        self.send_unsent()
        if self.redis(self.claim_requests) is None or not self.ready:
            self.next_poll = now + 0.5
        return bool(self.ready)

    def claim_requests(self) -> None:
        if time.monotonic() >= self.next_take:
            self.next_take = time.monotonic() + 1.0
            self.take_outlets()
        per_outlet: list[list[Request]] = []
        for outlet in sorted(self.owned - self.draining):
            claimed = self._pop(keys=[self.key("lease", outlet), self.key("q", outlet),
                                      self.key("inflight", outlet)],
                                args=[self.cycle.worker, self.take_batch])
            if claimed is None:  # the lease expired and another worker took the outlet
                self.lost_lease(outlet)
                continue
            requests = []
            for data in claimed:
                request = self.codec.decode(data)
                token = hashlib.sha1(data).hexdigest()  # POP's redis.sha1hex
                request.meta[CLAIM] = token
                self.claims[token] = outlet
                requests.append(request)
            per_outlet.append(requests)
            self.stats.inc_value("fleet/claimed", len(claimed))
            self.stats.inc_value("scheduler/enqueued", len(claimed))
        # Outlets taken in turn: the engine hands the downloader its first requests, and
        # a run of one outlet's would wait in that outlet's slot while others sit idle.
        self.ready.extend(request for turn in itertools.zip_longest(*per_outlet)
                          for request in turn if request is not None)

    def take_outlets(self) -> None:
        """Hold about this worker's share of the outlets that have work: take free ones
        up to it, and past it give one back (drained first: no new claims on it, given
        back once its claims are settled), so that a worker started late gets work."""
        active, free = self._work(keys=[self.cycle.name("outlets")], args=[self.cycle.key])
        share = math.ceil(int(active) / self.cycle.live_workers())
        if 0 < share < len(self.owned) and not self.draining:
            outlet = max(self.owned)
            self.draining.add(outlet)
            logger.info("giving outlet %s back to the fleet: this worker holds %d outlets, "
                        "its share is %d", outlet, len(self.owned), share)
        for outlet in (name.decode() for name in free):
            if len(self.owned) >= share:
                break
            taken = self._take(keys=[self.key("lease", outlet), self.key("inflight", outlet),
                                     self.key("q", outlet)],
                               args=[self.cycle.worker, int(self.lease_seconds * 1000),
                                     REQUEUED_SCORE])
            if taken < 0:
                continue
            self.owned.add(outlet)
            self.stats.inc_value("fleet/outlets-taken")
            if taken:
                logger.warning("took over outlet %s from a worker that stopped answering: "
                               "%d requests it had claimed are queued again", outlet, taken)
                self.stats.inc_value("fleet/requests-taken-over", taken)

    def lost_lease(self, outlet: str) -> None:
        logger.warning("lost the lease of outlet %s (this worker did not renew it within "
                       "FLEET_LEASE_SECONDS); another worker goes on with it", outlet)
        self.stats.inc_value("fleet/leases-lost")
        self.owned.discard(outlet)
        self.draining.discard(outlet)

    # Settling claims --------------------------------------------------------------

    def page_scraped(self, item: Any) -> None:
        """A page of a claimed request waits in the store step."""
        token = getattr(item, "claim", None)
        if token in self.claims:
            self.waiting[token] = self.waiting.get(token, 0) + 1

    def stored(self, pages: list[Any]) -> None:
        for page in pages:
            if page.claim in self.claims:  # (counted before or after item_scraped)
                self.waiting[page.claim] = self.waiting.get(page.claim, 0) - 1
        self.settle()

    def settle(self) -> None:
        """Drop the claims of requests that are done and whose pages are stored; give
        back the outlets that have no work left."""
        busy = {request.meta.get(CLAIM) for request in
                (*self.ready, *self.local, *in_progress(self.crawler))}
        done = [token for token in self.claims
                if token not in busy and self.waiting.get(token, 0) <= 0]
        if done and self.redis(self.forget, done) is None:
            return
        idle = self.owned - {self.claims[token] for token in busy if token in self.claims}
        claimed = set(self.claims.values())
        for outlet in sorted(idle):
            # A drained outlet goes back with its queue, once nothing of it is claimed.
            drained = outlet in self.draining and outlet not in claimed
            released = self.redis(self._release, keys=[
                self.key("lease", outlet), self.key("q", outlet), self.key("inflight", outlet)],
                args=[self.cycle.worker, int(drained)])
            if released:
                self.owned.discard(outlet)
                self.draining.discard(outlet)
                self.stats.inc_value("fleet/outlets-given-back")

    def tick(self) -> None:
        """Queue what waited for Redis, settle claims, and find work for an engine that
        ran out of it."""
        if self.unsent:
            self.send_unsent()
        self.settle()
        if not (self.ready or self.local) and self.fill():
            wake(self.crawler)

    def forget(self, tokens: list[str]) -> None:
        pipe = self.server.pipeline()
        for token in tokens:
            pipe.hdel(self.key("inflight", self.claims[token]), token)
        pipe.execute()
        for token in tokens:
            del self.claims[token]
            self.waiting.pop(token, None)

    def give_back(self) -> None:
        """On close: claims not settled go back to their queues, leases are released."""
        by_outlet: dict[str, list[str]] = {}
        for token, outlet in self.claims.items():
            by_outlet.setdefault(outlet, []).append(token)
        for outlet, tokens in by_outlet.items():
            back = self._give_back(keys=[self.key("q", outlet), self.key("inflight", outlet)],
                                   args=[REQUEUED_SCORE, *tokens])
            self.stats.inc_value("fleet/given-back", back)
        for outlet in self.owned:
            self._release(keys=[self.key("lease", outlet), self.key("q", outlet),
                                self.key("inflight", outlet)], args=[self.cycle.worker, 1])
        self.claims.clear()
        self.owned.clear()
        self.draining.clear()

    # The cycle --------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Say this worker is alive and keep its leases."""
        self.redis(self.renew)

    def renew(self) -> None:
        if self.cycle.lost():
            self.rejoin()
            return
        self.cycle.beat()
        for outlet in sorted(self.owned):
            if self._take(keys=[self.key("lease", outlet), self.key("inflight", outlet),
                                self.key("q", outlet)],
                          args=[self.cycle.worker, int(self.lease_seconds * 1000),
                                REQUEUED_SCORE]) == -1:
                self.lost_lease(outlet)

    def idle(self, spider: Spider) -> None:
        """Stay while the cycle has work anywhere; leave once it is done."""
        self.settle()
        if self.down_since is not None:
            if time.monotonic() - self.down_since > self.outage_max:
                logger.error("Redis has not answered for %.0f s (FLEET_REDIS_OUTAGE_MAX): "
                             "this worker stops; what it fetched is stored. Start Redis and "
                             "run the crawl again", time.monotonic() - self.down_since)
                raise CloseSpider("redis-outage")
            self.redis(self.server.ping)
            raise DontCloseSpider
        if not self.redis(self.cycle_over):  # None: Redis went down meanwhile
            raise DontCloseSpider

    def cycle_over(self) -> bool:
        self.send_unsent()
        if self.unsent:  # Redis went down again: these are not lost, nor the cycle over
            return False
        if self.cycle.lost():
            self.rejoin()
            return False
        if self.seed_if_needed():
            return False
        if self.cycle.done():
            return True
        active, _ = self._work(keys=[self.cycle.name("outlets")], args=[self.cycle.key])
        if active or not self.cycle.server.exists(self.cycle.name("seeded")):
            return False
        self.cycle.finish(self.cycle.name("dupefilter"), self.cycle.name("outlets"))
        logger.info("cycle %d is done: nothing is queued or claimed by any worker",
                    self.cycle.number)
        return True

    def rejoin(self) -> None:
        """Redis lost the cycle (restarted empty): join a new one, seeded again."""
        old = self.cycle.number
        self.claims.clear()
        self.waiting.clear()
        self.owned.clear()
        self.draining.clear()
        self.cycle.join()
        self.df.key = self.cycle.name("dupefilter")
        self.spider.cycle_lost()
        self.stats.inc_value("fleet/cycles-lost")
        self.stats.set_value("fleet/cycle", self.cycle.number)
        logger.warning("Redis no longer knows cycle %d (restarted?): joined cycle %d; it is "
                       "seeded again, and pages the archive holds are not fetched again",
                       old, self.cycle.number)
        self.seed_if_needed()

    def seed_if_needed(self) -> bool:
        """Seed the cycle if nobody did and nobody is (its seeder died, or Redis lost it)."""
        if not self.cycle.needs_seeding() or not self.cycle.claim_seeding():
            return False
        self.tasks.append(asyncio.ensure_future(self.seed()))
        return True

    async def seed(self) -> None:
        async for request in self.spider.seeds():
            self.crawler.engine.crawl(request)
        await asyncio.to_thread(self.redis, self.cycle.seeded)
