"""Many workers, one crawl: coordination through Redis, on scrapy-redis.

Setting ``REDIS_URL`` (environment or setting) makes every worker started with the same
arguments (``scrapy crawl news -a sources=...`` on any number of machines) a member of
one crawl *cycle* (:mod:`crawler.fleet.cycle`): the first worker seeds it, later ones
join it, and each exits once nothing of the cycle is queued or claimed anywhere.

- :mod:`crawler.fleet.connection`: the Redis URL, the client, the worker's name.
- :mod:`crawler.fleet.cycle`: joining, seeding and ending a cycle; the live workers.
- :mod:`crawler.fleet.scheduler`: the live crawl's shared frontier, one queue per
  outlet, each outlet leased to one worker at a time (fleet-wide politeness), requests
  claimed until their pages are stored (a killed worker's are taken over).
- :mod:`crawler.fleet.units`: replay's files and re-extraction's capture ranges, shared
  the same way.
"""
