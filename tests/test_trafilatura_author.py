"""The author guess is trafilatura's, found without copying the page (trafilatura_author)."""

from __future__ import annotations

from pathlib import Path

import pytest
from trafilatura.metadata import extract_author as trafilatura_extract_author
from trafilatura.utils import load_html

from pipelines.extraction.trafilatura_author import author_guesses, extract_author


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a byline class, any case of "Byline"
        ('<div class="cpBylineTS"><span>By Asha Rao</span></div>', "Asha Rao"),
        # rel=author on a link, before a generic "author" class later in the page
        ('<p><a rel="author" href="/a">Ravi Kumar</a></p><div class="author">Somebody Else</div>',
         "Ravi Kumar"),
        # the name inside a comment thread is not the page's author
        ('<div id="comments"><span class="author">Commenter Name</span></div>'
         '<span class="writer">Meera Nair</span>', "Meera Nair"),
        # the byline holds a date: the date is pruned from its text
        ('<div class="byline">Priya Das <time>3 March 2024</time></div>', "Priya Das"),
        # nothing that looks like a byline
        ("<p>Just a paragraph of text.</p>", None),
    ],
)
def test_author_rules(body: str, expected: str | None) -> None:
    tree = load_html(page(body))
    assert extract_author(tree) == expected
    assert trafilatura_extract_author(tree) == expected


def test_later_guesses_follow_trafilatura_s_first_in_rule_order() -> None:
    """trafilatura stops at a "View more posts" link; the guesses go on to the byline."""
    tree = load_html(page('<div class="author-link"><a>View more posts</a></div>'
                          '<p><span class="author vcard">Damien Walter</span></p>'))
    assert list(author_guesses(tree)) == ["View more posts", "Damien Walter"]
    assert extract_author(tree) == trafilatura_extract_author(tree) == "View more posts"


def test_same_author_as_trafilatura_on_every_corpus_page(wcxb_corpus: Path) -> None:
    from benchmarks.score_extraction import load_pages

    pages = load_pages(wcxb_corpus)
    assert len(pages) > 300
    found = 0
    for corpus_page in pages:
        tree = load_html(corpus_page.body)
        theirs = trafilatura_extract_author(tree)
        assert extract_author(tree) == theirs, corpus_page.page_id
        found += theirs is not None
    assert found > len(pages) / 4  # the comparison covered many real bylines
