"""Outlet boilerplate learning, measured on outlets of many pages built from real ones.

    python benchmarks/outlet_boilerplate.py [--pages-per-outlet 8] [--workdir DIR]

The shared corpora hold about one page per site, and learning needs an outlet's many
pages. So each corpus page with ground truth becomes an outlet: its real HTML is the
template (menus, teasers, boxes and all the furniture trafilatura keeps from it), and
each of the outlet's pages puts another corpus article's ground-truth paragraphs in the
elements that held the template's own (found by their words). Pages go round-robin
across outlets, as a crawl of many outlets meets them, and are replayed with
``scrapy crawl replay`` three ways into fresh SQLite archives: learning off
(``OUTLET_BOILERPLATE_MIN_PAGES=0``), on, and on followed by ``scrapy reextract``.
Text is scored as in ``score_extraction.py`` (word 4-grams), for every page and for the
pages an outlet stored after its first ``--learn-after`` (those that could benefit
during the crawl). See docs/extraction-quality.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.score_extraction import load_pages, text_precision_recall  # noqa: E402
from pipelines.extraction.normalize import words  # noqa: E402

CORPORA = (ROOT.parent / "shared" / "corpus" / "wcxb-articles",
           ROOT.parent / "shared" / "corpus" / "fundus-news")
BLOCK_TAGS = ("p", "li", "h2", "h3", "h4", "blockquote")
MIN_MATCHED = 3  # a template needs this many of its article's blocks found in its HTML


def article_blocks(text: str) -> list[str]:
    """The ground-truth paragraphs of a corpus page (list markers dropped)."""
    return [b.strip().removeprefix("- ") for b in text.split("\n") if b.strip()]


def read_corpus(corpus: Path) -> list[tuple[str, str, bytes, list[str]]]:
    """(id, url, html, ground-truth blocks) of each page of a corpus."""
    return [(page.page_id, page.url, page.body, blocks) for page in load_pages(corpus)
            if page.url and (blocks := article_blocks(page.main_content or ""))]


def article_elements(tree: lxml_html.HtmlElement, blocks: list[str]) -> list:
    """The template's elements that hold its own article's paragraphs, outermost only."""
    keys = {tuple(words(b)) for b in blocks if words(b)}
    found: list = []
    for elem in tree.iter(*BLOCK_TAGS):
        if tuple(words(elem.text_content())) in keys and not any(
                a in found for a in elem.iterancestors()):
            found.append(elem)
    return found


def fill(template: bytes, blocks: list[str], article: list[str]) -> bytes | None:
    """The template with ``article``'s paragraphs in place of its own, or None when too
    few of its own were found to replace."""
    tree = lxml_html.fromstring(template)
    elements = article_elements(tree, blocks)
    if len(elements) < MIN_MATCHED:
        return None
    # The template's canonical URL would make every page of the outlet one article.
    for elem in tree.xpath('//link[@rel="canonical"] | //meta[@property="og:url"]'):
        elem.getparent().remove(elem)
    for elem, paragraph in zip(elements, article, strict=False):
        for child in list(elem):
            elem.remove(child)
        elem.text = paragraph
    last = elements[-1]
    for paragraph in reversed(article[len(elements):]):
        extra = lxml_html.Element("p")
        extra.text = paragraph
        last.addnext(extra)
    for elem in elements[len(article):]:
        elem.getparent().remove(elem)
    return lxml_html.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>")


def build(workdir: Path, per_outlet: int, shards: int, seed: int = 1
          ) -> list[tuple[Path, dict[str, dict]]]:
    """Replay folders, one a shard, each with {url: {"index", "truth"}}.

    Within a shard every article fills one page only: the archive would take a second
    page with the same text for a duplicate (the same story syndicated), and the
    measure is of an outlet's different stories. Shards replay into archives of their
    own, so an article can fill a page in each."""
    done = workdir / f"shards-{per_outlet}x{shards}.json"
    if done.is_file():
        return [(Path(folder), truth) for folder, truth in json.loads(done.read_text())]
    rng = random.Random(seed)
    pages = [(*page, corpus.name) for corpus in CORPORA for page in read_corpus(corpus)]
    templates = rng.sample(pages, len(pages))
    built: list[tuple[Path, dict[str, dict]]] = []
    for shard in range(shards):
        articles = rng.sample(pages, len(pages))
        outlets: list[list[tuple[str, bytes, list[str]]]] = []
        while templates and len(articles) >= per_outlet:
            page_id, url, template, blocks, corpus = templates.pop()
            chosen = [articles.pop() for _ in range(per_outlet)]
            bodies = [fill(template, blocks, article[3]) for article in chosen]
            if any(body is None for body in bodies) or any(a[0] == page_id for a in chosen):
                continue  # the template's own article is not a page of its outlet
            host = urlsplit(url).hostname or page_id
            outlets.append([(f"https://{host}/{corpus}-{page_id}/{index}", body, article[3])
                            for index, (body, article) in enumerate(zip(bodies, chosen,
                                                                        strict=True))])
        built.append(write_folder(workdir / f"shard-{shard}", outlets, per_outlet))
    done.write_text(json.dumps([(str(folder), truth) for folder, truth in built]))
    return built


def write_folder(folder: Path, outlets: list[list[tuple[str, bytes, list[str]]]],
                 per_outlet: int) -> tuple[Path, dict[str, dict]]:
    """The outlets' pages round-robin (page 1 of every outlet, then page 2...), as a crawl
    of many outlets meets them, with a manifest naming each page's outlet."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict] = {}
    lines = []
    for index in range(per_outlet):
        for outlet in outlets:
            url, body, article = outlet[index]
            name = f"{len(lines):06d}.html.gz"
            (folder / name).write_bytes(gzip.compress(body, compresslevel=1))
            lines.append(json.dumps({"file": name, "url": url, "source": urlsplit(url).hostname,
                                     "fetched_at": "2025-06-06T03:00:00Z"}) + "\n")
            truth[url] = {"index": index, "truth": "\n\n".join(article)}
    (folder / "manifest.jsonl").write_text("".join(lines))
    return folder, truth


def run(folder: Path, database: Path, min_pages: int, reextract: bool) -> None:
    database.unlink(missing_ok=True)
    settings = ["-s", f"DATABASE_URL=sqlite:///{database}",
                "-s", f"OUTLET_BOILERPLATE_MIN_PAGES={min_pages}", "-s", "LOG_LEVEL=WARNING"]
    scrapy = [sys.executable, "-m", "scrapy"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([*scrapy, "crawl", "replay", "-a", f"path={folder}", *settings],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    if reextract:
        subprocess.run([*scrapy, "reextract", *settings], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)


def score(runs: list[tuple[Path, dict[str, dict]]], learn_after: int) -> dict[str, float]:
    """Text scores of every page of the shards' archives, and what they learned."""
    texts: dict[str, str] = {}
    learned = 0
    for database, _ in runs:
        with sqlite3.connect(database) as connection:
            texts.update(connection.execute("SELECT url, text FROM articles"))
            learned += connection.execute(
                "SELECT count(*) FROM outlet_boilerplate").fetchone()[0]
    rows: dict[str, list[tuple[float, float]]] = {"all": [], "later": []}
    for url, expected in ((u, e) for _, truth in runs for u, e in truth.items()):
        precision, recall = text_precision_recall(texts.get(url, ""), expected["truth"])
        rows["all"].append((precision, recall))
        if expected["index"] >= learn_after:
            rows["later"].append((precision, recall))
    result: dict[str, float] = {"stored": len(texts), "learned_blocks": learned}
    for name, pairs in rows.items():
        p = statistics.mean(x for x, _ in pairs)
        r = statistics.mean(y for _, y in pairs)
        result.update({f"{name}_precision": p, f"{name}_recall": r,
                       f"{name}_f1": 2 * p * r / (p + r) if p + r else 0.0})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages-per-outlet", type=int, default=8)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--learn-after", type=int, default=4,
                        help="pages of an outlet scored as 'later' from this index on")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/outlet-boilerplate-bench"))
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    shards = build(args.workdir, args.pages_per_outlet, args.shards)
    pages = sum(len(truth) for _, truth in shards)
    print(f"{pages} pages: {pages // args.pages_per_outlet} outlets of {args.pages_per_outlet} "
          f"pages, in {len(shards)} archives")
    print("| run | stored | learned blocks | F1 all pages (P / R) | F1 later pages (P / R) |")
    print("|---|---:|---:|---|---|")
    for label, min_pages, reextract in (("learning off", 0, False), ("learning on", 3, False),
                                        ("learning on, then reextract", 3, True)):
        name = label.replace(" ", "-").replace(",", "")
        runs = []
        for number, (folder, truth) in enumerate(shards):
            database = args.workdir / f"{name}-{number}.sqlite"
            run(folder, database, min_pages, reextract)
            runs.append((database, truth))
        s = score(runs, args.learn_after)
        print(f"| {label} | {s['stored']} | {s['learned_blocks']} | "
              f"{s['all_f1']:.3f} ({s['all_precision']:.3f} / {s['all_recall']:.3f}) | "
              f"{s['later_f1']:.3f} ({s['later_precision']:.3f} / {s['later_recall']:.3f}) |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
