"""Check that extraction output stays byte-identical: dump or compare every result.

    .venv/bin/python benchmarks/extraction_identity.py --write /tmp/extraction-reference.json
    .venv/bin/python benchmarks/extraction_identity.py --compare /tmp/extraction-reference.json

Runs ``pipelines.extract.extract_to_dict(body, url, headers)`` (the article with its
dedupe keys and story signature, or the failure) on every page of the WCXB and Fundus
corpora (``html/*.html.gz``, URLs from their ground-truth JSON) and the seed pages in
``seeds/`` (text/plain, ``file://`` URLs as the replay gives them). ``--write`` saves
the results as JSON; ``--compare`` runs again and lists every page whose result differs.
``--time`` prints the CPU seconds per page of the extraction alone (for before/after
measurements; the dump is then optional).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.extract import extract_to_dict  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpus"
HTML_HEADERS = {"content-type": "text/html"}
TEXT_HEADERS = {"content-type": "text/plain; charset=utf-8"}


def corpus_pages(corpus: Path) -> Iterator[tuple[str, bytes, str, dict[str, str]]]:
    """(key, body, url, headers) of every ``html/*.html.gz`` page of a corpus; the URL
    from the ground-truth record naming the page (WCXB: same number; Fundus: ``html``)."""
    urls: dict[str, str] = {}
    for truth in sorted((corpus / "ground-truth").glob("*.json")):
        record = json.loads(truth.read_text(encoding="utf-8"))
        html = record.get("html") or f"html/{truth.stem}.html.gz"
        urls[Path(html).name] = record.get("url") or ""
    for path in sorted((corpus / "html").glob("*.html.gz")):
        body = gzip.decompress(path.read_bytes())
        yield f"{corpus.name}/{path.name}", body, urls.get(path.name, ""), HTML_HEADERS


def seed_pages(folder: Path = ROOT / "seeds") -> Iterator[tuple[str, bytes, str, dict[str, str]]]:
    """(key, body, url, headers) of every seed page (plain text, file:// URL)."""
    for path in sorted(folder.glob("*.txt")):
        yield f"seeds/{path.name}", path.read_bytes(), path.resolve().as_uri(), TEXT_HEADERS


def all_pages() -> list[tuple[str, bytes, str, dict[str, str]]]:
    """Every page, read into memory before any timing starts."""
    return [
        *corpus_pages(CORPORA / "wcxb-articles"),
        *corpus_pages(CORPORA / "fundus-news"),
        *seed_pages(),
    ]


def run(pages: list[tuple[str, bytes, str, dict[str, str]]]) -> tuple[dict[str, Any], float]:
    """Results by page key, and the process CPU seconds the extraction took."""
    results: dict[str, Any] = {}
    start = time.process_time()
    for key, body, url, headers in pages:
        results[key] = extract_to_dict(body, url, dict(headers))
    return results, time.process_time() - start


def _plain(value: object) -> object:
    """JSON for what json cannot write: the shingles' ``array('I')``, with its type code."""
    if isinstance(value, array):
        return {"array": value.typecode, "values": value.tolist()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical(results: dict[str, Any]) -> dict[str, str]:
    """Each result as canonical JSON text, so any difference in any key shows."""
    return {
        key: json.dumps(value, sort_keys=True, ensure_ascii=False, default=_plain)
        for key, value in results.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=Path, help="save the results to this JSON file")
    action.add_argument("--compare", type=Path, help="compare the results with this JSON file")
    parser.add_argument("--time", action="store_true", help="print CPU seconds per page")
    args = parser.parse_args()

    pages = all_pages()
    # What a worker loads before its first page (models, stoplists, dateparser's data),
    # untimed, so that lazy loading is not counted in the CPU per page.
    import pipelines.workers.warmup  # noqa: F401
    results, cpu = run(pages)
    if args.time:
        print(f"cpu_s_per_page {cpu / len(pages):.5f} ({len(pages)} pages, {cpu:.2f} s)")
    dump = canonical(results)
    if args.write:
        args.write.write_text(json.dumps(dump, indent=0, sort_keys=True, ensure_ascii=False))
        print(f"wrote {len(dump)} results to {args.write}")
    if args.compare:
        reference = json.loads(args.compare.read_text())
        differing = sorted(k for k in reference.keys() | dump.keys()
                           if reference.get(k) != dump.get(k))
        for key in differing:
            print(f"DIFFERS {key}")
            print(f"  reference: {reference.get(key, '<missing>')[:400]}")
            print(f"  now:       {dump.get(key, '<missing>')[:400]}")
        same = len(reference.keys() | dump.keys()) - len(differing)
        print(f"{same} of {len(reference.keys() | dump.keys())} pages identical")
        return 1 if differing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
