"""Article text and metadata of an HTML page: trafilatura for the text, the page's own
structured statements (JSON-LD, meta tags, <h1>, <time>) for the metadata.

The page is parsed once; metadata is read from that tree and trafilatura extracts the
text from it too. trafilatura's own metadata pass is skipped (it re-reads the same tags
and runs htmldate on every page): htmldate and trafilatura's author heuristics only run
when the page states no date or author.
"""

from __future__ import annotations

import re
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

from pipelines.extraction import Extracted, ExtractionError
from pipelines.extraction import metadata as md
from pipelines.extraction.dates import IST, parse_date
from pipelines.extraction.language import DEFAULT_LANGUAGES, detect_language
from pipelines.extraction.normalize import clean_text
from pipelines.extraction.trafilatura_author import extract_author

try:  # bylines.py is written separately; without it, no visible bylines or agency
    from pipelines.extraction import bylines
except ImportError:  # pragma: no cover - depends on the other module being present
    bylines = None

EXTRACTOR = f"trafilatura/{trafilatura.__version__}+html/1"
# favor_recall measured best on the article corpus (docs/extraction-quality.md);
# comments are not article text.
TRAFILATURA_OPTIONS = {"favor_recall": True, "include_comments": False, "include_tables": True}
LATIN_SCRIPT_LANGUAGES = frozenset({"en", "fr", "de", "es", "it", "pt", "nl", "id", "ms", "sw"})
INDIAN_LANGUAGES = frozenset({"hi", "ur", "bn", "pa", "gu", "mr", "ta", "te", "kn", "ml", "or"})
_TABLE_RULE = re.compile(r"^[|\-: ]+$")
_LETTER = regex.compile(r"\p{L}")  # what str.isalpha() accepts, found in C
_LATIN_LETTER = regex.compile(r"[\p{L}&&\x00-\u024F]", regex.V1)  # Latin to Extended-B
_BYLINE_START = re.compile(
    r"^(?:(?:written|posted|reported|story)\s+)?by\b|^(?:लेखक|रिपोर्ट|रिपोर्टर)\s*[:：\-–]", re.I
)
_BYLINE_TAGS = ("p", "span", "div", "a", "li", "address", "small", "strong", "em",
                "h4", "h5", "h6", "td", "header")
_DATE_TAGS = ("time", "span", "div", "p", "li", "small", "abbr")
_DATE_CLASS = re.compile(r"date|publish|posted|time", re.I)
_MODIFIED_CLASS = re.compile(r"updated|modified", re.I)  # WordPress <time class="updated">
_UPDATED = re.compile(r"^\s*(?:last\s+)?(?:updated|modified|edited)", re.I)


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


def article_text(tree: HtmlElement, url: str) -> str:
    """Main text, one block per paragraph, paragraphs separated by a blank line."""
    document = trafilatura.bare_extraction(tree, url=url or None, **TRAFILATURA_OPTIONS)
    if document is None or not document.text:
        return ""
    blocks = clean_text(document.text).split("\n")
    return "\n\n".join(b for b in blocks if b and not _TABLE_RULE.match(b))


def _outside_article(elem: HtmlElement) -> bool:
    """In a footer, sidebar, menu or comment thread, where a "By ..." is not the byline."""
    for parent in elem.iterancestors():
        if parent.tag in ("footer", "nav", "aside"):
            return True
        marks = f"{parent.get('class', '')} {parent.get('id', '')}".lower()
        if "comment" in marks or "related" in marks:
            return True
    return False


def visible_byline(tree: HtmlElement) -> list[str]:
    """Names in the first "By Jane Doe" line of the page (bylines.parse_byline)."""
    if bylines is None:
        return []
    for elem in tree.iter(*_BYLINE_TAGS):
        head = (elem.text or "").strip()
        if not head or len(head) > 120 or not _BYLINE_START.match(head):
            continue
        if md.fold(head) in ("by", "by:") and elem.getparent() is not None:
            elem = elem.getparent()  # <span>By</span> <a>Jane Doe</a>
        line = md.element_text(elem)
        if len(line) > 150 or _outside_article(elem):
            continue
        if (byline := bylines.parse_byline(line)) and byline.authors:
            return md.clean_authors(byline.authors, strict=True)
    return []


def choose_authors(facts: md.PageFacts, tree: HtmlElement, url: str) -> md.Choice | None:
    """Stated people first, then a visible byline, trafilatura's guess, the publisher."""
    stated, publishers = md.stated_authors(facts, url)
    if stated:
        return stated
    if names := visible_byline(tree):
        return md.Choice(names, "byline")
    if (guess := extract_author(tree)) and (
            names := md.clean_authors(guess.split(";"), strict=True)):
        return md.Choice(names, "trafilatura")
    return md.Choice(publishers, "publisher") if publishers else None


def _script_contradicts(language: str, text: str) -> bool:
    """A declared language whose script the text is not in: a CMS template's lang="en"
    on a Hindi article. Script is checked rather than the identified language, which
    can confuse Hindi with Marathi or Nepali while the declaration is right."""
    sample = text[:4000]
    letters = len(_LETTER.findall(sample))
    if letters < 200:
        return False
    latin = len(_LATIN_LETTER.findall(sample)) / letters
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
        if not line or len(line) > 80 or _UPDATED.match(line) or _outside_article(elem):
            continue
        if value := parse_date(line, default_tz=tz):
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
    authors = keep("authors", choose_authors(facts, tree, url)) or []
    text = article_text(tree, url)
    language = keep("language", md.choose_language(facts))
    if (not language or _script_contradicts(language, text)) and (
            detected := detect_language(text)):
        language = keep("language", md.Choice(detected, "langid"))
    published = keep("published_at", published_at(facts, tree, url, default_tz(language, url)))
    agency = None
    if bylines is not None:
        # Wire credits sit in the byline or the first or last paragraphs; scanning
        # only those keeps the date parsing of every line off long articles.
        paragraphs = text.split("\n\n")
        agency = bylines.detect_agency("\n".join([*authors, *paragraphs[:3], *paragraphs[-3:]]))
        authors = [a for a in authors if not bylines.agency_name(a)]  # "PTI" is no writer
        if agency:
            provenance["agency"] = "bylines"
        if not authors:
            provenance.pop("authors", None)
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
