"""Scrapy settings: how the components are composed, and their defaults.

Every value here can be overridden the ordinary Scrapy ways (``-s NAME=VALUE``, a
spider's ``custom_settings``, ``SCRAPY_NAME`` environment variables).
"""

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# The archive database: DATABASE_URL in the environment wins over this setting.
DATABASE_URL = "sqlite:///archive.sqlite"

# What happens to a page: extract → deduplicate → store.
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.dedupe.DedupePipeline": 200,
    "pipelines.store.StorePipeline": 300,
}
EXTENSIONS = {
    "crawler.extensions.RunSummary": 900,
}
EXTRACT_WORKERS = -1  # worker processes for extraction: -1 = one per core, 0 = in-process
STORE_BATCH_SIZE = 200  # pages per database transaction
STORE_FLUSH_SECONDS = 2.0  # longest a page waits in the buffer
REPLAY_MAX_PENDING = 64  # replayed pages in the pipelines at once

# Politeness and limits (the live crawl; replay reads files within the same size limit).
ROBOTSTXT_OBEY = True
USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive/newsarchive; news archiving)"
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
