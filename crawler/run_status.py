"""What a finished run's status means: does a person have to act?

A pure function of the run's final stats, so the exit status of ``scrapy crawl`` and
``crawl_runs.status`` say the same thing:

- ``interrupted`` (exit 2): stopped by SIGTERM or SIGINT (Ctrl-C) before its end; what
  it had fetched is stored. (A later run also marks as ``interrupted`` a run whose
  process died without closing its row.)
- ``aborted`` (exit 2): the run itself failed (bad arguments or sources file, lock
  held, database unusable, WARC files unwritable: the finish reason is not
  ``finished``).
- ``failed`` (exit 1): a person must act. For the live crawl (``news``), an outlet is
  broken: its homepage failed, or every feed and sitemap it has failed, or most of its
  page fetches failed (more than half, of at least :data:`MIN_FETCHES`). Dead links,
  a timeout here and there, are the web being the web: they are stored and counted,
  and the run is ``finished``. For ``replay`` (and any other spider) any failed page:
  a person handed over those files.
- ``finished`` (exit 0): otherwise.

The live crawl keeps cheap per-outlet counters for this, ``news/outlet/<name>/<counter>``
(:data:`COUNTERS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OUTLET_PREFIX = "news/outlet/"
# homepage-failed holds the homepage's failure reason code, the others are counts.
COUNTERS = ("homepage-failed", "listings", "listings-failed", "listings-unchanged", "fetched",
            "failed")
MIN_FETCHES = 5  # fewer page fetches say too little for a failure ratio to mean anything


def outlet_key(outlet: str, counter: str) -> str:
    return f"{OUTLET_PREFIX}{outlet}/{counter}"


@dataclass(frozen=True)
class RunStatus:
    status: str  # crawl_runs.status: finished | failed | aborted | interrupted
    exit_code: int  # 0 | 1 | 2
    problems: tuple[str, ...] = ()  # one line per thing a person must act on


def outlet_counters(stats: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{outlet: {counter: value}} from the stats (an outlet name may hold "/")."""
    outlets: dict[str, dict[str, Any]] = {}
    for key, value in stats.items():
        if key.startswith(OUTLET_PREFIX):
            outlet, counter = key[len(OUTLET_PREFIX):].rsplit("/", 1)
            outlets.setdefault(outlet, {})[counter] = value
    return outlets


def broken_outlets(stats: Mapping[str, Any]) -> dict[str, str]:
    """{outlet: why it is broken and what to do}, for the outlets a person must look at."""
    broken = {}
    for outlet, counts in outlet_counters(stats).items():
        listings, fetched = counts.get("listings", 0), counts.get("fetched", 0)
        failed = counts.get("failed", 0)
        if reason := counts.get("homepage-failed"):
            why = (f"its homepage failed ({reason}); check the homepage URL in the sources "
                   "file, and whether the site moved or blocks the crawler")
        elif listings and counts.get("listings-failed", 0) == listings:
            why = (f"all {listings} of its feeds and sitemaps failed; check their URLs in the "
                   "sources file (or the site's robots.txt Sitemap: lines)")
        elif fetched >= MIN_FETCHES and failed * 2 > fetched:
            why = (f"{failed} of its {fetched} page fetches failed; the site may be down or "
                   "blocking the crawler")
        else:
            continue
        broken[outlet] = f"{outlet}: {why}"
    return broken


def run_status(spider: str, finish_reason: str | None, stats: Mapping[str, Any]) -> RunStatus:
    """The run's status and exit code, from Scrapy's finish reason and final stats."""
    if finish_reason == "shutdown":  # Scrapy's reason after SIGTERM or SIGINT
        return RunStatus("interrupted", 2, ("the run was stopped by a signal before its end",))
    if finish_reason != "finished" or stats.get("archive/status") == "aborted":
        return RunStatus("aborted", 2, (f"the run stopped: {finish_reason}",))
    if spider == "news":
        problems = tuple(broken_outlets(stats).values())
    elif failed := stats.get("archive/failed"):
        problems = (f"{failed} pages failed; each is in captures with its reason",)
    else:
        problems = ()
    return RunStatus("failed", 1, problems) if problems else RunStatus("finished", 0)
