"""What happens to a page: the item-pipeline steps, in order, at the top level (extract,
listing_metadata, article_filter, dedupe, store); ``extraction`` reads a page's article
and metadata, ``keys`` what recognises a copy, ``workers`` the extraction processes."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child_environment() -> dict[str, str]:
    """This environment with the repository importable, for a ``python -m`` child (schema
    upgrade: ``archive.database``; extraction workers: ``pipelines.workers.worker``)
    wherever the crawl was started from."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
