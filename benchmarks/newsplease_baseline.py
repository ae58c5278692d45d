"""news-please's extractor over the benchmark pages, in one process: the nearest peer.

news-please is not a dependency of this project: it pins its own Scrapy, lxml and
newspaper4k stack. Install it in a virtual environment of its own, for the benchmark only:

    python3 -m venv /tmp/np-venv && /tmp/np-venv/bin/pip install news-please
    /tmp/np-venv/bin/python benchmarks/newsplease_baseline.py /tmp/newsarchive-bench/pages-3000

``benchmarks/throughput.py`` runs this itself (its ``--newsplease-python`` option) when
that interpreter exists. ``NewsPlease.from_html`` fetches each page's top image over the
network unless told ``fetch_images=False`` (found by profiling: without it every page
waited on DNS here); this script passes it, and refuses every socket connection besides,
so the run stays offline. It prints one JSON line: pages read, pages that gave an article
text, seconds.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import replay_pages


def refuse_connection(_socket: socket.socket, address: object) -> None:
    raise OSError(f"the benchmark is offline: refused a connection to {address}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a replay folder written by throughput.py")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # newspaper4k warns that nltk is missing: not needed here
    socket.socket.connect = refuse_connection  # type: ignore[method-assign]
    from newsplease import NewsPlease

    started = time.monotonic()
    pages = with_text = 0
    for url, html in replay_pages(args.folder):
        article = NewsPlease.from_html(html.decode("utf-8", "replace"), url=url, fetch_images=False)
        pages += 1
        with_text += bool(article.maintext and article.maintext.strip())
    seconds = time.monotonic() - started
    print(json.dumps({"pages": pages, "with_text": with_text, "seconds": seconds}))


if __name__ == "__main__":
    main()
