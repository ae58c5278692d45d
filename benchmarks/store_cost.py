"""What storing costs the crawl process, per page, without the crawl around it.

    python benchmarks/store_cost.py --pages 1500 --repeat 3 [--database-url URL]

The crawl process's own CPU is what the extraction workers cannot have: on two cores,
every millisecond it spends on a page is taken from extraction. Storing
(``archive.writer.Archive.write``: articles, story linking, full-text index, captures)
is most of it. This script extracts the benchmark pages once (cached under
``--workdir``), then writes them ``STORE_BATCH_SIZE`` at a time into a fresh archive, as
the store step does, and reports the CPU time of the writes alone, per page (median of
the repeats): one number to compare two versions of the store code with, free of the
noise of a whole crawl.
"""

from __future__ import annotations

import argparse
import copy
import os
import pickle
import statistics
import sys
import time
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.database import open_database
from archive.writer import Archive
from benchmarks.corpus import FETCHED_AT, replay_pages, write_replay_folder
from crawler.items import Page
from crawler.settings import STORE_BATCH_SIZE
from tests.conftest import reset_postgres


def extracted(url_html: tuple[str, bytes]) -> Page:
    """The page as the store step receives it: extracted, with its dedupe keys."""
    from pipelines.dedupe import DedupePipeline
    from pipelines.extract import extract_to_dict

    url, html = url_html
    page = Page(url=url, fetched_at=datetime.fromisoformat(FETCHED_AT).astimezone(UTC),
                body=html, source=(url.split("/")[2]).removeprefix("www."))
    result = extract_to_dict(html, url, {})
    if "error" in result:
        page.fail(result["error"], result["detail"])
    else:
        page.article = result["article"]
    page.drop_body()
    return DedupePipeline().process_item(page)


def pages_to_store(workdir: Path, count: int) -> list[Page]:
    cache = workdir / f"extracted-{count}.pickle"
    if not cache.exists():
        folder = write_replay_folder(workdir, count)
        with Pool(os.cpu_count()) as pool:
            pages = pool.map(extracted, replay_pages(folder), chunksize=20)
        cache.write_bytes(pickle.dumps(pages, pickle.HIGHEST_PROTOCOL))
    return pickle.loads(cache.read_bytes())


def store_once(pages: list[Page], url: str) -> float:
    """CPU seconds of writing ``pages`` into a fresh archive at ``url``."""
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        for leftover in database.parent.glob(f"{database.name}*"):
            leftover.unlink()
    else:
        reset_postgres(url)
    archive = Archive(open_database(url))
    started = time.process_time()
    for start in range(0, len(pages), STORE_BATCH_SIZE):
        archive.write(pages[start:start + STORE_BATCH_SIZE], None)
    spent = time.process_time() - started
    archive.engine.dispose()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsarchive-bench"))
    parser.add_argument("--database-url", help="default: a SQLite file in --workdir")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{args.workdir / 'store-cost.sqlite'}"
    pages = pages_to_store(args.workdir, args.pages)
    runs = [store_once(copy.deepcopy(pages), url) / len(pages) * 1000 for _ in range(args.repeat)]
    print(f"store: {statistics.median(runs):.2f} ms CPU/page, median of "
          f"{' '.join(f'{run:.2f}' for run in runs)} ({len(pages)} pages into {url})")


if __name__ == "__main__":
    main()
