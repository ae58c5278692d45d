"""A CDXJ index for each closed WARC file, so pywb and other replay tools can use it.

webrecorder's ``cdxj-indexer`` writes the lines pywb reads (SURT key, timestamp, JSON
with URL, MIME type, status, digest, length, offset, file name), sorted as pywb's binary
search needs. Only ``response`` and ``revisit`` records are indexed: the crawl's
``metadata`` records describe pages for our own replay and must never be served as a
capture of the page's URL.
"""

from __future__ import annotations

from pathlib import Path

INDEXED_RECORDS = "response,revisit"


def cdxj_path(warc: Path) -> Path:
    """``name.warc.gz`` → ``name.cdxj``, beside it."""
    name = warc.name
    for suffix in (".gz", ".warc"):
        name = name.removesuffix(suffix)
    return warc.with_name(name + ".cdxj")


def write_cdxj(warc: Path) -> Path:
    """Index one WARC file; the index names the file relative to its folder."""
    # Imported when a file is indexed, not by every crawl: cdxj-indexer brings requests,
    # tldextract, pyamf and pkg_resources (0.2 s and ~8 MB in the crawl process).
    from cdxj_indexer import CDXJIndexer

    target = cdxj_path(warc)
    partial = target.with_name(target.name + ".part")
    CDXJIndexer(
        output=str(partial), inputs=[str(warc)], records=INDEXED_RECORDS, sort=True
    ).process_all()
    partial.replace(target)  # a crash never leaves a half index under the real name
    return target
