"""Article text and metadata of an HTML page: trafilatura for the text, the page's own
structured statements (JSON-LD, meta tags, <h1>, <time>) for the metadata.

The page is parsed once; metadata is read from that tree and trafilatura extracts the
text from it too. trafilatura's own metadata pass is skipped (it re-reads the same tags
and runs htmldate on every page): htmldate and trafilatura's author heuristics only run
when the page states no date or author.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, tzinfo
from urllib.parse import urlsplit

import htmldate.extractors
import regex
import trafilatura
from dateparser import DateDataParser
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from trafilatura.utils import HTML_PARSER, load_html

from pipelines.extraction import Extracted, ExtractionError, bylines
from pipelines.extraction import metadata as md
from pipelines.extraction.body import article_text
from pipelines.extraction.dates import IST, UPDATED_LABEL, parse_date
from pipelines.extraction.language import DEFAULT_LANGUAGES, detect_language
from pipelines.extraction.trafilatura_author import author_guesses

EXTRACTOR = f"trafilatura/{trafilatura.__version__}+html/2"
LATIN_SCRIPT_LANGUAGES = frozenset({"en", "fr", "de", "es", "it", "pt", "nl", "id", "ms", "sw"})
INDIAN_LANGUAGES = frozenset({"hi", "ur", "bn", "pa", "gu", "mr", "ta", "te", "kn", "ml", "or"})
# trafilatura's author elements (and author boxes) tried, in page order: the first is
# often a label ("View more posts") with the author's name next.
AUTHOR_GUESSES = 3
_NOT_LETTER = regex.compile(r"\P{L}+")  # what str.isalpha() refuses, found in C
_NOT_LATIN = regex.compile(r"[^\x00-\u024F]+")  # beyond Latin Extended-B
_BYLINE_START = regex.compile(  # "By ...", or "राम कुमार द्वारा" (the name first)
    rf"^{bylines.BYLINE_LABEL}(?![\p{{L}}\p{{M}}])|^[^|]{{2,40}}\sद्वारा(?![\p{{L}}\p{{M}}])",
    regex.I,
)
# A label alone ("Written by", "Von", "Author:"): the name is in the next element.
_BARE_LABEL = regex.compile(rf"^{bylines.BYLINE_LABEL}\s*[:：]?$", regex.I)
_BYLINE_TAGS = ("p", "span", "div", "a", "li", "address", "small", "strong", "em",
                "h2", "h3", "h4", "h5", "h6", "td", "header")  # h2/h3: author-box titles
_AUTHOR_CLASS = re.compile(r"author(?!ity)|byline", re.I)
_NAME_TAGS = ("h2", "h3", "h4", "h5", "strong", "b", "a", "span", "p", "div")
_DATE_TAGS = ("time", "span", "div", "p", "li", "small", "abbr")
_DATE_CLASS = re.compile(r"date|publish|posted|time", re.I)
_MODIFIED_CLASS = re.compile(r"updated|modified", re.I)  # WordPress <time class="updated">


def _plain_element_classes() -> None:
    """Parse pages into plain ``HtmlElement`` nodes, without lxml.html's class lookup.

    lxml.html picks each element's class (form, input, label...) in a Python callback
    that runs every time Python touches an element it has not touched yet: trafilatura
    touches most of the tree several times, and the callback cost 10% of extraction
    time. Neither trafilatura nor this project uses those classes (the extracted text
    is the same on every page of the WCXB corpus: docs/extraction-quality.md).
    trafilatura parses with this one module-level parser; so does ``load_html`` here.
    """
    HTML_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction,
        entity=HtmlEntity,
    ))


_plain_element_classes()


def _outside_article(elem: HtmlElement) -> bool:
    """In a footer, sidebar, menu or comment thread, where a "By ..." is not the byline."""
    for parent in elem.iterancestors():
        if parent.tag in ("footer", "nav", "aside"):
            return True
        marks = f"{parent.get('class', '')} {parent.get('id', '')}".lower()
        if "comment" in marks or "related" in marks:
            return True
    return False


def _byline_lines(elem: HtmlElement, head: str) -> Iterator[str]:
    """The lines a byline that starts in elem may print: the element's own text, and
    for a bare label ("Written by", "Author:") the label with its parent's text or
    with the next element's (<span>By</span> <a>Jane Doe</a>; <h4>Written by</h4>
    <div>Jane Doe</div><p>Jane writes about...</p>)."""
    yield md.element_text(elem)
    if not _BARE_LABEL.match(head):
        return
    if (parent := elem.getparent()) is not None:
        yield md.element_text(parent)
    if (following := elem.getnext()) is not None:
        yield f"{head} {md.element_text(following)}"


def visible_byline(tree: HtmlElement) -> list[str]:
    """Names in the first "By Jane Doe" line of the page (bylines.parse_byline), in
    the archive's languages ("Von", "Par", "द्वारा"...); agencies and desks are no
    names."""
    for elem in tree.iter(*_BYLINE_TAGS):
        head = (elem.text or "").strip()
        if not head or len(head) > 120 or not _BYLINE_START.match(head):
            continue
        if _outside_article(elem):
            continue
        for line in _byline_lines(elem, head):
            if len(line) <= 150 and (byline := bylines.parse_byline(line)) and byline.authors:
                return md.clean_authors(byline.authors, strict=True)
    return []


def author_box(tree: HtmlElement) -> list[str]:
    """The name heading an author box (class "author-box", "blog-author", "byline"...):
    the first element inside whose whole text is a person's name ("<h4>Bence Kovács
    </h4>" above a bio). trafilatura reads such boxes whole, and a bio is too long."""
    for box in itertools.islice(_author_boxes(tree), AUTHOR_GUESSES):
        for elem in box.iter(*_NAME_TAGS):
            name = md.element_text(elem).rstrip(":")
            if bylines.is_person_name(name) and (names := md.clean_authors([name], strict=True)):
                return names
    return []


def _author_boxes(tree: HtmlElement) -> Iterator[HtmlElement]:
    """Elements classed as an author box or byline, outside footers and comments."""
    for elem in tree.iter("div", "section", "aside", "span", "p", "li"):
        marks = f"{elem.get('class', '')} {elem.get('id', '')}"
        if _AUTHOR_CLASS.search(marks) and not _outside_article(elem):
            yield elem


def choose_authors(
    facts: md.PageFacts, tree: HtmlElement, url: str
) -> tuple[md.Choice | None, list[str]]:
    """Stated people first, then a visible byline, trafilatura's guess, the publisher;
    and, apart, the agency, feed and desk credits given as authors ("PTI", "RT News",
    "Web Desk"), which are no writers."""
    credits = [md.one_line(n) for n in md.author_statements(facts) if bylines.is_organisation(n)]

    def people(names: list[str]) -> list[str]:
        credits.extend(n for n in names if bylines.is_organisation(n))
        return [n for n in names if not bylines.is_organisation(n)]

    stated, publishers = md.stated_authors(facts, url)
    if stated or credits:  # a page that credits only a desk or agency names no writer
        names = people(stated.value) if stated else []
        return (md.Choice(names, stated.source) if names else None), credits
    if names := people(visible_byline(tree)):
        return md.Choice(names, "byline"), credits
    for guess in itertools.islice(author_guesses(tree), AUTHOR_GUESSES):
        raw = [md.before_date_words(name) for name in (guess or "").split(";")]
        if names := people(md.clean_authors(raw, strict=True)):
            return md.Choice(names, "trafilatura"), credits
    if names := people(author_box(tree)):
        return md.Choice(names, "author-box"), credits
    if names := people(list(dict.fromkeys(publishers))):
        return md.Choice(names, "publisher"), credits
    return None, credits


def _script_contradicts(language: str, text: str) -> bool:
    """A declared language whose script the text is not in: a CMS template's lang="en"
    on a Hindi article. Script is checked rather than the identified language, which
    can confuse Hindi with Marathi or Nepali while the declaration is right."""
    # Counted as the lengths of what is left after deleting the rest (in C), not as
    # lists of one-character matches.
    letters = _NOT_LETTER.sub("", text[:4000])
    if len(letters) < 200:
        return False
    latin = len(_NOT_LATIN.sub("", letters)) / len(letters)
    return latin < 0.5 if language in LATIN_SCRIPT_LANGUAGES else latin > 0.9


def default_tz(language: str | None, url: str) -> tzinfo:
    """Indian pages print local time without a zone; elsewhere the archive uses UTC."""
    host = urlsplit(url).hostname or ""
    return IST if language in INDIAN_LANGUAGES or host.endswith(".in") else UTC


def visible_date(tree: HtmlElement, tz: tzinfo) -> str | None:
    """The first short date element of the article ("Published: January 3, 2024" in a
    class="entry-date"), skipping "Updated ..." ones and footers, sidebars, comments."""
    for elem in tree.iter(*_DATE_TAGS):
        marks = f"{elem.get('class', '')} {elem.get('id', '')} {elem.get('itemprop', '')}"
        if not _DATE_CLASS.search(marks) or _MODIFIED_CLASS.search(marks):
            continue
        line = md.element_text(elem)
        if not line or len(line) > 80 or UPDATED_LABEL.match(line) or _outside_article(elem):
            continue
        if value := parse_date(line, default_tz=tz):
            return value
    return None


def date_beside_headline(tree: HtmlElement, tz: tzinfo) -> str | None:
    """A short line that is only a date, printed just above or below the <h1> (a
    "January 23, 2025" over the headline): the article's date, where it has no
    date class for :func:`visible_date` to find."""
    if (h1 := next(tree.iter("h1"), None)) is None:
        return None
    for elem in [*itertools.islice(h1.itersiblings(preceding=True), 1),
                 *itertools.islice(h1.itersiblings(), 2)]:
        line = md.element_text(elem)
        if 6 <= len(line) <= 40 and not UPDATED_LABEL.match(line) and (
                value := parse_date(line, default_tz=tz)):
            return value
    return None


def _limit_htmldate_languages(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
    """Let htmldate's last resort, dateparser, try the archive's languages only.

    htmldate builds its dateparser with all ~200 locales: 1.5 s of CPU and 30 MB in
    every extraction process to load, ~4 ms a page to try them all. With the languages
    the archive expects (``language.DEFAULT_LANGUAGES``) every score on the WCXB corpus
    is the same (docs/extraction-quality.md). htmldate has no option for this; its
    parser comes from one cached factory, replaced here by one with htmldate's settings.
    """
    parser = DateDataParser(
        languages=list(languages),
        settings={
            "NORMALIZE": True,
            "PARSERS": ["custom-formats", "absolute-time"],
            "PREFER_DATES_FROM": "past",
            "PREFER_LOCALE_DATE_ORDER": True,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": True,
        },
    )
    htmldate.extractors.get_external_parser = lambda: parser


_limit_htmldate_languages()


def published_at(
    facts: md.PageFacts, tree: HtmlElement, url: str, tz: tzinfo
) -> md.Choice | None:
    """First stated publication date that parses, else htmldate's original date.

    htmldate turns a bare year (a copyright line) into 1 January; that is not a
    publication date, so such a result is dropped.
    """
    for raw, source in md.published_candidates(facts):
        if value := parse_date(raw, default_tz=tz):
            return md.Choice(value, source)
    if value := visible_date(tree, tz):
        return md.Choice(value, "page-text")
    if value := date_beside_headline(tree, tz):
        return md.Choice(value, "page-text")
    found = find_date(tree, url=url or None, original_date=True,
                      outputformat="%Y-%m-%dT%H:%M:%S%z")
    if found and found[4:10] != "-01-01" and (value := parse_date(found, default_tz=tz)):
        return md.Choice(value, "htmldate")
    return None


def extract_html(html: str, url: str) -> Extracted:
    """Extract one HTML page (decoded, NFC) into text plus metadata with provenance."""
    tree = load_html(html)
    if tree is None:
        raise ExtractionError("unparsable-html", "lxml could not parse the page")
    facts = md.read_facts(tree)
    provenance: dict[str, str] = {}

    def keep(field: str, choice: md.Choice | None) -> object:
        if choice is None:
            return None
        provenance[field] = choice.source
        return choice.value

    title = keep("title", md.choose_headline(facts, url))
    author_choice, credits = choose_authors(facts, tree, url)
    authors = keep("authors", author_choice) or []
    text = article_text(tree, url, title)
    language = keep("language", md.choose_language(facts))
    if (not language or _script_contradicts(language, text)) and (
            detected := detect_language(text)):
        language = keep("language", md.Choice(detected, "langid"))
    published = keep("published_at", published_at(facts, tree, url, default_tz(language, url)))
    # Wire credits sit in the author statements or the first or last paragraphs;
    # scanning only those keeps the date parsing of every line off long articles.
    paragraphs = text.split("\n\n")
    # The outlet's own name ("Clemson News" on news.clemson.edu) is no wire.
    sites = md.site_names(facts, url)
    wires = (bylines.credited_source(c) for c in credits if not md.is_site_name(c, sites))
    agency = next(filter(None, wires), None) or (
        bylines.detect_agency("\n".join([*paragraphs[:3], *paragraphs[-3:]])))
    if agency:
        provenance["agency"] = "bylines"
    # A signature under the article beats the site's name, the last resort above; a
    # page that credits a desk or agency names no writer.
    weak = author_choice is None or author_choice.source == "publisher"
    if weak and not credits and (name := bylines.closing_name(paragraphs)):
        authors = keep("authors", md.Choice([name], "closing-line"))
    return Extracted(
        text=text,
        title=title,
        authors=authors,
        published_at=published,
        language=language,
        description=keep("description", md.choose_description(facts)),
        agency=agency,
        canonical_url=keep("canonical_url", md.choose_canonical(facts, url)),
        page_type=keep("page_type", md.choose_page_type(facts)),
        provenance=provenance,
        extractor=EXTRACTOR,
    )
