"""HTML article extraction: metadata rules on small inline pages, quality on real pages."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path

import htmldate.extractors
import pytest
import trafilatura
from trafilatura.utils import load_html

from pipelines.extraction import ExtractionError, extract_page
from pipelines.extraction.body import (
    Page,
    article_text,
    holds_more,
    trim_edges,
    trim_outside,
    without_second_copy,
    without_writer_bio,
)
from pipelines.extraction.html_page import EXTRACTOR, extract_html, labelled_date
from pipelines.extraction.language import DEFAULT_LANGUAGES
from pipelines.extraction.metadata import clean_authors, strip_site

BODY = "\n".join(
    f"<p>Paragraph {i} of the story tells readers about the council meeting, the budget "
    f"vote and what residents said about the new bus routes in the old town.</p>"
    for i in range(1, 6)
)


def page(head: str = "", body_top: str = "", html_attrs: str = 'lang="en"') -> str:
    """A plausible article page: navigation, the article, a footer."""
    return f"""<!DOCTYPE html><html {html_attrs}><head><meta charset="utf-8">{head}</head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article>{body_top}{BODY}</article>
<footer><p>© 2025 The Daily Example. All rights reserved.</p></footer></body></html>"""


def ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


URL = "https://news.example.com/city/council-vote-123"


# --------------------------------------------------------------------------- headline


def test_json_ld_headline_beats_title_with_site_suffix() -> None:
    html = page(
        "<title>Council approves bus routes | The Daily Example</title>"
        + ld({"@type": "NewsArticle", "headline": "Council approves bus routes"})
    )
    result = extract_html(html, URL)
    assert result.title == "Council approves bus routes"
    assert result.provenance["title"] == "json-ld"


def test_h1_that_og_title_repeats_is_the_headline() -> None:
    html = page(
        '<meta property="og:title" content="Council approves new bus routes - Daily Example">'
        "<title>Daily Example</title>",
        body_top="<h1>Daily Example</h1><h1>Council approves new bus routes</h1>",
    )
    result = extract_html(html, URL)
    assert result.title == "Council approves new bus routes"
    assert result.provenance["title"] == "h1"


def test_a_section_label_in_the_h1_sharing_only_a_letter_is_no_headline() -> None:
    # "M&A Updates" shares only the "m" and "a" of "M&A" with the stated headlines
    head = ('<meta property="og:title" content="Cybersecurity Sector Update, Fall 2025">'
            '<meta name="twitter:title" content="A report on M&amp;A in the software sector">')
    html = page(head, body_top="<h1>M&amp;A Updates</h1>")
    assert extract_html(html, URL).title == "Cybersecurity Sector Update, Fall 2025"


def test_og_title_used_when_no_h1() -> None:
    html = page('<meta property="og:title" content="Bus routes: what changes on Monday">')
    assert extract_html(html, URL).title == "Bus routes: what changes on Monday"


def test_title_only_strips_site_name_segment() -> None:
    html = page(
        '<meta property="og:site_name" content="The Daily Example">'
        "<title>Council approves bus routes – The Daily Example</title>"
    )
    result = extract_html(html, URL)
    assert result.title == "Council approves bus routes"
    assert result.provenance["title"] == "title"


def test_strip_site_keeps_segments_that_are_not_the_site() -> None:
    sites = ["The Daily Example", "example"]
    assert strip_site("Budget 2025 - What it means", sites) == "Budget 2025 - What it means"
    assert strip_site("Example News | Budget 2025", ["Example News"]) == "Budget 2025"


# --------------------------------------------------------------------------- authors


def test_json_ld_author_list_of_people() -> None:
    html = page(ld({
        "@type": "NewsArticle",
        "headline": "Council approves bus routes",
        "author": [{"@type": "Person", "name": "Asha Verma"},
                   {"@type": "Person", "name": "By John Smith"}],
    }))
    result = extract_html(html, URL)
    assert result.authors == ["Asha Verma", "John Smith"]
    assert result.provenance["authors"] == "json-ld"


def test_person_preferred_to_organization_and_graph_reference_resolved() -> None:
    html = page(ld({"@context": "https://schema.org", "@graph": [
        {"@type": "Article", "headline": "Bus routes",
         "author": [{"@id": "https://news.example.com/#/person/1"},
                    {"@type": "Organization", "name": "Daily Example Media"}]},
        {"@type": "Person", "@id": "https://news.example.com/#/person/1", "name": "Ravi Kumar"},
    ]}))
    assert extract_html(html, URL).authors == ["Ravi Kumar"]


def test_organization_author_only_as_last_resort() -> None:
    html = page(ld({"@type": "NewsArticle", "headline": "Bus routes",
                    "author": {"@type": "Organization", "name": "Example Transit Authority"}}))
    result = extract_html(html, URL)
    assert result.authors == ["Example Transit Authority"]
    assert result.provenance["authors"] == "publisher"


@pytest.mark.parametrize("brand", ["kicker", "dailyexample.be"])
def test_a_brand_credited_as_author_is_kept_as_written(brand: str) -> None:
    # A brand may be lower case or a domain: no person's name, still the publisher's
    # credit, whether stated as an Organization or as a Person named like the site.
    for author_type in ("Organization", "Person"):
        html = page(ld({"@type": "NewsArticle", "headline": "Bus routes",
                        "author": {"@type": author_type, "name": brand},
                        "publisher": {"@type": "Organization", "name": brand}}))
        result = extract_html(html, URL)
        assert (result.authors, result.provenance["authors"]) == ([brand], "publisher")
    # a lower-case account name that is not the site's stays out
    html = page(ld({"@type": "NewsArticle", "headline": "Bus routes",
                    "author": {"@type": "Person", "name": "kffnirmitap"}}))
    assert extract_html(html, URL).authors == []


def test_meta_author_cleaned_and_urls_and_placeholders_dropped() -> None:
    html = page(
        '<meta name="author" content="By Meera Nair and Tom Lee, MD">'
        '<meta property="article:author" content="https://facebook.com/meera">'
    )
    assert extract_html(html, URL).authors == ["Meera Nair", "Tom Lee"]
    assert clean_authors(["admin", "https://example.com/author/x", "@handle", "jdoe99"]) == []


@pytest.mark.parametrize("credit", ["Red", "Red.", "Amw"])
def test_initials_or_the_newsroom_s_abbreviation_in_the_layout_are_no_writer(credit: str) -> None:
    # ORF prints "Red." (Redaktion), kicker.de an editor's initials, where the author goes
    assert extract_html(page(body_top=f"<div class='author'>{credit}</div>"), URL).authors == []
    # a short name stated as such is still a name, and so is a one-word CJK byline
    assert clean_authors(["Wu"]) == ["Wu"]
    assert clean_authors(["牛镛"], strict=True) == ["牛镛"]


def test_visible_by_line_when_nothing_is_stated() -> None:
    html = page(body_top="<h1>Council approves bus routes</h1><p class='byline'>By Priya Shah</p>")
    result = extract_html(html, URL)
    assert result.authors == ["Priya Shah"]
    assert result.provenance["authors"] == "byline"


def test_an_author_class_in_the_menu_or_footer_names_no_writer() -> None:
    # trafilatura's rules take any class holding "author", a menu entry's too
    menu = ('<nav><ul><li class="menu-item governing-board-actions">Board Actions</li></ul>'
            '</nav>')
    footer = '<footer><p class="theme-author">Jane Webb</p></footer>'
    for extra in (menu, footer):
        html = page(body_top=f"{extra}<h1>Council approves bus routes</h1>")
        assert extract_html(html, URL).authors == []
    # the same element in the article is its writer
    html = page(body_top='<h1>Council approves bus routes</h1>'
                         '<p class="post-author">Priya Shah</p>')
    assert extract_html(html, URL).authors == ["Priya Shah"]


# --------------------------------------------------------------------------- dates


def test_published_time_meta_keeps_its_offset() -> None:
    html = page(
        '<meta property="article:published_time" content="2025-06-06T07:26:00+05:30">'
        '<meta property="article:modified_time" content="2025-06-07T10:00:00+05:30">'
    )
    result = extract_html(html, URL)
    assert result.published_at == "2025-06-06T07:26:00+05:30"
    assert result.provenance["published_at"] == "og"


def test_json_ld_date_published_in_utc() -> None:
    html = page(ld({"@type": "NewsArticle", "headline": "Bus routes",
                    "datePublished": "2025-03-01T18:30:00Z",
                    "dateModified": "2025-03-04T09:00:00Z"}))
    result = extract_html(html, URL)
    assert result.published_at == "2025-03-01T18:30:00+00:00"
    assert result.provenance["published_at"] == "json-ld"


def test_date_only_value_is_kept_at_midnight() -> None:
    html = page(ld({"@type": "BlogPosting", "headline": "Routes", "datePublished": "2024-11-05"}))
    assert extract_html(html, URL).published_at == "2024-11-05T00:00:00+00:00"


def test_time_tag_when_no_meta() -> None:
    html = page(body_top='<time datetime="2025-01-15T08:00:00-05:00">Jan 15</time>')
    result = extract_html(html, URL)
    assert result.published_at == "2025-01-15T08:00:00-05:00"
    assert result.provenance["published_at"] == "time-tag"


def test_visible_date_but_not_an_updated_one() -> None:
    html = page(body_top='<p class="post-date">Updated March 9, 2025</p>'
                '<span class="entry-date">Published: January 3, 2024</span>')
    result = extract_html(html, URL)
    assert result.published_at == "2024-01-03T00:00:00+00:00"
    assert result.provenance["published_at"] == "page-text"


def test_indian_site_states_local_time_without_zone() -> None:
    html = page('<meta property="article:published_time" content="2025-06-06 07:26">')
    result = extract_html(html, "https://news.example.in/story/1")
    assert result.published_at == "2025-06-06T07:26:00+05:30"


STALE_LD = ld({"@type": "BlogPosting", "headline": "Bus routes",
               "datePublished": "2025-06-24T10:00:00Z"})


def test_earlier_printed_date_beats_a_stale_stated_one() -> None:
    result = extract_html(page(STALE_LD, '<div class="post-date">August 25, 2024</div>'), URL)
    assert result.published_at == "2024-08-25T00:00:00+00:00"
    assert result.provenance["published_at"] == "page-text"


def test_printed_time_tag_gives_the_instant() -> None:
    top = ('<span class="posted-on"><time datetime="2024-08-25T09:30:00-04:00">'
           "August 25, 2024</time></span>")
    result = extract_html(page(STALE_LD, top), URL)
    assert result.published_at == "2024-08-25T09:30:00-04:00"
    assert result.provenance["published_at"] == "time-tag"


def test_a_classless_time_tag_is_a_printed_date() -> None:
    result = extract_html(page(STALE_LD, "<time>24 Apr 2000 • 3 min read</time>"), URL)
    assert result.published_at == "2000-04-24T00:00:00+00:00"


@pytest.mark.parametrize("body_top", [
    '<span class="date">March 9, 2026</span>',  # later: an update shown without a label
    '<span class="date">June 23, 2025</span>',  # a day off: the instant in local time
    '<ul><li><a href="/old"><span class="date">Jan 1, 2020</span> Old story</a></li></ul>',
    '<time datetime="2025-06-24">August 28, 2024</time>',  # contradicts its own stamp
])
def test_stated_date_stands_against_these_printed_ones(body_top: str) -> None:
    result = extract_html(page(STALE_LD, body_top), URL)
    assert result.published_at == "2025-06-24T10:00:00+00:00"
    assert result.provenance["published_at"] == "json-ld"


@pytest.mark.parametrize(("body_top", "published"), [
    ('<div class="meta"><div>Published</div><div>October 14, 2025</div></div>',
     "2025-10-14T00:00:00+00:00"),
    ("<p>Posted on March 3, 2024 by Jane Doe</p>", "2024-03-03T00:00:00+00:00"),
    ("<p>Posted on the statistics forum of the society on 2025-07-09:</p>", None),
])
def test_date_after_a_published_label(body_top: str, published: str | None) -> None:
    assert labelled_date(load_html(page(body_top=body_top)), UTC) == published


# --------------------------------------------------------------------------- the rest


def test_hindi_page() -> None:
    paragraphs = "".join(
        f"<p>नई दिल्ली में आज नगर परिषद की बैठक में बस के नए मार्गों को मंजूरी दी गई। "
        f"निवासियों ने कहा कि इससे पुराने शहर में यातायात कम होगा और समय बचेगा। ({i})</p>"
        for i in range(6)
    )
    html = f"""<html lang="hi"><head><meta charset="utf-8">
<meta property="og:title" content="नगर परिषद ने बस मार्गों को मंजूरी दी">
<meta name="description" content="बैठक में नए मार्ग तय हुए"></head>
<body><article><h1>नगर परिषद ने बस मार्गों को मंजूरी दी</h1>{paragraphs}</article></body></html>"""
    result = extract_html(html, "https://hindi.example.in/news/1")
    assert result.language == "hi"
    assert result.title == "नगर परिषद ने बस मार्गों को मंजूरी दी"
    assert "यातायात कम होगा" in result.text
    assert "\n\n" in result.text
    assert result.description == "बैठक में नए मार्ग तय हुए"


def test_wrong_declared_language_overridden_by_script() -> None:
    paragraphs = "".join(
        f"<p>नई दिल्ली में आज नगर परिषद की बैठक में बस के नए मार्गों को मंजूरी दी गई। "
        f"निवासियों ने कहा कि इससे पुराने शहर में यातायात कम होगा। ({i})</p>" for i in range(6)
    )
    html = f'<html lang="en"><body><article>{paragraphs}</article></body></html>'
    result = extract_html(html, "https://hindi.example.in/news/2")
    assert result.language == "hi"
    assert result.provenance["language"] == "langid"


def test_article_page_type_and_listing_page() -> None:
    article = page('<meta property="og:type" content="article">')
    listing = page('<meta property="og:type" content="website">')
    assert extract_html(article, URL).page_type == "article"
    assert extract_html(listing, URL).page_type == "website"
    graph = page(ld({"@graph": [{"@type": "WebPage"}, {"@type": "ReportageNewsArticle"}]}))
    assert extract_html(graph, URL).page_type == "article"


def test_canonical_url_made_absolute() -> None:
    html = page('<link rel="canonical" href="/city/council-vote-123">')
    result = extract_html(html, URL + "?utm_source=feed")
    assert result.canonical_url == "https://news.example.com/city/council-vote-123"


def test_broken_json_ld_is_skipped() -> None:
    html = page(
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
        + ld({"@type": "NewsArticle", "headline": "Bus routes approved",
              "datePublished": "2025-02-02T10:00:00+00:00"})
        + '<script type="application/ld+json">{"@type": "Thing",}</script>'
    )
    result = extract_html(html, URL)
    assert result.title == "Bus routes approved"
    assert result.published_at == "2025-02-02T10:00:00+00:00"
    assert "bus routes in the old town" in result.text


def test_extract_page_on_bytes_sets_extractor_and_paragraphs() -> None:
    body = page("<title>Bus routes</title>").encode("utf-8")
    result = extract_page(body, URL, {"content-type": "text/html; charset=utf-8"})
    assert result.extractor == EXTRACTOR
    assert result.text.count("\n\n") >= 4
    assert "Home" not in result.text.split("\n\n")[0]


def test_headline_repeated_as_first_paragraph_is_not_article_text() -> None:
    """The <h1> trafilatura keeps as the text's first block is the title, stored apart."""
    html = page("<title>Council approves bus routes</title>",
                "<h1>Council approves bus routes</h1>")
    tree = load_html(html)
    assert article_text(tree, URL).startswith("Council approves bus routes\n\n")
    result = extract_html(html, URL)
    assert result.title == "Council approves bus routes"
    assert result.text.startswith("Paragraph 1 of the story")


def test_links_and_copyright_at_the_edges_of_the_text_are_trimmed_inner_ones_kept() -> None:
    """A breadcrumb, a related-stories list or a copyright line trafilatura keeps at the
    start or end of the text is not article text; a list of links inside it may be the
    article's own, and a sentence about copyright inside it is article text."""
    tree = load_html(
        '<html><body><a href="/">Home</a> <a href="/city/">City news</a> <a href="/map">Map of '
        'the stops</a> <a href="/fares">Bus fares rise again</a> <p>text</p></body></html>')
    blocks = ["- Home", "- City news", "The council approved the routes.", "- Map of the stops",
              "The map is © the city, all rights reserved.", "Residents welcomed them.",
              "- Bus fares rise again", "Copyright © 2025 The Daily Example."]
    assert trim_edges(blocks, Page(tree)) == blocks[2:6]
    assert trim_edges(["- Home", "- City news"], Page(tree)) == ["- Home", "- City news"]


def test_teaser_lists_at_the_end_are_trimmed_with_their_headings() -> None:
    """A "more news" list whose links also print a label or a time is furniture, and so
    is the short heading over it; a short last line of the article stays."""
    tree = load_html(
        '<html><body><p>text</p><ul>'
        '<li><a href="/a"><span>BV&amp;Co</span>Singer announces a new tour</a></li>'
        '<li><a href="/b">BIO. The minister keeps her post<time>19:51</time></a></li>'
        '<li><a href="/c">Budget vote</a> 20/1/2026 05:10</li>'
        '</ul></body></html>')
    article = ["The council approved the routes.", "Residents welcomed them."]
    tail = ["Lees meer", "- Singer announces a new tour", "- BIO. The minister keeps her post",
            "- Budget vote 20/1/2026 05:10"]
    assert trim_edges(article + tail, Page(tree)) == article
    kept = [*article, "More to follow"]
    assert trim_edges(kept, Page(tree)) == kept


def test_blocks_at_the_edges_from_outside_the_article_s_container_are_dropped() -> None:
    """A newsletter box or an author card that trafilatura appends after the article,
    or a ticker line before it, comes from outside the element holding the article's
    text; the article's own last paragraph, inside it, stays, and so does a standfirst
    outside it (more than a line)."""
    article = [f"Paragraph {i} of the story tells readers about the council meeting and "
               f"the bus routes in the old town." for i in range(1, 9)]
    standfirst = ("The council voted on Tuesday night to approve six new bus routes through "
                  "the old town, after a year of consultation.")
    html = ("<html><body><div class='ticker'><p>Breaking: storm warning for the coast</p>"
            f"</div><main><header><p>{standfirst}</p></header><article>"
            + "".join(f"<p>{text}</p>" for text in article)
            + "<p>Thanks for reading.</p></article>"
            "<aside><h3>Join our newsletter</h3><p>Sign up for the morning briefing.</p>"
            "</aside></main></body></html>")
    tree = load_html(html)
    blocks = ["Breaking: storm warning for the coast", *article, "Thanks for reading.",
              "Join our newsletter", "Sign up for the morning briefing."]
    assert trim_outside(blocks, Page(tree)) == [*article, "Thanks for reading."]
    assert trim_outside([standfirst, *article], Page(tree)) == [standfirst, *article]
    assert "newsletter" not in article_text(load_html(html), URL)
    # a text whose blocks cannot be found on the page is left as it is
    assert trim_outside(["Not on the page.", "Nor this."], Page(tree)) == [
        "Not on the page.", "Nor this."]


def test_lines_of_an_element_s_own_text_are_found_on_the_page_too() -> None:
    """trafilatura splits a ``<div>``'s lines (``<br>``) and a ticker's ``<span>``s into
    blocks of their own, which no paragraph element holds: they are found by the text
    the element holds itself, so the story told in such lines is the container and
    what is outside it at the edges goes."""
    lines = [f"Line {i} of the story tells readers about the council meeting and the "
             f"bus routes in the old town." for i in range(1, 9)]
    html = ("<html><body><div class='ticker'><span>NEWSTICKER</span><span>20/1/2026 18:30"
            "</span></div><div class='story'>" + "<br>".join(lines) + "</div><aside><p>"
            "Sign up for the morning briefing.</p></aside></body></html>")
    blocks = ["NEWSTICKER", "20/1/2026 18:30", *lines, "Sign up for the morning briefing."]
    assert trim_outside(blocks, Page(load_html(html))) == lines


def test_teasers_of_the_outlet_s_own_pages_after_a_short_article_are_not_its_text() -> None:
    """A short article followed by a longer list of teasers ("Read this next": titles
    linking to the outlet's own pages, a summary, a date) holds too little of the text
    for the container to be its element; the article ends where its main element's
    paragraphs end. The same layout linking to other sites (an article's own list of
    podcasts, each in its own block) is the article's text."""
    url = "https://travel.example.com/2025/rental-cars/"
    article = [f"Paragraph {i} of the report ranks the rental car companies by how "
               f"satisfied their customers were this year." for i in range(1, 4)]

    def page(link: str) -> tuple[str, list[str]]:
        cards, blocks = [], []
        for i in range(1, 7):
            title = f"Story number {i} about somewhere else"
            summary = f"A summary of story {i}, about a trip to a place far from here."
            cards.append(f"<div class='card'><h3><a href='{link}{i}'>{title}</a></h3>"
                         f"<p>{summary}</p><span class='date'>Dec {i}, 2025</span></div>")
            blocks += [title, summary, f"Dec {i}, 2025"]
        html = ("<html><body><div class='page'><div class='post'>"
                + "".join(f"<p>{text}</p>" for text in article)
                + "</div><h3>Read This Next</h3>" + "".join(cards) + "</div></body></html>")
        return html, ["Read This Next", *blocks]

    html, teasers = page("/2025/story-")
    assert trim_outside([*article, *teasers], Page(load_html(html), url)) == article
    html, entries = page("https://podcast.example.org/show-")
    assert trim_outside([*article, *entries], Page(load_html(html), url)) == [
        *article, *entries]


def test_an_article_s_sections_linked_from_its_table_of_contents_stay() -> None:
    """Section headings that a table of contents links to are links to places on the
    page itself, not teasers of the outlet's other pages: the sections after the
    introduction stay, each in its own element."""
    url = "https://guide.example.com/remodel-costs/"
    intro = [f"Intro paragraph {i} says what a remodel costs and why the budget matters "
             f"so much here." for i in range(1, 5)]
    sections, html = [], ""
    for i in range(1, 6):
        heading, text = f"Section {i} heading", f"Section {i} explains one cost in a few words."
        sections += [heading, text]
        html += f"<div class='section'><h2 id='s{i}'>{heading}</h2><p>{text}</p></div>"
    toc = "".join(f"<li><a href='{href}#s{i}'>Section {i} heading</a></li>"
                  for i, href in zip(range(1, 6), ["", url, "", "/remodel-costs/", ""],
                                     strict=True))
    html = (f"<html><body><nav><ul>{toc}</ul></nav><div class='post'><div class='intro'>"
            + "".join(f"<p>{text}</p>" for text in intro) + f"</div>{html}</div></body></html>")
    blocks = [*intro, *sections]
    assert trim_outside(blocks, Page(load_html(html), url)) == blocks


def test_a_second_copy_of_the_article_s_paragraphs_is_dropped() -> None:
    """A page that prints its article twice (a desktop and a mobile layout) gives the
    text twice; the second copy goes. A paragraph repeated on its own (a pull quote)
    and repeated short blocks (list items, table rows) are the article's."""
    paragraphs = [f"Paragraph {i} explains what a home remodel costs in California and "
                  f"why labour is most of the budget there." for i in range(1, 5)]
    twice = [*paragraphs, "Share this article", *paragraphs[:2], "- Costs:", *paragraphs[2:],
             "Related posts"]
    assert without_second_copy(twice) == [*paragraphs, "Share this article", "Related posts"]
    quote = [*paragraphs[:3], paragraphs[1], "- Deck: maple", "- Range: 40 km",
             "- Deck: maple", "- Range: 40 km", paragraphs[3]]
    assert without_second_copy(quote) == quote


def test_the_page_s_paragraphs_replace_a_fragment_only_when_they_extend_it() -> None:
    """When trafilatura returns a fragment of the article, the page's paragraphs take
    its place if they say what the fragment says and much more, in ``<p>`` elements;
    not another text of the page, and not a listing's cards."""
    story = [f"Paragraph {i} of the guide explains how much to tip at a restaurant, a "
             f"bar or a coffee shop, and why." for i in range(1, 7)]
    cards = [f"Card {i}: a project you can make at home this weekend with wood and glue."
             for i in range(1, 7)]
    html = ("<html><body><div class='guide'>" + "".join(f"<p>{t}</p>" for t in story)
            + "</div><div class='listing'>" + "".join(f"<article><span>{t}</span></article>"
                                                      for t in cards)
            + "</div></body></html>")
    page = Page(load_html(html), "https://guide.example.com/tipping/")
    fragment = story[:2]
    assert holds_more(story, fragment, page)
    assert not holds_more(story[:3], fragment, page)  # not much longer
    assert not holds_more(story[2:], fragment, page)  # does not hold the fragment
    assert not holds_more(cards, [], page)  # a listing's cards, not paragraphs
    assert holds_more(story, [], page)  # nothing found: the paragraphs are the article


def test_a_fragment_is_completed_from_the_article_s_own_paragraphs() -> None:
    """trafilatura returns the first two paragraphs of an article whose rest sits in an
    element it takes for a widget: the article's text is all its paragraphs. Reader
    comments beside the article, or in a comment section inside its element, are
    paragraphs of the page too, and stay out."""
    url = "https://guide.example.com/tipping/"
    story = [f"Paragraph {i} of the guide explains how much to tip at a restaurant, a bar "
             f"or a coffee shop, and why it matters to the staff who serve you."
             for i in range(1, 9)]
    paragraphs = "".join(f"<p>{text}</p>" for text in story[2:])
    html = (f"<html><body><div class='post'><p>{story[0]}</p><p>{story[1]}</p>"
            f"<div class='widget'>{paragraphs}</div></div></body></html>")
    fragment = trafilatura.extract(html, url=url, favor_recall=True) or ""
    assert len(fragment) < len("".join(story)) / 3  # what trafilatura finds
    assert article_text(load_html(html), url).split("\n\n") == story
    comments = "".join(f"<div class='comment'><p>Comment {i}: the buses should run later "
                       f"at night for the people who work late shifts.</p></div>"
                       for i in range(1, 16))
    html = (f"<html><body><div class='post'><p>{story[0]}</p><p>{story[1]}</p></div>"
            f"<div id='comments'>{comments}</div></body></html>")
    assert article_text(load_html(html), url).split("\n\n") == story[:2]
    html = (f"<html><body><div class='post'><p>{story[0]}</p><p>{story[1]}</p>"
            f"<div class='comment-list'>{comments}</div></div></body></html>")
    assert article_text(load_html(html), url).split("\n\n") == story[:2]


def test_the_writer_s_bio_under_the_article_is_not_article_text() -> None:
    story = [f"Paragraph {i} of the story about the council's bus routes." for i in range(6)]
    bio = "Cassidy Horton is a finance writer who covers city budgets."
    after = "Read more posts by Cassidy Horton"
    assert without_writer_bio([*story, bio, after], ["Cassidy Horton"]) == story
    first_name = "Cassidy has covered the council since 2015."
    assert without_writer_bio([*story, first_name], ["Cassidy Horton"]) == story
    german = "Anne-Marie Slaughter (*1958) war Direktorin für politische Planung."
    assert without_writer_bio([*story, german], ["Anne-Marie Slaughter"]) == story
    # high in the article, a company's one-word credit, or another name: article text
    kept = [bio, *story]
    assert without_writer_bio(kept, ["Cassidy Horton"]) == kept
    kept = [*story, "Budlong is dedicated to plumbing engineering."]
    assert without_writer_bio(kept, ["Budlong"]) == kept
    assert without_writer_bio([*story, bio], ["Jane Doe"]) == [*story, bio]
    # the whole extraction: the byline names the writer, the bio under the story goes
    html = page(body_top="<p class='byline'>By Cassidy Horton</p>").replace(
        "</article>", f"<p>{bio}</p></article>")
    result = extract_html(html, URL)
    assert result.authors == ["Cassidy Horton"] and "finance writer" not in result.text


# --------------------------------------------------------------------------- real pages


def test_corpus_quality_not_below_trafilatura(wcxb_corpus: Path) -> None:
    """On 20 real pages: text F1 at least trafilatura's, headlines strictly better."""
    from benchmarks.score_extraction import (
        headline_exact,
        load_pages,
        run_ours,
        run_trafilatura,
        text_precision_recall,
    )

    pages = [p for p in load_pages(wcxb_corpus, 21) if p.main_content is not None][:20]
    scores = {}
    for name, run in (("trafilatura", run_trafilatura), ("ours", run_ours)):
        outputs = [run(p) for p in pages]
        pairs = list(zip(outputs, pages, strict=True))
        pr = [text_precision_recall(o.text, p.main_content) for o, p in pairs]
        precision = statistics.fmean(x for x, _ in pr)
        recall = statistics.fmean(y for _, y in pr)
        scores[name] = (
            2 * precision * recall / (precision + recall),
            sum(headline_exact(o.title, p.title) for o, p in pairs),
        )
    assert scores["ours"][0] >= scores["trafilatura"][0]
    assert scores["ours"][1] > scores["trafilatura"][1]


def test_scorer_reads_the_fundus_layout_and_groups_pages_by_language(tmp_path: Path) -> None:
    """benchmarks/score_extraction.py: Fundus records (authors list, body_text, html
    path) load as pages, grouped by <html lang>, else by the ground truth's language."""
    import gzip

    from benchmarks.score_extraction import load_pages

    (tmp_path / "ground-truth").mkdir()
    (tmp_path / "html").mkdir()
    bodies = {"de__A": page(html_attrs='lang="de-DE"'), "jp__B": page(html_attrs="")}
    for name, html in bodies.items():
        (tmp_path / "html" / f"{name}.html.gz").write_bytes(gzip.compress(html.encode()))
        (tmp_path / "ground-truth" / f"{name}.json").write_text(json.dumps({
            "url": URL, "html": f"html/{name}.html.gz", "title": "T", "authors": ["A B", "C D"],
            "publishing_date": "2024-01-02 03:04:05+00:00",
            "body_text": "日本語の記事の本文です。東京で会議が開かれました。" * 5,
        }), encoding="utf-8")
    german, japanese = load_pages(tmp_path)
    assert (german.group, japanese.group) == ("Other Latin-script European", "CJK")
    assert german.author == "A B, C D" and german.date.startswith("2024-01-02")
    assert german.main_content.startswith("日本語") and german.with_snippets == []


def test_scorer_s_headline_grades() -> None:
    """benchmarks/score_extraction.py: exact ignores only case and spacing; close also
    quote style and punctuation; loose also a changed word."""
    from benchmarks.score_extraction import headline_close, headline_exact, headline_loose

    truth = "We've Compiled the Top 7 Blockchain SEO Agencies"
    assert headline_exact("we've compiled the top 7  blockchain SEO agencies", truth)
    curly = "We’ve Compiled the Top 7 Blockchain SEO Agencies"
    assert not headline_exact(curly, truth) and headline_close(curly, truth)
    reworded = "We've Compiled the Top 7 Blockchain SEO Firms"
    assert not headline_close(reworded, truth) and headline_loose(reworded, truth)
    assert not headline_loose("Open Menu Close Menu", truth)


def test_htmldates_last_resort_reads_dates_in_the_archive_languages() -> None:
    """htmldate's dateparser is limited to the archive's languages (not ~200 locales),
    and still reads a date written out in Hindi or German."""
    parser = htmldate.extractors.get_external_parser()
    assert sorted(parser.languages) == sorted(DEFAULT_LANGUAGES)
    assert parser.get_date_data("3 मार्च 2024").date_obj == datetime(2024, 3, 3)
    assert parser.get_date_data("14. März 2023").date_obj == datetime(2023, 3, 14)


def test_a_page_that_lies_about_its_charset_is_refused_and_an_honest_one_decoded() -> None:
    latin = "<html><body><p>Un café crème, {}</p></body></html>".format(
        "long enough to be an article. " * 20).encode("cp1252")
    url = "https://daily.example/cafe"
    with pytest.raises(ExtractionError) as refused:
        extract_page(latin, url, {"content-type": "text/html; charset=UTF-8"})
    assert refused.value.reason == "bad-charset"
    assert url in refused.value.detail and "byte 0xe9" in refused.value.detail
    meta = latin.replace(b"<html>", b'<html><head><meta charset="utf-8"></head>')
    with pytest.raises(ExtractionError, match="bad-charset"):
        extract_page(meta, url, {"content-type": "text/html"})
    honest = extract_page(latin, url, {"content-type": "text/html; charset=windows-1252"})
    assert "Un café crème" in honest.text
    hindi = "<html><body><p>रूस को मिला साथ। {}</p></body></html>".format(
        "यह एक लंबी खबर है। " * 20).encode()
    assert "रूस को मिला साथ" in extract_page(hindi, url, {"content-type": "text/html"}).text


RUSSIAN = "Президент заявил, что экономика страны растёт быстрее, чем ожидали аналитики. "
HINDI = "रूस और उत्तर कोरिया के बीच रक्षा समझौते पर दुनिया भर में चर्चा हो रही है। "


def legacy_page(text: str, declared: str) -> str:
    return (f'<html><head><meta charset="{declared}"><title>Story</title></head><body>'
            f"<article><p>{text * 12}</p><p>{text * 10}</p></article></body></html>")


@pytest.mark.parametrize(("text", "encoding", "declared", "header"), [
    (HINDI, "utf-8", "windows-1251", "text/html; charset=windows-1251"),  # the case
    (RUSSIAN, "utf-8", "windows-1251", "text/html"),  # only <meta> lies
    (RUSSIAN, "cp1251", "iso-8859-1", "text/html; charset=iso-8859-1"),  # wrong legacy one
], ids=["hindi-utf8-as-cp1251", "russian-utf8-meta-cp1251", "russian-cp1251-as-latin1"])
def test_a_page_whose_bytes_are_another_charset_than_declared_is_stored_right(
    text: str, encoding: str, declared: str, header: str
) -> None:
    body = legacy_page(text, declared).encode(encoding)
    result = extract_page(body, "https://daily.example/story", {"content-type": header})
    assert text.strip()[:40] in result.text
    real = "utf-8" if encoding == "utf-8" else encoding
    assert result.provenance["charset"].startswith(f"{real} (declared ")


@pytest.mark.parametrize(("text", "encoding"), [
    (RUSSIAN, "windows-1251"),
    ("Le président a déclaré que l'économie était en pleine croissance à Paris. ",
     "windows-1252"),
], ids=["russian-cp1251", "french-cp1252"])
def test_an_honest_legacy_charset_is_kept(text: str, encoding: str) -> None:
    body = legacy_page(text, encoding).encode(encoding)
    result = extract_page(body, "https://daily.example/story", {"content-type": "text/html"})
    assert text.strip()[:40] in result.text
    assert "charset" not in result.provenance


def test_control_characters_never_reach_the_archive() -> None:
    """lxml drops raw control bytes from the HTML, but JSON-LD strings carry them as
    escapes (``\\u001b``): a headline with terminal colour codes, a byline with a bell."""
    data = ('{"@type": "NewsArticle", "headline": "\\u001b[1mCouncil votes\\u001b[0m budget",'
            ' "author": {"@type": "Person", "name": "Jane\\u0007 Doe"},'
            ' "description": "Buses\\u0000 and\\u000b routes"}')
    html = page(f'<script type="application/ld+json">{data}</script>').encode()
    result = extract_page(html, "https://daily.example/story", {"content-type": "text/html"})
    assert result.title == "Council votes budget"
    assert result.authors == ["Jane Doe"]
    assert result.description is not None and "Buses" in result.description
    for value in (result.text, result.title, result.description, *result.authors):
        assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F
                       for c in value)


# --------------------------------------------------------------------------- bylines


@pytest.mark.parametrize(("author", "agency"), [
    ("PTI", "PTI"), ("RT News", "RT News"), ("Web Desk", None), ("Agencies", "Agencies"),
    ("dpa", "DPA"),  # lower case: no name, still the wire's credit
])
def test_agency_feed_or_desk_credit_is_no_author(author: str, agency: str | None) -> None:
    """A stated credit that names no person stops the search: no layout guess either."""
    html = page(ld({"@type": "NewsArticle", "headline": "Bus routes", "author": author}),
                body_top="<div class='author-box'><p>Priya Shah</p></div>")
    result = extract_html(html, URL)
    assert result.authors == []
    assert result.agency == agency
    assert "authors" not in result.provenance


def test_the_outlet_s_own_newsroom_is_no_wire_agency() -> None:
    html = page('<meta property="og:site_name" content="Clemson News">'
                + ld({"@type": "NewsArticle", "headline": "Bus routes", "author": "Clemson News"}))
    result = extract_html(html, URL)
    assert result.authors == []
    assert result.agency is None


@pytest.mark.parametrize(("body_top", "authors"), [
    # a bare label, the name in the next element, a bio after it
    ("<div><h4>Written by</h4><div>Jane Doe</div><p>Jane Doe has covered city hall for a "
     "decade and writes about transport, housing and the budget of the old town.</p></div>",
     ["Jane Doe"]),
    ("<p>Von <a href='/autor/as'>Anna Schmidt</a></p>", ["Anna Schmidt"]),
    ("<p>Par Jean Dupont</p>", ["Jean Dupont"]),
    ("<p class='meta'>राम कुमार द्वारा | अपडेटेड: 19 जून 2024</p>", ["राम कुमार"]),
    ("<div>Author</div><p>Lisa D. Ellis</p>", ["Lisa D. Ellis"]),
    ("<p>by: Ziyi Xu, Dec 17, 2025</p>", ["Ziyi Xu"]),
    ("<div>By <a>Chris Doe</a> ⋅ Founder and Editor ⋅ Updated May 6, 2025</div>",
     ["Chris Doe"]),
    ("<p>Von Montag an gilt die neue Regel für alle Busse</p>", []),
    # a name with its credentials, after an "Article written by" label
    ("<div><h2>Article written by:</h2><h3>Doris Munoz-Mantilla, MD, FOMA, DABOM</h3></div>",
     ["Doris Munoz-Mantilla"]),
    ("<p>By Jane Doe, MD, FACP</p>", ["Jane Doe"]),
])
def test_visible_byline_shapes(body_top: str, authors: list[str]) -> None:
    assert extract_html(page(body_top=body_top), URL).authors == authors


def test_author_element_after_a_label_that_is_no_name() -> None:
    """trafilatura's first author element is a "View more posts" link; the next is the
    byline."""
    html = page(body_top="<div class='author-link'><a>View more posts</a></div>"
                         "<span class='author vcard'><a class='url fn n'>Damien Walter</a></span>")
    result = extract_html(html, URL)
    assert result.authors == ["Damien Walter"]
    assert result.provenance["authors"] == "trafilatura"


def test_signature_closing_the_article_beats_the_site_name() -> None:
    html = page(ld({"@type": "NewsArticle", "headline": "Bus routes",
                    "author": {"@type": "Organization", "name": "Daily Example"}}),
                body_top="").replace("</article>", "<p><strong>Lê Phương</strong></p></article>")
    result = extract_html(html, URL)
    assert result.authors == ["Lê Phương"]
    assert result.provenance["authors"] == "closing-line"


# --------------------------------------------------------------------------- headline shapes


def test_h1_kicker_styled_apart_takes_the_stated_punctuation() -> None:
    html = page('<meta property="og:title" content="Ahrtal flood: Two resign - many questions">',
                body_top="<h1><span>Ahrtal flood</span><span>Two resign - many questions</span>"
                         "</h1>")
    assert extract_html(html, URL).title == "Ahrtal flood: Two resign - many questions"


def test_kicker_printed_over_the_h1_belongs_to_the_headline() -> None:
    stated = "Nach Gaetz-Rückzug: Trump-Anwältin soll Justizministerin werden"
    html = page(f'<meta property="og:title" content="{stated}">',
                body_top="<div class='keyword'>Nach Gaetz-Rückzug</div>"
                         "<h1>Trump-Anwältin soll Justizministerin werden</h1>")
    assert extract_html(html, URL).title == stated
    # the site's name before the colon is no kicker
    html = page('<meta property="og:title" content="Daily Example: Council approves bus routes">',
                body_top="<h1>Council approves bus routes</h1>")
    assert extract_html(html, URL).title == "Council approves bus routes"


def test_h1_pieces_join_without_space_before_closing_punctuation() -> None:
    html = page(body_top="<h1><span>Buses are back</span><span>:</span> council relents</h1>")
    assert extract_html(html, URL).title == "Buses are back: council relents"


def test_h1_quote_style_is_kept_over_a_stated_variant() -> None:
    html = page('<meta property="og:title" content="Council\'s bus routes approved">',
                body_top="<h1>Council’s bus routes approved</h1>")
    assert extract_html(html, URL).title == "Council’s bus routes approved"


def test_a_script_s_date_is_no_publication_date() -> None:
    # a bundle's build stamp, where the page states no date: htmldate does not see it
    script = ('<script>window.__APP__ = {"buildTime": "2023-07-28T02:14:58Z", '
              '"release": "2023-07-28"};</script>')
    assert extract_html(page(script), URL).published_at is None
    # htmldate still reads the page's own text
    printed = "<p class='note'>Ran in print on 12 March 2024 in the city edition.</p>"
    assert extract_html(page(script, body_top=printed), URL).published_at == (
        "2024-03-12T00:00:00+00:00")


@pytest.mark.parametrize("guessed", [
    # a link to another site's story of 24 April 2013
    '<p>Read <a href="https://other.example.org/2013/04/24/coffee-history">its story</a>.</p>',
    # a rating htmldate reads as 3 May 2010
    "<ul><li>Soft to medium (3-5/10 firmness)</li><li>Medium-firm (6-7/10)</li></ul>",
])
def test_a_date_htmldate_only_guesses_is_no_publication_date(guessed: str) -> None:
    def undated(body_top: str) -> str:  # no copyright year, htmldate's first guess
        return page(body_top=body_top).replace("© 2025 ", "")

    # htmldate's extensive search finds these; the page neither prints them as dates
    # nor states them in its markup or its address
    assert extract_html(undated(guessed), URL).published_at is None
    # a date the page prints is still found
    printed = f"{guessed}<p class='note'>Last changed on May 3, 2010 by the city desk.</p>"
    assert extract_html(undated(printed), URL).published_at == "2010-05-03T00:00:00+00:00"
    # and so is one its address states
    dated_url = "https://news.example.com/2010/05/03/council-vote-123"
    assert extract_html(undated(guessed), dated_url).published_at == "2010-05-03T00:00:00+00:00"


def test_hindi_updated_date_is_not_the_publication_date() -> None:
    html = page(body_top='<p class="date">अपडेटेड: 20 जून 2024</p>'
                         '<span class="publish-date">प्रकाशित: 19 जून 2024</span>',
                html_attrs='lang="hi"')
    result = extract_html(html, "https://hindi.example.in/news/1")
    assert result.published_at == "2024-06-19T00:00:00+05:30"


@pytest.mark.parametrize(("body_top", "published"), [
    ("<h5>January 23, 2025 8:15 PM</h5><h1>Council approves bus routes</h1>",
     "2025-01-23T20:15:00+05:30"),
    ("<h1>नगर परिषद ने बस मार्गों को मंजूरी दी</h1><p>19 जून 2024, 10:30 AM</p>",
     "2024-06-19T10:30:00+05:30"),
    ("<h1>Council approves bus routes</h1><p>अपडेटेड: 20 जून 2024</p>", None),
])
def test_date_line_beside_the_headline(body_top: str, published: str | None) -> None:
    result = extract_html(page(body_top=body_top), "https://hindi.example.in/news/1")
    assert result.published_at == published
    assert result.provenance.get("published_at") == ("page-text" if published else None)



# --------------------------------------------------------------------------- bylines without "By"


@pytest.mark.parametrize(("body_top", "authors", "source"), [
    # a link to the writer's profile page, its path the name as a slug
    ("<div><img alt=''><a href='/blog/authors/trevor-jackins'>Trevor Jackins</a></div>",
     ["Trevor Jackins"], "profile-link"),
    ("<p><a href='https://news.example.com/author/celik-nimani-42/'>Çelik Nimani</a></p>",
     ["Çelik Nimani"], "profile-link"),
    # a date line under the headline, the name beside the date
    ("<h1>Mission accomplished for the pilot</h1><div><span>2025-12-17</span><span>·</span>"
     "<a title='Trond Teigen'><img alt='Trond Teigen'><div>Trond Teigen</div></a></div>",
     ["Trond Teigen"], "headline-line"),
    # the link to the writer's other pieces
    ("<div><button><span>All articles by Elliot Raba</span></button></div>",
     ["Elliot Raba"], "more-by-label"),
    # an author box whose name carries a job title
    ("<div class='elementor-author-box'><h4>Lance Ryan (Content Manager)</h4><p>Lance has "
     "tested mattresses, pillows and bed frames for ten years and writes our buying guides."
     "</p></div>",
     ["Lance Ryan"], "author-box"),
    # an author box that is one dated line, the writer signing for a team
    ("<div class='publish-date-author'>Dec. 19, 2025 &middot; Niko Matsakis on behalf of "
     "<a href='/governance/teams/launching-pad'>Launching Pad team</a></div>",
     ["Niko Matsakis"], "author-box"),
])
def test_byline_without_a_by_label(body_top: str, authors: list[str], source: str) -> None:
    result = extract_html(page(body_top=body_top), URL)
    assert result.authors == authors
    assert result.provenance["authors"] == source


@pytest.mark.parametrize("body_top", [
    "<p><a href='/authors/trevor-jackins'>Read more</a></p>",  # the slug is not the text
    "<p><a href='/blog/trevor-jackins'>Trevor Jackins</a></p>",  # no profile path
    "<h1>Council approves bus routes</h1><p>Dec 17, 2025 · 5 min read</p>",  # no name
    "<p><a href='/posts'>View all posts by category</a></p>",
])
def test_no_byline_from_links_and_lines_that_name_no_writer(body_top: str) -> None:
    assert extract_html(page(body_top=body_top), URL).authors == []


def test_profile_link_in_the_site_footer_is_no_byline() -> None:
    html = page().replace("<p>©", "<p><a href='/team/jane-doe'>Jane Doe</a> ©")
    assert extract_html(html, URL).authors == []


def test_article_s_own_fact_box_is_read_but_the_site_sidebar_is_not() -> None:
    box = "<aside><h3>Author</h3><p>Lisa D. Ellis</p></aside>"
    assert extract_html(page(body_top=box), URL).authors == ["Lisa D. Ellis"]
    sidebar = page().replace("<footer>", f"{box}<footer>")
    assert extract_html(sidebar, URL).authors == []


def test_navigation_bar_left_open_around_the_article_does_not_hide_the_byline() -> None:
    """An unclosed tag in the menu makes the parser nest the article in the <nav>."""
    html = page(body_top="<h1>Council approves bus routes</h1>"
                         "<div><span>by </span><p><a>Shannon Grilli</a></p></div>")
    html = html.replace("</nav>", "").replace("</article>", "</article></nav>")
    assert extract_html(html, URL).authors == ["Shannon Grilli"]


# --------------------------------------------------------------------------- headline labels


def test_h1_that_shares_no_word_with_the_stated_headline_is_a_section_label() -> None:
    html = page('<meta property="og:title" content="Actuary\'s Industry Choice | Smith Hanley">'
                '<meta property="og:site_name" content="Smith Hanley">',
                body_top="<h1>Our BLOG</h1>")
    result = extract_html(html, URL)
    assert result.title == "Actuary's Industry Choice"
    assert result.provenance["title"] == "og"


def test_h1_reworded_by_the_seo_title_stays_the_headline() -> None:
    html = page('<meta property="og:title" content="Bus routes: what changes in 2025">',
                body_top="<h1>Council approves new bus routes</h1>")
    assert extract_html(html, URL).title == "Council approves new bus routes"


def test_page_object_with_the_article_s_headline_and_author_describes_the_article() -> None:
    # Beehiiv states its posts as a WebPage: its author is the writer, not the site.
    html = page(ld({"@type": "WebPage", "headline": "Signal #18",
                    "datePublished": "2025-12-19T14:00:18Z",
                    "author": {"@type": "Person", "name": "Çelik Nimani"},
                    "publisher": {"@type": "Organization", "name": "Digjitale"}}))
    result = extract_html(html, URL)
    assert result.authors == ["Çelik Nimani"]
    assert result.page_type == "article"
    # a plain WebPage (a section front) is no article
    front = extract_html(page(ld({"@type": "WebPage", "name": "City news"})), URL)
    assert front.page_type == "webpage"


@pytest.mark.parametrize(("body_top", "authors", "source"), [
    # the stated writer appears nowhere on the page: the printed byline is the writer
    ("<p class='byline'>By: Paul Fenaroli</p>", ["Paul Fenaroli"], "byline"),
    # the stated writer is printed too, as a writer: kept
    ("<p class='byline'>By: Paul Fenaroli</p><p>Luke Daigle contributed reporting.</p>",
     ["Luke Daigle"], "json-ld"),
    # printed only as the editor: the stated author is the editor, not the writer
    ("<p class='byline'>By: Paul Fenaroli</p><p>Edited by Luke Daigle</p>",
     ["Paul Fenaroli"], "byline"),
    # a byline without "By", in an author box, against the editor stated as author
    ("<div class='author-name'>Paul Fenaroli</div><p>Editor : Luke Daigle</p>",
     ["Paul Fenaroli"], "byline"),
])
def test_a_stated_author_the_page_never_prints_gives_way_to_its_byline(
        body_top: str, authors: list[str], source: str) -> None:
    html = page(ld({"@type": "Article", "headline": "Council approves bus routes",
                    "author": {"@type": "Person", "name": "Luke Daigle"}}), body_top=body_top)
    result = extract_html(html, URL)
    assert (result.authors, result.provenance["authors"]) == (authors, source)


def test_author_bio_with_its_headshot_names_the_writer() -> None:
    bio = ("<div class='callout'><img alt='Alban Brooke' src='/a.jpg'><h3>Alban Brooke</h3>"
           "<p>Alban Brooke is the Head of Marketing at Buzzsprout and has produced podcasts "
           "for ten years.</p></div>")
    result = extract_html(page(body_top=BODY + bio), URL)
    assert (result.authors, result.provenance["authors"]) == (["Alban Brooke"], "author-bio")
    # a sentence about someone in the story, even with their photo, names no writer
    about = ("<figure><img alt='Maria Lopez' src='/m.jpg'></figure><p>Maria Lopez is the "
             "council's transport chief and proposed the routes.</p>")
    assert extract_html(page(body_top=about), URL).authors == []
