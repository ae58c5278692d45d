"""Article body of an HTML page: trafilatura's text, checked against its own failure modes.

What was measured on both shared corpora (WCXB, Fundus news), kept or dropped, is in
docs/extraction-quality.md.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import cached_property
from urllib.parse import urldefrag, urljoin

import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from pipelines.extraction.normalize import clean_text, words
from pipelines.keys.shingles import SHINGLE_WORDS, shingle_hashes, shingles
from pipelines.keys.urls import site_of

# favor_recall measured best on the WCXB corpus; comments are not article text.
RECALL_OPTIONS = {"favor_recall": True, "include_comments": False, "include_tables": True}
DEFAULT_OPTIONS = {"include_comments": False, "include_tables": True}
# Recall mode sometimes returns one fragment of the article (its first section) where
# the default settings find it all. Only a text that is under half the page's paragraph
# text gets the second run: a second trafilatura run on every page would nearly double
# its cost, for the same scores.
FRAGMENT_SHARE = 0.5
MUCH_LONGER = 1.5
# When both return a fragment, the page's paragraphs (trafilatura's baseline) replace it
# if they hold this share of its word shingles and come from <p> elements for this share.
COVERS = 0.8
PARAGRAPH_SHARE = 0.5
_COMMENTS = re.compile(r"comment|discussion|disqus|repl(?:y|ies)", re.I)
_NOT_LETTER = re.compile(r"[\W\d_]+")
_TABLE_RULE = re.compile(r"^[|\-: ]+$")
_COPYRIGHT = re.compile(r"©|\bcopyright\b|all rights reserved", re.I)
SHORT_LINE = 200  # characters: a copyright line, not a paragraph that mentions copyright
TEASER_PART = 3  # words of a link's text that a block must have to be a part of it
HEADING_WORDS = 4
# The elements a block of text comes from, and the share of the text (in characters,
# of the blocks found on the page) that the article's container holds.
_BLOCK_TAGS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "blockquote",
               "figcaption", "dd", "dt", "pre")
CONTAINER_SHARE = 0.8
_NOT_TEXT = frozenset(("script", "style", "noscript", "template", "svg"))
LINE_WORDS = 12  # a line before the article, not its standfirst
TEASER_SHARE = 0.3  # of the blocks after the article's main element (article_end)
COPY_WORDS = 15  # a paragraph, not a list item, a table row or a line of code
COPY_RUN = 2  # paragraphs in a row that the text already holds: a second copy
# The writer's bio under the article: "Jane Doe is a ...", "Jane has covered ...".
BIO_WINDOW = 4  # last blocks of the text
# The name, a year of birth perhaps ("(*1958)"), then a verb of a bio in the archive's
# Latin-script languages (English, German, French, Spanish, Italian).
_BIO_VERB = re.compile(r"(?:\s*\([^()]{1,30}\))?\s+(?:is|was|has|writes|covers|founded"
                       r"|joined|ist|war|schreibt|est|était|écrit|es|fue|escribe|è|era"
                       r"|scrive)\b")
_SENTENCE_END = (".", "!", "?", ":", "।", "。")


def _text(tree: HtmlElement, url: str, options: dict[str, bool]) -> str:
    """trafilatura's text with these settings ("" when it finds none); the tree is
    left as it was (bare_extraction works on a copy)."""
    document = trafilatura.bare_extraction(tree, url=url or None, **options)
    return clean_text(document.text) if document is not None and document.text else ""


def article_text(tree: HtmlElement, url: str, headline: str | None = None,
                 writers: Sequence[str] = ()) -> str:
    """Main text, one block per paragraph, paragraphs separated by a blank line.

    A recall-mode text that is a small part of the page's paragraphs gives way to the
    default settings' text when that one is much longer, or else to the article's own
    paragraphs when they extend it (:func:`holds_more`). A first paragraph that repeats
    the headline is dropped: it is stored as the title, and article text (as readers and
    both corpora count it) starts below. Page furniture trafilatura keeps at the text's
    edges (breadcrumbs, related stories, the copyright line) goes too, and so does a
    second copy of the article.
    """
    text = _text(tree, url, RECALL_OPTIONS)
    page = Page(tree, url)
    fragment = len(_block_key(text)) < FRAGMENT_SHARE * page.paragraph_chars
    if fragment:
        default = _text(tree, url, DEFAULT_OPTIONS)
        if len(default) > MUCH_LONGER * len(text):
            text = default
    blocks = _trimmed(text, page, headline)
    if fragment:
        paragraphs = _trimmed(clean_text(trafilatura.baseline(tree)[1]), page, headline)
        paragraphs = within_fragment(paragraphs, blocks, page)
        if holds_more(paragraphs, blocks, page):
            blocks = paragraphs
    return "\n\n".join(without_writer_bio(blocks, writers))


def _trimmed(text: str, page: Page, headline: str | None) -> list[str]:
    """A text's blocks without a first one that repeats the headline and without the
    furniture at its edges or a second copy of it."""
    blocks = [b for b in text.split("\n") if b and not _TABLE_RULE.match(b)]
    if len(blocks) > 1 and headline and words(blocks[0]) == words(headline):
        blocks = blocks[1:]
    return trim_outside(without_second_copy(trim_edges(blocks, page)), page)


def holds_more(paragraphs: list[str], fragment: list[str], page: Page) -> bool:
    """Do the page's paragraphs (trafilatura's ``baseline``: the publisher's
    ``articleBody``, else the ``<article>`` elements, else the ``<p>`` texts, the first
    that yields text) say what a fragment says and much more? When both trafilatura
    settings return a fragment of the article, its paragraphs are the article if they
    are MUCH_LONGER, hold COVERS of the fragment's word shingles (the same article, not
    another text of the page), and come from ``<p>`` elements for PARAGRAPH_SHARE of
    their text (not ``<article>`` cards of a listing, which baseline takes first)."""
    if sum(map(len, paragraphs)) <= MUCH_LONGER * sum(map(len, fragment)):
        return False
    said = words("\n".join(fragment))
    if len(said) >= SHINGLE_WORDS:  # a shorter fragment says too little to check
        shingled = shingle_hashes(said)
        if len(shingled & shingles("\n".join(paragraphs))) < COVERS * len(shingled):
            return False
    in_p = sum(len(block) for block in paragraphs
               if (elem := page.elements.get(_block_key(block))) is not None and elem.tag == "p")
    return in_p >= PARAGRAPH_SHARE * sum(map(len, paragraphs))


def within_fragment(paragraphs: list[str], fragment: list[str], page: Page) -> list[str]:
    """The paragraphs inside the element that holds every block of the fragment found
    on the page (and those not found), and not in a reader-comment section there:
    comments, related stories and sidebars beside the article are paragraphs of the
    page too, not the rest of its text."""
    found = [elem for elem in _sources([_block_key(b) for b in fragment], page) if elem is not None]
    if not found:
        return paragraphs
    holder = next(elem for elem in (found[0], *found[0].iterancestors())
                  if all(elem is f or elem in f.iterancestors() for f in found))
    sources = _sources([_block_key(b) for b in paragraphs], page)
    return [block for block, elem in zip(paragraphs, sources, strict=True)
            if elem is None or ((elem is holder or holder in elem.iterancestors())
                                and not _in_comments(elem, holder))]


def _in_comments(elem: HtmlElement, holder: HtmlElement) -> bool:
    """Is the element in a reader-comment section inside the holder (a class or id
    such as "comments", "comment-list", "disqus_thread", "replies")?"""
    for e in itertools.takewhile(lambda e: e is not holder, (elem, *elem.iterancestors())):
        if _COMMENTS.search(f"{e.get('class', '')} {e.get('id', '')}"):
            return True
    return False


class Page:
    """What the body's checks read from a page, each read once, when first asked for:
    reading the text of its elements is what they cost."""

    def __init__(self, tree: HtmlElement, url: str = "") -> None:
        self.tree = tree
        self.url = url

    @cached_property
    def _block_elements(self) -> tuple[dict[str, HtmlElement], int]:
        elements: dict[str, HtmlElement] = {}
        paragraph_chars = 0
        for elem in self.tree.iter(*_BLOCK_TAGS):
            key = _block_key(elem.text_content())
            elements.setdefault(key, elem)
            if elem.tag == "p":
                paragraph_chars += len(key)
        return elements, paragraph_chars

    @property
    def elements(self) -> dict[str, HtmlElement]:
        """The block elements (``_BLOCK_TAGS``) by the key of their text, the first of
        each text."""
        return self._block_elements[0]

    @property
    def paragraph_chars(self) -> int:
        """Characters of all ``<p>`` elements, white space left out: the paragraph text
        a recall-mode fragment is measured against."""
        return self._block_elements[1]

    @cached_property
    def _anchors(self) -> list[tuple[str, HtmlElement]]:
        return [(key, a) for a in self.tree.iter("a") if (key := _link_key(a.text_content()))]

    @cached_property
    def links(self) -> set[str]:
        """Each distinct link text (by :func:`_link_key`) once: menus repeat theirs
        (header, footer, mobile menu)."""
        return {key for key, _ in self._anchors}

    @cached_property
    def links_text(self) -> str:
        """The link texts one per line, to find a block that is a part of one."""
        return "\n".join(self.links)

    @cached_property
    def own_links(self) -> set[str]:
        """The texts of the links to the outlet's other pages: relative, or to a host of
        the same site ("www." aside); not to a place on this page (a table of contents)."""
        page = urldefrag(self.url).url
        site = site_of(page)
        return {key for key, a in self._anchors
                if _to_other_page((a.get("href") or "").strip(), page, site)}


def _to_other_page(href: str, page: str, site: str) -> bool:
    """Does a link go to another page of the site (the page's host without "www.")? A
    subdomain of the site or the site of a subdomain counts ("roma.repubblica.it" and
    "repubblica.it"); a script or mail link, or one no URL parser takes, does not."""
    try:
        link = urldefrag(urljoin(page, href)).url
        host = site_of(link)
    except ValueError:  # "http://[bad": an invalid IPv6 host
        return False
    if not link.startswith(("http://", "https://")) or link == page or not site:
        return False
    return host == site or host.endswith(f".{site}") or site.endswith(f".{host}")


def trim_edges(blocks: list[str], page: Page) -> list[str]:
    """The blocks without the page furniture at the text's start and end: blocks that
    are each one link's text, or a part of it (a breadcrumb, a "related stories" list
    whose links also hold a label or a time), the short headings over such a list at
    the end, and a closing copyright line. Inside the text a list of links can be the
    article's own (a list of resources), so only the edges are trimmed; a text that is
    nothing but furniture is left as it is."""
    def furniture(block: str, at_end: bool) -> bool:
        key = _link_key(block)
        if key and (key in page.links
                    or (len(block.split()) >= TEASER_PART and key in page.links_text)):
            return True
        return at_end and len(block) < SHORT_LINE and _COPYRIGHT.search(block) is not None

    start, end = 0, len(blocks)
    while start < end and furniture(blocks[start], at_end=False):
        start += 1
    below = False  # a heading is furniture only over the furniture trimmed below it
    while end > start and (furniture(blocks[end - 1], at_end=True)
                           or (below and _is_heading(blocks[end - 1]))):
        end -= 1
        below = True
    return blocks[start:end] or blocks


def _link_key(text: str) -> str:
    """A text's letters only, case-folded: a teaser's link prints its date or time
    beside the title ("BIO. Vanessa Matz ... 02/02/2025"), the text only the title."""
    return _NOT_LETTER.sub("", text).casefold()


def _is_heading(block: str) -> bool:
    """A list's heading ("Berita Lainnya", "Lees meer"): a few words, no sentence."""
    return len(words(block)) <= HEADING_WORDS and not block.rstrip().endswith(_SENTENCE_END)


def trim_outside(blocks: list[str], page: Page) -> list[str]:
    """The blocks without those at the edges that come from outside the article's
    container: the deepest element that holds most of the article's text. What
    trafilatura adds after the article from elsewhere on the page (a newsletter box, the
    author's bio card, "more from us") is not in the element the article is in; before
    it, only lines go (a menu, a ticker, a kicker): a standfirst outside the article's
    element is article text."""
    keys = [_block_key(block) for block in blocks]
    sources = _sources(keys, page)
    held: dict[HtmlElement, int] = {}  # characters of the article's text each element holds
    for key, elem in itertools.islice(zip(keys, sources, strict=True),
                                      article_end(blocks, sources, page)):
        if elem is not None:
            for holder in (elem, *elem.iterancestors()):
                held[holder] = held.get(holder, 0) + len(key)
    total = max(held.values(), default=0)  # the root holds all the text found
    if not total:
        return blocks
    container = max((e for e, chars in held.items() if chars >= CONTAINER_SHARE * total),
                    key=_depth)

    def outside(i: int) -> bool:
        elem = sources[i]
        return elem is not None and not (elem is container or container in elem.iterancestors())

    start, end = 0, len(blocks)
    while start < end - 1 and outside(start) and len(blocks[start].split()) <= LINE_WORDS:
        start += 1
    while end > start + 1 and outside(end - 1):
        end -= 1
    return blocks[start:end]


def article_end(blocks: list[str], sources: list[HtmlElement | None], page: Page) -> int:
    """Where the article ends among the blocks: after the last block of the element that
    holds the most paragraphs' text, when what follows is teasers (TEASER_SHARE of its
    blocks or more are the texts of links to the outlet's own pages: "Read this next",
    a list of recent posts); else at the end. A short article followed by a long list
    of teasers holds too little of the text for the container to be its element. An
    article's own list of resources links elsewhere, and its sections keep going."""
    direct: dict[HtmlElement, int] = {}  # characters of blocks each element is parent of
    for block, elem in zip(blocks, sources, strict=True):
        if elem is not None and (parent := elem.getparent()) is not None:
            direct[parent] = direct.get(parent, 0) + len(block)
    if not direct:
        return len(blocks)
    main = max(direct, key=direct.__getitem__)
    last = max(i for i, elem in enumerate(sources)
               if elem is not None and elem.getparent() is main)
    after = blocks[last + 1:]
    if not after:
        return len(blocks)
    linked = [key for block in after if (key := _link_key(block)) in page.links]
    if len(linked) < TEASER_SHARE * len(after):  # saves reading where the links go
        return len(blocks)
    teasers = sum(1 for key in linked if key in page.own_links)
    return last + 1 if teasers >= TEASER_SHARE * len(after) else len(blocks)


def _sources(keys: list[str], page: Page) -> list[HtmlElement | None]:
    """The element each block (by its key) comes from: the block element whose text it
    is, else the element whose own text it is. trafilatura splits some elements' text
    into several blocks (the lines of a ``<div>``, a menu's links, a paragraph cut by
    ruby annotations); those are found among the texts an element holds itself (before
    its first child, or after a child: the child's tail), so that the container and the
    edges see them too."""
    sources = [page.elements.get(key) if key else None for key in keys]
    if all(elem is not None or not key for elem, key in zip(sources, keys, strict=True)):
        return sources
    missing = {key for elem, key in zip(sources, keys, strict=True) if elem is None and key}
    own: dict[str, HtmlElement] = {}
    for elem in page.tree.iter(etree.Element):
        # Most texts between elements are white space; scripts and styles hold no block.
        if (text := elem.text) and not text.isspace() and elem.tag not in _NOT_TEXT and (
                key := _block_key(text)) in missing:
            own[key] = elem
            missing.discard(key)
        if (text := elem.tail) and not text.isspace() and (key := _block_key(text)) in missing:
            own[key] = elem.getparent()
            missing.discard(key)
        if not missing:
            break
    return [elem if elem is not None or not key else own.get(key)
            for elem, key in zip(sources, keys, strict=True)]


def _block_key(text: str) -> str:
    """The text without its white space, case-folded: a block of trafilatura's text and
    the element it came from spell it alike (a list item's block without its "- ")."""
    return "".join(text.removeprefix("- ").split()).casefold()


def _depth(elem: HtmlElement) -> int:
    return sum(1 for _ in elem.iterancestors())


def without_second_copy(blocks: list[str]) -> list[str]:
    """The blocks without a second copy of the article's paragraphs: a run of
    COPY_RUN paragraphs or more (blocks of COPY_WORDS words or more, with the shorter
    blocks between them) that the text already holds. A page that prints its article
    twice (a tab or a mobile layout, the print version) gives trafilatura both copies.
    One repeated paragraph can be the article's own (a pull quote, a repeated
    disclaimer), and repeated short blocks are list items, table rows, lines of code."""
    seen: set[str] = set()
    repeated: list[bool | None] = []  # a paragraph already seen, a new one; None: short
    for block in blocks:
        if len(block.split()) < COPY_WORDS:
            repeated.append(None)
            continue
        key = _block_key(block.removeprefix("- "))
        repeated.append(key in seen)
        seen.add(key)
    keep = [True] * len(blocks)
    start = 0
    while start < len(blocks):
        if not repeated[start]:
            start += 1
            continue
        run, end = 0, start  # the run's paragraphs, and its last one
        for i in range(start, len(blocks)):
            if repeated[i] is False:
                break
            if repeated[i]:
                run, end = run + 1, i
        if run >= COPY_RUN:
            keep[start:end + 1] = [False] * (end + 1 - start)
        start = end + 1
    return [block for block, kept in zip(blocks, keep, strict=True) if kept]


def without_writer_bio(blocks: list[str], writers: Sequence[str]) -> list[str]:
    """The blocks without the writer's bio among the last few, and what follows it:
    a block that opens with a writer's name, or the first name of a name of two words
    or more, then "is", "was", "has", "writes" ... ("Cassidy Horton is a finance
    writer ..."). A one-word credit ("Budlong", a company) is no person's bio."""
    names = [name for writer in writers if len(parts := writer.split()) >= 2
             for name in (writer, parts[0])]
    for i in range(max(1, len(blocks) - BIO_WINDOW), len(blocks)):
        block = blocks[i].removeprefix("(")
        if any(block.startswith(name) and _BIO_VERB.match(block, len(name)) for name in names):
            return blocks[:i]
    return blocks
