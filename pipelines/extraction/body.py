"""Article body of an HTML page: trafilatura's text, checked against its own failure modes.

What was measured on both shared corpora (WCXB, Fundus news), kept or dropped, is in
docs/extraction-quality.md.
"""

from __future__ import annotations

import re

import trafilatura
from lxml.html import HtmlElement

from pipelines.extraction.normalize import clean_text, words

# favor_recall measured best on the WCXB corpus; comments are not article text.
RECALL_OPTIONS = {"favor_recall": True, "include_comments": False, "include_tables": True}
DEFAULT_OPTIONS = {"include_comments": False, "include_tables": True}
# Recall mode sometimes returns one fragment of the article (its first section) where
# the default settings find it all. Only a text that is under half the page's paragraph
# text gets the second run: a second trafilatura run on every page would nearly double
# its cost, for the same scores.
FRAGMENT_SHARE = 0.5
MUCH_LONGER = 1.5
_TABLE_RULE = re.compile(r"^[|\-: ]+$")
_COPYRIGHT = re.compile(r"©|\bcopyright\b|all rights reserved", re.I)
SHORT_LINE = 200  # characters: a copyright line, not a paragraph that mentions copyright


def _text(tree: HtmlElement, url: str, options: dict[str, bool]) -> str:
    """trafilatura's text with these settings ("" when it finds none); the tree is
    left as it was (bare_extraction works on a copy)."""
    document = trafilatura.bare_extraction(tree, url=url or None, **options)
    return clean_text(document.text) if document is not None and document.text else ""


def article_text(tree: HtmlElement, url: str, headline: str | None = None) -> str:
    """Main text, one block per paragraph, paragraphs separated by a blank line.

    A recall-mode text that is a small part of the page's paragraphs gives way to the
    default settings' text when that one is much longer. A first paragraph that repeats
    the headline is dropped: it is stored as the title, and article text (as readers and
    both corpora count it) starts below. Page furniture trafilatura keeps at the text's
    edges (breadcrumbs, related stories, the copyright line) goes too.
    """
    text = _text(tree, url, RECALL_OPTIONS)
    if len(text) < FRAGMENT_SHARE * _paragraph_chars(tree):
        default = _text(tree, url, DEFAULT_OPTIONS)
        if len(default) > MUCH_LONGER * len(text):
            text = default
    blocks = [b for b in text.split("\n") if b and not _TABLE_RULE.match(b)]
    if len(blocks) > 1 and headline and words(blocks[0]) == words(headline):
        blocks = blocks[1:]
    return "\n\n".join(trim_edges(blocks, tree))


def _paragraph_chars(tree: HtmlElement) -> int:
    """Characters of the page's <p> elements, white space collapsed."""
    return sum(len(" ".join(p.text_content().split())) for p in tree.iter("p"))


def trim_edges(blocks: list[str], tree: HtmlElement) -> list[str]:
    """The blocks without the page furniture at the text's start and end: blocks that
    are each one link's whole text (a breadcrumb, a "related stories" list) and, at the
    end, a copyright line. Inside the text a list of links can be the article's own (a
    list of resources), so only the edges are trimmed; a text that is nothing but
    furniture is left as it is."""
    # Each distinct link text once: menus repeat theirs (header, footer, mobile menu).
    texts = {a.text_content() for a in tree.iter("a")}
    links = {tuple(w) for text in texts if (w := words(text))}

    def furniture(block: str, at_end: bool) -> bool:
        return tuple(words(block)) in links or (
            at_end and len(block) < SHORT_LINE and _COPYRIGHT.search(block) is not None)

    start, end = 0, len(blocks)
    while start < end and furniture(blocks[start], at_end=False):
        start += 1
    while end > start and furniture(blocks[end - 1], at_end=True):
        end -= 1
    return blocks[start:end] or blocks
