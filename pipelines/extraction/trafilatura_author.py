"""trafilatura's author guess (``trafilatura.metadata.extract_author``), same answers,
a fifth of the cost.

trafilatura deep-copies the whole tree, deletes the parts where a name is not a byline
(comments, sidebars, figures, dates...), then runs three XPath expressions whose
``re:test`` calls back into Python for every element: 15 ms a page here, on the half
of the pages that state no author. The same rules, read in one walk of the unchanged
tree with compiled regular expressions, find the same element; only when that element
holds a deleted part is a copy of it (not of the page) pruned to read its text.

The rules below are trafilatura 2.3's ``AUTHOR_XPATHS`` and ``AUTHOR_DISCARD_XPATHS``
(``trafilatura/xpaths.py``) written in Python; ``tests/test_trafilatura_author.py``
checks the answers are trafilatura's on every page of the WCXB corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from copy import deepcopy

from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.metadata import normalize_authors
from trafilatura.utils import trim
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS

Rule = Callable[[HtmlElement], bool]


def _search(pattern: str, attribute: str) -> Rule:
    """XPath ``re:test(@attribute, pattern)``: lxml runs Python's ``re.search``."""
    search = re.compile(pattern).search
    return lambda elem: search(elem.get(attribute) or "") is not None


def _has_child_rel_me(elem: HtmlElement) -> bool:
    """XPath ``rel='me'``: a child element <rel> whose text is "me"."""
    return any("".join(child.itertext()) == "me" for child in elem.iterchildren("rel"))


_author_name = _search("author-?name|AuthorName|authorName", "class")
_author_id = _search("author|zuozhe|bianji|xiaobian", "id")
_author_class = _search(
    "author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name",
    "class",
)
_any_author_id = _search("[Aa]uthor", "id")
_any_author_class = _search("[Aa]uthor|screenname|writer|[Bb]yline", "class")
_comments_id = _search("^comments|comment-?list|ProductReviews", "id")
_discarded_class = _search(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    "article-(?:share|support)|print|category|meta-date|meta-reviewer",
    "class",
)


def _specific(elem: HtmlElement) -> bool:
    if elem.tag == "author":
        return True
    return elem.tag in ("a", "address", "div", "link", "p", "span", "strong") and (
        elem.get("rel") == "author"
        or elem.get("id") == "author"
        or elem.get("class") == "author"
        or elem.get("itemprop") == "author name"
        or elem.get("data-testid") in ("AuthorCard", "AuthorURL")
        or _author_name(elem)
        or _has_child_rel_me(elem)
    )


def _generic(elem: HtmlElement) -> bool:
    return elem.tag in ("a", "div", "h3", "h4", "p", "span") and (
        elem.get("class") in ("byline", "username", "byl", "BBL")
        or "author" in (elem.get("itemprop") or "")
        or _author_id(elem)
        or _author_class(elem)
    )


def _last_resort(elem: HtmlElement) -> bool:
    return (
        "Byline" in (elem.get("data-component") or "")
        or "author" in (elem.get("itemprop") or "")
        or _any_author_id(elem)
        or _any_author_class(elem)
    )


RULES: tuple[Rule, ...] = (_specific, _generic, _last_resort)  # AUTHOR_XPATHS, in order


def _discarded(elem: HtmlElement) -> bool:
    """AUTHOR_DISCARD_XPATHS: where a name is not the page's author."""
    if elem.tag in ("time", "figure"):
        return True
    return elem.tag in ("a", "div", "section", "span") and (
        elem.get("id") == "comments"
        or elem.get("class") in ("comments", "title", "date")
        or "Figure" in (elem.get("data-component") or "")
        or _comments_id(elem)
        or _discarded_class(elem)
    )


# A class or id that a rule or a discard rule could match contains one of these (each
# regular expression above contains one, or the rule compares the value whole): one
# search per element finds the few elements worth checking rule by rule.
_CLASS_HINT = re.compile(
    "uthor|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name|"
    "screenname|writer|yline|byl|BBL|username|omment|sidebar|is-hidden|quote|embedly-instagram|"
    "article-share|article-support|print|category|meta-reviewer|title|date"
).search
_ID_HINT = re.compile("uthor|zuozhe|bianji|xiaobian|omment|ProductReviews").search
_OTHER_ATTRIBUTES = frozenset({"rel", "itemprop", "data-testid", "data-component"})
_TAGS = frozenset({"author", "time", "figure"})


def _candidates(tree: HtmlElement) -> Iterator[HtmlElement]:
    """The elements a rule or a discard rule may match (and a few more), in document
    order. A Python walk: in XPath, each ``contains()`` costs a pass over the page."""
    rel_children = tree.find(".//rel") is not None  # for ``rel='me'``; never seen yet
    for elem in tree.iter("*"):
        attributes = elem.attrib
        if attributes:
            css, ident = attributes.get("class"), attributes.get("id")
            if (css and _CLASS_HINT(css)) or (ident and _ID_HINT(ident)) or (
                    len(attributes) > (css is not None) + (ident is not None)
                    and not _OTHER_ATTRIBUTES.isdisjoint(attributes.keys())):
                yield elem
                continue
        if elem.tag in _TAGS or (rel_children and elem.find("rel") is not None):
            yield elem


def _walk(tree: HtmlElement) -> tuple[list[list[HtmlElement]], set[HtmlElement]]:
    """The elements each rule finds in the pruned tree, in document order, and the
    elements that hold a discarded part (their text is read pruned).

    The root is never discarded: the first discard rule looks below it (``.//*``),
    the second finds <time> and <figure>, which no parser makes the root."""
    found: list[list[HtmlElement]] = [[] for _ in RULES]
    discarded: set[HtmlElement] = set()
    holds_discarded: set[HtmlElement] = set()
    for elem in _candidates(tree):  # ancestors come first
        if elem is not tree and _discarded(elem):
            discarded.add(elem)
            holds_discarded.update(elem.iterancestors())
        # (no walk up the ancestors while nothing is discarded yet)
        elif not (discarded and any(ancestor in discarded for ancestor in elem.iterancestors())):
            for rule, elements in zip(RULES, found, strict=True):
                if rule(elem):
                    elements.append(elem)
    return found, holds_discarded


def _text(elem: HtmlElement, holds_discarded: set[HtmlElement]) -> str:
    if elem not in holds_discarded:
        return trim(" ".join(elem.itertext()))
    pruned = prune_unwanted_nodes(deepcopy(elem), AUTHOR_DISCARD_XPATHS)
    return trim(" ".join(pruned.itertext()))


def author_guesses(tree: HtmlElement, skip: Rule | None = None) -> Iterator[str | None]:
    """The text of each element a rule finds, rule by rule, when 3 to 119 characters
    long, as trafilatura normalises it. trafilatura takes the first; the later ones are
    the next author boxes, for when the first is a label ("View more posts").
    Elements ``skip`` rules out are passed over (the caller's: trafilatura has none)."""
    found, holds_discarded = _walk(tree)
    seen: set[HtmlElement] = set()  # an element several rules find is one guess
    for elements in found:
        for elem in elements:
            if elem in seen or (skip is not None and skip(elem)):
                continue
            seen.add(elem)
            content = _text(elem, holds_discarded)
            if content and 2 < len(content) < 120:
                yield normalize_authors(None, content)


def extract_author(tree: HtmlElement) -> str | None:
    """trafilatura's guess: the first of :func:`author_guesses`; None when there is none."""
    return next(author_guesses(tree), None)
