"""Score HTML article extraction on a corpus with ground truth, trafilatura alone vs ours.

    python benchmarks/score_extraction.py [--corpus PATH] [--out docs/extraction-quality.md]

Two corpus layouts are read: WCXB (``ground-truth/<id>.json`` with a ``ground_truth``
object, ``html/<id>.html.gz``) and Fundus's news fixtures (``ground-truth/*.json`` with
``title``, ``authors``, ``publishing_date``, ``body_text`` and the page's ``html`` path).
Text is scored as the published article-extraction benchmarks do (word 4-grams, per-page
precision and recall averaged over pages, F1 from the two averages); metadata is scored
per field; every metric overall and per language group. Both extractors run on the same
pages in the same process, interleaved, so the speed figures share the machine's load.
See docs/extraction-quality.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import CORPUS as DEFAULT_CORPUS  # noqa: E402
from pipelines.extraction import ExtractionError, extract_page  # noqa: E402
from pipelines.extraction.language import detect_language  # noqa: E402
from pipelines.extraction.normalize import words  # noqa: E402

# Language groups, in report order; a language not listed is "Indic and other".
GROUPS = ("English", "Other Latin-script European", "Cyrillic", "CJK", "Indic and other")
_GROUP_OF = {
    "en": "English",
    **dict.fromkeys(
        ("de", "fr", "es", "it", "pt", "nl", "nb", "nn", "no", "sv", "da", "fi", "is", "pl",
         "cs", "sk", "sl", "hr", "bs", "hu", "ro", "tr", "et", "lv", "lt", "ca", "gl", "eu",
         "ga", "cy", "lb", "mt", "sq"),
        "Other Latin-script European"),
    **dict.fromkeys(("ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn"), "Cyrillic"),
    **dict.fromkeys(("zh", "ja", "ko"), "CJK"),
}
_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})\b", re.I)


@dataclass
class Page:
    """One corpus page and its ground truth (fields may be None)."""

    page_id: str
    url: str
    body: bytes
    title: str | None
    author: str | None
    date: str | None
    main_content: str | None
    with_snippets: list[str]
    without_snippets: list[str]
    group: str = "Indic and other"


@dataclass
class Output:
    """What an extractor returned for a page, in one shape for scoring."""

    text: str = ""
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    date: str | None = None  # ISO date or timestamp; its first 10 characters are the day


def language_group(body: bytes, truth_text: str | None) -> str:
    """The page's group from its declared ``<html lang>``, else from the language
    identified in its ground-truth text (not from our output, which is being scored)."""
    declared = _HTML_LANG.search(body[:20000])
    code = declared.group(1).decode().lower() if declared else detect_language(truth_text or "")
    return _GROUP_OF.get(code or "", "Indic and other")


def _wcxb_page(corpus: Path, path: Path, record: dict) -> Page:
    truth = record.get("ground_truth", {})
    body = gzip.decompress((corpus / "html" / f"{path.stem}.html.gz").read_bytes())
    return Page(
        page_id=path.stem,
        url=record.get("url") or "",
        body=body,
        title=truth.get("title"),
        author=truth.get("author"),
        date=truth.get("publish_date"),
        main_content=truth.get("main_content"),
        with_snippets=truth.get("with") or [],
        without_snippets=truth.get("without") or [],
        group=language_group(body, truth.get("main_content")),
    )


def _fundus_page(corpus: Path, path: Path, record: dict) -> Page:
    """A Fundus fixture: its parser's output is the ground truth (no snippets)."""
    body = gzip.decompress((corpus / record["html"]).read_bytes())
    return Page(
        page_id=path.stem,
        url=record.get("url") or "",
        body=body,
        title=record.get("title"),
        author=", ".join(record.get("authors") or []) or None,
        date=record.get("publishing_date"),
        main_content=record.get("body_text"),
        with_snippets=[],
        without_snippets=[],
        group=language_group(body, record.get("body_text")),
    )


def load_pages(corpus: Path, limit: int | None = None) -> list[Page]:
    """Corpus pages in file order (``limit`` takes the first pages), either layout."""
    pages = []
    for path in sorted((corpus / "ground-truth").glob("*.json"))[:limit]:
        record = json.loads(path.read_text(encoding="utf-8"))
        read = _fundus_page if "body_text" in record else _wcxb_page
        pages.append(read(corpus, path, record))
    return pages


# --------------------------------------------------------------------------- extractors


def run_trafilatura(page: Page) -> Output:
    """trafilatura alone, defaults, on the raw bytes (it decodes them itself)."""
    doc = trafilatura.bare_extraction(page.body, url=page.url or None, with_metadata=True)
    if doc is None:
        return Output()
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return Output(doc.text or "", doc.title, authors, doc.date)


def run_ours(page: Page) -> Output:
    """The pipeline's entry point, as the crawler calls it."""
    try:
        result = extract_page(page.body, page.url, {"content-type": "text/html"})
    except ExtractionError:
        return Output()
    return Output(result.text, result.title, result.authors, result.published_at)


EXTRACTORS: dict[str, Callable[[Page], Output]] = {
    "trafilatura alone": run_trafilatura,
    "ours (extract_page)": run_ours,
}


# --------------------------------------------------------------------------- metrics


def shingles(text: str) -> Counter:
    """Multiset of word 4-grams."""
    w = words(text)
    return Counter(tuple(w[i:i + 4]) for i in range(len(w) - 3))


def text_precision_recall(extracted: str, truth: str) -> tuple[float, float]:
    """Per-page 4-gram precision and recall (multiset overlap); empty output scores 0."""
    ours, gold = shingles(extracted), shingles(truth)
    overlap = sum((ours & gold).values())
    precision = overlap / sum(ours.values()) if ours else 0.0
    recall = overlap / sum(gold.values()) if gold else (1.0 if not ours else 0.0)
    return precision, recall


def headline_exact(ours: str | None, truth: str) -> bool:
    """Same string after white-space and case normalisation."""
    return " ".join((ours or "").split()).casefold() == " ".join(truth.split()).casefold()


def _word_f1(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    common = len(sa & sb)
    return 2 * common / (len(sa) + len(sb)) if common else 0.0


def _fold_quotes(text: str) -> str:
    return text.translate(str.maketrans("‘’“”", "''\"\""))


def _headline_f1(ours: str | None, truth: str) -> float:
    return _word_f1(words(_fold_quotes(ours or "")), words(_fold_quotes(truth)))


def headline_close(ours: str | None, truth: str) -> bool:
    """Word-set F1 >= 0.9 with typographic quotes folded: the same headline but for
    quote style, punctuation or a word's case ("We’ve" for "We've")."""
    return _headline_f1(ours, truth) >= 0.9


def headline_loose(ours: str | None, truth: str) -> bool:
    """Word-set F1 >= 0.8 with typographic quotes folded (punctuation, suffixes tolerated)."""
    return _headline_f1(ours, truth) >= 0.8


def author_correct(ours: list[str], truth: str) -> bool:
    """Word-set F1 >= 0.5 between all names returned and the ground-truth author field.

    Credentials ("MD, PhD") and a missing co-author cost some overlap but not all; a
    different person or an organisation in place of a person does not pass.
    """
    return _word_f1(words(" ".join(ours)), words(truth)) >= 0.5


def same_day(ours: str | None, truth: str) -> bool:
    return bool(ours) and ours[:10] == truth[:10]


def snippet_found(snippet: str, text_words: str) -> bool:
    key = " ".join(words(snippet))
    return bool(key) and f" {key} " in text_words


@dataclass
class Tally:
    """Running totals for one extractor."""

    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def add(self, page: Page, out: Output, seconds: float) -> None:
        c = self.counts
        c["pages"] += 1
        self.seconds.append(seconds)
        if page.main_content is not None:
            p, r = text_precision_recall(out.text, page.main_content)
            self.precision.append(p)
            self.recall.append(r)
        if page.title:
            c["titles"] += 1
            c["title_exact"] += headline_exact(out.title, page.title)
            c["title_close"] += headline_close(out.title, page.title)
            c["title_loose"] += headline_loose(out.title, page.title)
        if page.date:
            c["dates"] += 1
            c["date_ok"] += same_day(out.date, page.date)
            c["date_missing"] += not out.date
        else:
            c["date_spurious"] += bool(out.date)
        if page.author:
            c["authors"] += 1
            c["author_ok"] += author_correct(out.authors, page.author)
            c["author_missing"] += not out.authors
        else:
            c["author_spurious"] += bool(out.authors)
        text_words = f" {' '.join(words(out.text))} "
        c["with"] += len(page.with_snippets)
        c["with_ok"] += sum(snippet_found(s, text_words) for s in page.with_snippets)
        c["without"] += len(page.without_snippets)
        c["without_ok"] += sum(not snippet_found(s, text_words) for s in page.without_snippets)

    def summary(self) -> dict[str, float | None]:
        """Every metric; None where the pages give nothing to measure it on."""
        c = self.counts
        p = statistics.fmean(self.precision) if self.precision else None
        r = statistics.fmean(self.recall) if self.recall else None
        return {
            "precision": p,
            "recall": r,
            "f1": (2 * p * r / (p + r) if p + r else 0.0) if p is not None else None,
            "title_exact": _ratio(c["title_exact"], c["titles"]),
            "title_close": _ratio(c["title_close"], c["titles"]),
            "title_loose": _ratio(c["title_loose"], c["titles"]),
            "date_ok": _ratio(c["date_ok"], c["dates"]),
            "date_missing": c["date_missing"],
            "date_spurious": c["date_spurious"],
            "date_pages_without": c["pages"] - c["dates"],
            "author_ok": _ratio(c["author_ok"], c["authors"]),
            "author_missing": c["author_missing"],
            "author_spurious": c["author_spurious"],
            "author_pages_without": c["pages"] - c["authors"],
            "with_ok": _ratio(c["with_ok"], c["with"]),
            "without_ok": _ratio(c["without_ok"], c["without"]),
            "pages_per_s": 1 / statistics.median(self.seconds),
            "total_s": sum(self.seconds),
        }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


ALL = "All pages"
Results = dict[str, dict[str, float | None]]  # extractor name -> metric -> value


def score(pages: list[Page], warmup: int = 10) -> dict[str, tuple[int, Results]]:
    """Run every extractor on every page (interleaved) and summarise, for all pages and
    for each language group present: group -> (pages, results).

    The first ``warmup`` pages run once untimed: the first calls compile date-parsing
    regexes and load the language model, which is not the steady state of a crawl.
    """
    for page in pages[:warmup]:
        for run in EXTRACTORS.values():
            run(page)
    groups = [ALL, *(g for g in GROUPS if any(p.group == g for p in pages))]
    tallies = {group: {name: Tally() for name in EXTRACTORS} for group in groups}
    for page in pages:
        for name, run in EXTRACTORS.items():
            start = time.perf_counter()
            out = run(page)
            seconds = time.perf_counter() - start
            for group in (ALL, page.group):
                tallies[group][name].add(page, out, seconds)
    return {
        group: (next(iter(by_name.values())).counts["pages"],
                {name: tally.summary() for name, tally in by_name.items()})
        for group, by_name in tallies.items()
    }


# --------------------------------------------------------------------------- report

ROWS = (
    ("Text precision (4-gram, mean of pages)", "precision", "{:.3f}"),
    ("Text recall (4-gram, mean of pages)", "recall", "{:.3f}"),
    ("**Text F1**", "f1", "**{:.3f}**"),
    ("`with` snippets found", "with_ok", "{:.1%}"),
    ("`without` snippets absent", "without_ok", "{:.1%}"),
    ("**Headline exact**", "title_exact", "**{:.1%}**"),
    ("Headline close (word F1 ≥ 0.9, quotes folded)", "title_close", "{:.1%}"),
    ("Headline loose (word F1 ≥ 0.8)", "title_loose", "{:.1%}"),
    ("**Date: same day as ground truth**", "date_ok", "**{:.1%}**"),
    ("Date missing (of pages with a date)", "date_missing", "{:d}"),
    ("Date returned where ground truth has none", "date_spurious", "{:d}/{pages_without}"),
    ("**Author correct**", "author_ok", "**{:.1%}**"),
    ("Author missing (of pages with an author)", "author_missing", "{:d}"),
    ("Author returned where ground truth has none", "author_spurious", "{:d}/{pages_without}"),
    ("Pages/s (1 / median time per page)", "pages_per_s", "{:.1f}"),
    ("Total seconds", "total_s", "{:.1f}"),
)
SPEED_KEYS = ("pages_per_s", "total_s")  # overall only: a group's pages are too few


def markdown_table(results: Results, label: str, pages: int, speed: bool = True) -> str:
    """One column per extractor; a row no page can measure (snippets on a corpus
    without them) is left out, "–" marks a value that one group cannot measure."""
    names = list(results)
    lines = [f"| {label} ({pages} pages) | " + " | ".join(names) + " |",
             "|---" * (len(names) + 1) + "|"]
    for row_label, key, template in ROWS:
        if (not speed and key in SPEED_KEYS) or all(results[n][key] is None for n in names):
            continue
        cells = []
        for name in names:
            value = results[name][key]
            without_key = key.replace("spurious", "pages_without")
            cells.append("–" if value is None else template.format(
                int(value) if template.startswith("{:d}") else value,
                pages_without=int(results[name].get(without_key) or 0),
            ))
        lines.append(f"| {row_label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(scores: dict[str, tuple[int, Results]]) -> str:
    """The overall table (with speed), then one table per language group."""
    tables = []
    for group, (pages, results) in scores.items():
        tables.append(markdown_table(results, group, pages, speed=group == ALL))
    if len(tables) == 2:  # one group: its table would repeat the overall one
        return f"{tables[0]}\n\nEvery page is in one language group: {list(scores)[1]}."
    return "\n\n".join(tables)


def write_table(path: Path, table: str, corpus_name: str) -> None:
    """Replace this corpus's results block of the report (added at its end if missing)."""
    start, end = f"<!-- results:{corpus_name}:start -->", f"<!-- results:{corpus_name}:end -->"
    block = f"{start}\n{table}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1] if end in rest else ""
        path.write_text(head + block + tail, encoding="utf-8")
    else:
        path.write_text(f"{text.rstrip()}\n\n{block}\n".lstrip(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path,
                        help="markdown report whose block for this corpus to update")
    parser.add_argument("--limit", type=int, help="score only the first N pages")
    args = parser.parse_args(argv)
    if not (args.corpus / "ground-truth").is_dir():
        parser.error(f"corpus not found: {args.corpus}")
    for noisy in ("trafilatura", "htmldate"):  # "discarding data" per page without text
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    pages = load_pages(args.corpus, args.limit)
    table = report(score(pages))
    print(table)
    if args.out:
        write_table(args.out, table, args.corpus.resolve().name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
