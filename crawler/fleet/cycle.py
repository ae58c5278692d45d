"""A crawl cycle shared by the workers of a fleet.

A *crawl* is what the workers were started with (the spider and, for ``news``, the
outlets of its sources file), named in Redis by a hash of it, so the same sources file on
any machine is the same crawl. A *cycle* is one pass over it: the first worker to arrive
when no cycle is running starts one and seeds it (``claim_seeding``); workers arriving
while it runs join it; it ends when its work is done (``finish``), and the next worker to
arrive starts the next cycle. All of a cycle's keys live under ``<crawl>:cycle:<n>``,
which is how the duplicate filter is scoped to a cycle.

Leases, not promises: the seeder holds ``seeder`` for ``FLEET_LEASE_SECONDS`` and
renews it with its heartbeat, so a seeder killed mid-way leaves the seeding to another
worker; workers beat into ``workers`` (a sorted set of last beats), which tells how many
are alive. A Redis that restarts (it keeps nothing on disk here) loses the cycle:
``lost`` says so, and the workers join a new one.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import redis
from scrapy.crawler import Crawler

from crawler.fleet.connection import connect, fleet_url, worker_name

# Joining is atomic: the running cycle, or a new one if none runs (or the last is done),
# with the token it was born with (ARGV[1] if this worker started it): a Redis restarted
# empty numbers cycles from 1 again, and the token tells the new cycle 1 from the old.
JOIN = """
local current = redis.call('GET', KEYS[1])
if not current or redis.call('EXISTS', KEYS[1] .. ':' .. current .. ':done') == 1 then
  current = redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[1] .. ':' .. current .. ':born', ARGV[1])
end
return {tonumber(current), redis.call('GET', KEYS[1] .. ':' .. current .. ':born')}
"""
FINISHED_TTL = 7 * 24 * 3600  # seconds a finished cycle's keys are kept, for a look


def crawl_key(prefix: str, spider: str, identity: str) -> str:
    return f"{prefix}:{spider}:{hashlib.sha1(identity.encode()).hexdigest()[:16]}"


class Cycle:
    def __init__(self, server: redis.Redis, crawl: str, worker: str,
                 lease_seconds: float) -> None:
        self.server = server
        self.crawl = crawl
        self.worker = worker
        self.lease_seconds = lease_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self._join = server.register_script(JOIN)
        self.number = 0
        self.born: bytes | None = None
        self.key = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler, identity: str) -> Cycle | None:
        """The cycle this worker joins, or None without ``REDIS_URL`` (work alone).
        Raises :class:`~crawler.fleet.connection.FleetError` if Redis does not answer."""
        settings = crawler.settings
        url = fleet_url(settings)
        if url is None:
            return None
        assert crawler.spidercls is not None
        crawl = crawl_key(settings.get("FLEET_PREFIX", "newsarchive"), crawler.spidercls.name,
                          identity)
        cycle = cls(connect(url), crawl, worker_name(),
                    settings.getfloat("FLEET_LEASE_SECONDS", 30.0))
        cycle.join()
        return cycle

    def join(self) -> int:
        number, self.born = self._join(keys=[f"{self.crawl}:cycle"],
                                       args=[secrets.token_hex(8)])
        self.number = int(number)
        self.key = f"{self.crawl}:cycle:{self.number}"
        self.beat()
        return self.number

    def name(self, part: str) -> str:
        """The Redis key of one part of this cycle."""
        return f"{self.key}:{part}"

    # Seeding -----------------------------------------------------------------------

    def claim_seeding(self) -> bool:
        """Whether this worker is to seed the cycle (nobody has, nobody is)."""
        if self.server.exists(self.name("seeded")):
            return False
        return bool(self.server.set(self.name("seeder"), self.worker, nx=True,
                                    px=self.lease_ms))

    def seeded(self) -> None:
        self.server.pipeline().set(self.name("seeded"), self.worker).delete(
            self.name("seeder")).execute()

    def needs_seeding(self) -> bool:
        """Nobody seeded the cycle and nobody is seeding it (the seeder died)."""
        return not self.server.exists(self.name("seeded"), self.name("seeder"))

    # Liveness ----------------------------------------------------------------------

    def beat(self) -> None:
        """Say this worker is alive; keep its seeding lease."""
        pipe = self.server.pipeline()
        pipe.zadd(self.name("workers"), {self.worker: time.time()})
        pipe.get(self.name("seeder"))
        _, seeder = pipe.execute()
        if seeder is not None and seeder.decode() == self.worker:
            self.server.pexpire(self.name("seeder"), self.lease_ms)

    def live_workers(self) -> int:
        """Workers that beat within a lease (this one at least)."""
        since = time.time() - self.lease_seconds
        return max(1, int(self.server.zcount(self.name("workers"), since, "+inf")))

    def leave(self) -> None:
        self.server.zrem(self.name("workers"), self.worker)

    def lost(self) -> bool:
        """Redis no longer knows this cycle (it restarted empty, perhaps already holding a
        new cycle of the same number)."""
        current, born = self.server.mget(f"{self.crawl}:cycle", self.name("born"))
        return current is None or int(current) != self.number or born != self.born

    # End ---------------------------------------------------------------------------

    def done(self) -> bool:
        return bool(self.server.exists(self.name("done")))

    def finish(self, *keys: str) -> None:
        """Mark the cycle done; its keys (and ``keys``) expire in a week."""
        pipe = self.server.pipeline()
        pipe.set(self.name("done"), self.worker, ex=FINISHED_TTL)
        for key in (self.name("workers"), self.name("seeded"), self.name("born"), *keys):
            pipe.expire(key, FINISHED_TTL)
        pipe.execute()

