"""An outlet's boilerplate learned from its archived pages: the text rules on their own,
the learning's counting, and real replays into SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, CrawlRun, OutletBlock, Source
from archive.outlet_boilerplate import OutletBoilerplate
from pipelines.extraction.outlet_blocks import (
    MAX_BLOCK_CHARS,
    block_key,
    keyed_blocks,
    strip_blocks,
)
from tests.conftest import run_scrapy

OUTLET = "Example Hindi News"
TEASER = "यह भी पढ़ें: बिहार में बाढ़ से हालात गंभीर, राहत शिविरों में पहुंचे हज़ारों लोग"
NEWSLETTER = "हमारे न्यूज़लेटर की सदस्यता लें और हर सुबह देश-दुनिया की ताज़ा ख़बरें सीधे पाएं।"
SYLLABLES = list("कखगघचछजझटठडढतथदधनपफबभमयरलवशसह")
MATRAS = ["", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ", "ं"]


def story(seed: int) -> list[str]:
    """Four paragraphs of a story of its own: words no other seed's story shares in
    the same order, so no two stories are copies of each other."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) + rng.choice(MATRAS) for _ in range(rng.randint(2, 4)))

    return [" ".join(word() for _ in range(45)) + "।" for _ in range(4)]


def outlet_page(title: str, paragraphs: list[str]) -> bytes:
    """An article page of the outlet, with its teaser and newsletter box in the text."""
    body = [f"<p>{paragraphs[0]}</p>", f"<p>{paragraphs[1]}</p>",
            f'<p><a href="/bihar-flood">{TEASER}</a></p>', f"<p>{paragraphs[2]}</p>",
            f"<p>{NEWSLETTER}</p>", f"<p>{paragraphs[3]}</p>"]
    return f"""<!doctype html><html lang="hi"><head><meta charset="utf-8">
<title>{title}</title></head><body><nav><a href="/">होम</a> <a href="/desh">देश</a></nav>
<article><h1>{title}</h1>{''.join(body)}</article>
<footer><p>© 2025 उदाहरण समाचार</p></footer></body></html>""".encode()


def write_outlet(folder: Path, stories: dict[str, list[str]]) -> dict[str, str]:
    """The outlet's pages with a manifest naming the outlet; {name: url}."""
    folder.mkdir()
    urls, lines = {}, []
    for name, paragraphs in stories.items():
        (folder / f"{name}.html").write_bytes(outlet_page(f"ख़बर {name}", paragraphs))
        urls[name] = f"https://hindi.example.in/news/{name}"
        lines.append(json.dumps({"file": f"{name}.html", "url": urls[name], "source": OUTLET,
                                 "fetched_at": "2025-06-06T03:00:00Z"}, ensure_ascii=False))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return urls


def texts(database_url: str) -> dict[str, str]:
    engine = open_database(database_url)
    with Session(engine) as session:
        found = {url: text for url, text in session.execute(select(Article.url, Article.text))}
    engine.dispose()
    return found


def learned(database_url: str) -> list[tuple[str, str, int]]:
    """(outlet, example text, pages seen) of every learned block."""
    engine = open_database(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Source.name, OutletBlock.example_text, OutletBlock.pages_seen)
            .join(Source, Source.id == OutletBlock.source_id)
            .order_by(OutletBlock.example_text)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def last_run_stats(database_url: str) -> dict:
    engine = open_database(database_url)
    with Session(engine) as session:
        stats = session.scalars(select(CrawlRun.stats).order_by(CrawlRun.id.desc())).first()
    engine.dispose()
    return stats or {}


def test_block_keys_ignore_case_punctuation_and_spacing_and_skip_long_blocks() -> None:
    assert block_key("Follow us on  X!") == block_key("follow us on x")
    assert block_key(TEASER) == block_key(TEASER.replace(":", " -"))
    assert block_key(TEASER) != block_key(NEWSLETTER)
    assert block_key("— · —") is None  # no words
    assert block_key("शब्द " * (MAX_BLOCK_CHARS // 4)) is None  # a paragraph, never furniture


def test_known_blocks_leave_the_text_wherever_they_are_but_never_all_of_it() -> None:
    paragraphs = story(1)
    text = "\n\n".join([TEASER, paragraphs[0], NEWSLETTER, paragraphs[1], TEASER])
    known = frozenset({block_key(TEASER), block_key(NEWSLETTER)})
    assert strip_blocks(keyed_blocks(text), known) == ("\n\n".join(paragraphs[:2]), 3)
    assert strip_blocks(keyed_blocks(text), frozenset()) == (text, 0)
    only_furniture = f"{TEASER}\n\n{NEWSLETTER}"
    assert strip_blocks(keyed_blocks(only_furniture), known) == (only_furniture, 0)


def test_a_block_is_learned_on_its_third_story_and_unrepeated_blocks_are_forgotten() -> None:
    learner = OutletBoilerplate(min_pages=3, tracked=50)
    teaser = (block_key(TEASER), TEASER)
    for number in range(2):
        learner.observe(OUTLET, [teaser, (number, f"unique block {number}")])
    assert learner.known(OUTLET) == frozenset()
    learner.observe(OUTLET, [teaser])
    assert learner.known(OUTLET) == {teaser[0]}
    assert learner.known("Another Outlet") == frozenset()  # learned per outlet
    sighting = learner.take_sightings()[(OUTLET, teaser[0])]
    assert (sighting.pages, sighting.example) == (3, TEASER)
    learner.observe(OUTLET, [teaser])  # seen again: one more page for the database
    assert learner.take_sightings()[(OUTLET, teaser[0])].pages == 1
    for number in range(200):  # a long tail of blocks seen once stays bounded
        learner.observe(OUTLET, [(1000 + number, f"caption {number}")])
    assert len(learner.counts[OUTLET]) <= 50
    assert OutletBoilerplate(min_pages=0).known(OUTLET) == frozenset()  # off


def test_replayed_outlet_teaches_its_boilerplate_to_later_pages_and_to_reextract(
    database_url: str, tmp_path: Path
) -> None:
    """Six stories of one outlet, replayed: the teaser and the newsletter box, on every
    page, are learned (outlet_boilerplate says which, with the pages seen); two more
    stories replayed later are stored without them; `scrapy reextract` then removes
    them from the six stored before. The stories' own paragraphs stay."""
    first = {f"story-{n}": story(n) for n in range(6)}
    urls = write_outlet(tmp_path / "first", first)
    run = run_scrapy("crawl", "replay", "-a", f"path={tmp_path / 'first'}",
                     database_url=database_url)
    assert run.returncode == 0, run.stderr[-3000:]
    stored = texts(database_url)
    assert all(TEASER in stored[url] and NEWSLETTER in stored[url] for url in urls.values())
    assert learned(database_url) == sorted([(OUTLET, NEWSLETTER, 6), (OUTLET, TEASER, 6)],
                                           key=lambda row: row[1])

    later = {f"story-{n}": story(n) for n in range(6, 8)}
    later_urls = write_outlet(tmp_path / "later", later)
    run = run_scrapy("crawl", "replay", "-a", f"path={tmp_path / 'later'}",
                     database_url=database_url)
    assert run.returncode == 0, run.stderr[-3000:]
    stored = texts(database_url)
    for name, url in later_urls.items():
        assert stored[url] == "\n\n".join(later[name])  # the story, all of it, and only it
    stats = last_run_stats(database_url)
    assert stats["extract/outlet_boilerplate/pages"] == 2
    assert stats["extract/outlet_boilerplate/blocks_removed"] == 4
    assert {pages for _, _, pages in learned(database_url)} == {8}

    run = run_scrapy("reextract", database_url=database_url)
    assert run.returncode == 0, run.stderr[-3000:]
    stored = texts(database_url)
    for name, url in urls.items():
        assert stored[url] == "\n\n".join(first[name])
    assert {pages for _, _, pages in learned(database_url)} == {8}  # re-extracts teach nothing


def test_copies_of_one_story_teach_nothing(database_url: str, tmp_path: Path) -> None:
    """Five copies of one story (reworded at the start, as outlets update a wire story)
    share every paragraph, but they are one story: none of it is learned, and a later
    copy keeps its text."""
    base = story(42)
    copies = {f"copy-{n}": [story(100 + n)[0][:80], *base[1:]] for n in range(5)}
    write_outlet(tmp_path / "copies", copies)
    run = run_scrapy("crawl", "replay", "-a", f"path={tmp_path / 'copies'}",
                     database_url=database_url)
    assert run.returncode == 0, run.stderr[-3000:]
    stored = texts(database_url)
    assert len(stored) == 5 and all(base[2] in text for text in stored.values())
    assert learned(database_url) == []


def test_blocks_no_page_showed_within_the_window_are_forgotten(
    database_url: str, tmp_path: Path
) -> None:
    """A learned block not seen for longer than OUTLET_BOILERPLATE_WINDOW_DAYS (a teaser
    for a story long gone) is deleted when a writer opens the archive, and its pages are
    no longer cleaned of it; one seen within the window stays."""
    first = {f"story-{n}": story(n) for n in range(3)}
    write_outlet(tmp_path / "first", first)
    run = run_scrapy("crawl", "replay", "-a", f"path={tmp_path / 'first'}",
                     database_url=database_url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(learned(database_url)) == 2
    engine = open_database(database_url)
    with Session(engine) as session, session.begin():
        teaser = session.scalars(select(OutletBlock).where(
            OutletBlock.example_text == TEASER)).one()
        teaser.last_seen_at -= timedelta(days=31)
    engine.dispose()

    later = {"story-9": story(9)}
    urls = write_outlet(tmp_path / "later", later)
    run = run_scrapy("crawl", "replay", "-a", f"path={tmp_path / 'later'}",
                     database_url=database_url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [text for _, text, _ in learned(database_url)] == [NEWSLETTER]
    text = texts(database_url)[urls["story-9"]]
    assert TEASER in text and NEWSLETTER not in text
