"""Scrapy settings: how the components are composed, and their defaults.

Every value here can be overridden the ordinary Scrapy ways (``-s NAME=VALUE`` on the
command line, a spider's ``custom_settings``).
"""

from scrapy.settings import default_settings

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# The archive database: DATABASE_URL in the environment wins over this setting.
DATABASE_URL = "sqlite:///archive.sqlite"

# What happens to a page: extract → deduplicate → store.
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    # The live crawl's pages: feed/sitemap metadata fills gaps, non-articles are set aside.
    "pipelines.listing_metadata.ListingMetadataPipeline": 150,
    "pipelines.article_filter.ArticleFilterPipeline": 170,
    "pipelines.dedupe.DedupePipeline": 200,
    "pipelines.store.StorePipeline": 300,
}
EXTENSIONS = {
    "crawler.extensions.PromptClose": 800,
    "crawler.extensions.RunSummary": 900,
    "crawler.progress.Progress": 950,  # done / total, rate, ETA, failures (crawler/progress.py)
}
# Progress in a log file (stderr not a terminal): a line this often, in seconds; 0: none.
# It replaces Scrapy's LogStats line ("Crawled 0 pages"), left out of EXTENSIONS_BASE.
PROGRESS_SECONDS = 60.0
# Scrapy 2.19's remote control (an HTTP endpoint that runs code in the crawl) is on by
# default; an unattended archive crawl has no use for it. Left out of the base list, not
# set to None: Scrapy imports every listed component, and it costs 7 MB (aiohttp).
EXTENSIONS_BASE = {
    name: order for name, order in default_settings.EXTENSIONS_BASE.items()
    if name not in ("scrapy.extensions.remote_control.RemoteControl",
                    "scrapy.extensions.logstats.LogStats")
}
EXTRACT_WORKERS = -1  # worker processes for extraction: -1 = one per core, 0 = in-process
EXTRACT_PAGE_CPU_SECONDS = 60  # a page over this in a worker fails (extractor-died); 0 = no limit
STORE_BATCH_SIZE = 200  # pages per database transaction
STORE_FLUSH_SECONDS = 2.0  # longest a page waits in the buffer
# Stories (archive/stories.py): a new article is linked only to copies first archived
# at most this many days before it, and older articles' band rows are pruned (their
# story ids stay). Wire copies arrive within days; 0 keeps every band (no window).
STORY_WINDOW_DAYS = 30
# Each outlet's boilerplate (archive/outlet_boilerplate.py): a short block counted on
# this many different stories of one outlet is learned and removed from its later pages
# (0: learn nothing, remove nothing); unlearned blocks counted in memory per outlet; a
# learned block no page showed for the window is forgotten (0: kept for ever).
OUTLET_BOILERPLATE_MIN_PAGES = 3
OUTLET_BOILERPLATE_TRACKED = 5000
OUTLET_BOILERPLATE_WINDOW_DAYS = 30.0
REEXTRACT_BATCH_ROWS = 500  # captures scrapy reextract reads from the database at a time
# Database outages (archive/outage.py, archive/spool.py): while the database does not
# answer, writes and the crawl's reads are retried with backoff, and fetched pages wait in
# memory (a batch), then in a spool file; past DATABASE_OUTAGE_MAX the run stops (exit 2)
# and the next run of any spider or command stores the spool first.
DATABASE_OUTAGE_MAX = 300  # seconds of outage before the run gives up
DATABASE_RETRY_DELAY = 1.0  # seconds before the first retry, doubled for each next one
DATABASE_RETRY_MAX_DELAY = 30.0
SPOOL_DIR = None  # None = "<archive file>.spool" beside the SQLite archive, else ./spool
SPOOL_MAX_PAGES = 5000  # more pages waiting in the spool: fetching pauses
# Dead runs: a run says it is alive this often; a later run marks "interrupted" a running
# run whose process is gone from this host, or whose last word is older than the bound.
RUN_HEARTBEAT_SECONDS = 60.0
RUN_STALE_SECONDS = 600.0
# Spider output handled at once per response. A page response yields one item, and
# Scrapy starts this many asyncio tasks for every response whatever it yields: at the
# default 100, that task churn was a tenth of the live crawl process's CPU.
CONCURRENT_ITEMS = 8
REPLAY_MAX_PENDING = -1  # replayed pages in the pipelines at once; -1: 8 per extraction worker

# Politeness and limits (the live crawl; replay reads files within the same size limit).
ROBOTSTXT_OBEY = True
USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive/newsarchive; news archiving)"
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True  # adapts the delay per site to its response times
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 0.25  # AutoThrottle never goes below this
CONCURRENT_REQUESTS = 32  # many outlets at once ...
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # ... few requests to each
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry, doubled for each next one
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0  # a longer Retry-After is not waited for: the page fails
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100) and every other: an off-site or private-address request,
    # redirected ones included, is refused before anything is sent (crawler/site_policy.py).
    "crawler.middlewares.SitePolicyMiddleware": 40,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.HeadMetaRefreshMiddleware": 580,  # Scrapy's, on the page's head
    # Scrapy's, with redirect loops and overlong chains recorded as failures.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.LoopCheckRedirectMiddleware": 600,
    # Above HttpCompression (590) and Redirect (600): sees every response as served.
    "crawler.warc.WarcMiddleware": 650,
}
SPIDER_MIDDLEWARES = {
    "crawler.warc.WarcPageMiddleware": 100,  # page.warc, and the page's metadata record
}

# Raw capture (crawler/warc.py): every response in WARC 1.1 files.
WARC_ENABLED = True
WARC_DIR = None  # None = a "warc" folder beside the SQLite archive, else ./warc
WARC_MAX_SIZE = 1_000_000_000  # bytes; a file is closed (and indexed) past this size

# The live crawl (spider "news").
NEWS_DEPTH = 2  # link hops from the homepage, for outlets with no feeds or sitemaps
NEWS_MIN_ARTICLE_WORDS = 60  # fewer words: not an article
NEWS_LOCK_DIR = None  # where run locks go; None = beside the sources file

# Many workers, one crawl (crawler/fleet): REDIS_URL in the environment wins over this
# setting. With it, every worker started with the same arguments, on any machine, shares
# one crawl cycle through Redis (README "Running on many machines"); None: work alone.
REDIS_URL = None
FLEET_PREFIX = "newsarchive"  # the Redis keys' prefix: fleets sharing one Redis differ here
FLEET_LEASE_SECONDS = 30.0  # a silent worker's outlets and claims are taken over after this
FLEET_REDIS_OUTAGE_MAX = 300.0  # seconds without Redis before a worker stops (exit 2)
FLEET_POLL_SECONDS = 1.0  # replay/reextract: how often a worker with nothing to do looks again
REPLAY_UNIT_FILES = 100  # a fleet's replay shares files this many at a time (a WARC file alone)
REEXTRACT_UNIT_ARTICLES = 1000  # a fleet's reextract shares article ids this many at a time

# scrapy report: an outlet with no new article for this many hours is "stale".
REPORT_STALE_HOURS = 48

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
