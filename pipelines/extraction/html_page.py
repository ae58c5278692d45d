"""Article text and metadata of an HTML page: trafilatura for the text, the page's own
structured statements (JSON-LD, meta tags, <h1>, <time>) for the metadata.

The page is parsed once; metadata is read from that tree and trafilatura extracts the
text from it too. trafilatura's own metadata pass is skipped (it re-reads the same tags
and runs htmldate on every page): htmldate and trafilatura's author heuristics only run
when the page states no date or author.
"""

from __future__ import annotations

import copy
import itertools
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, tzinfo
from urllib.parse import unquote, urlsplit

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
from pipelines.extraction.dates import IST, PUBLISHED_LABEL, UPDATED_LABEL, find_dates, parse_date
from pipelines.extraction.language import DEFAULT_LANGUAGES, detect_language
from pipelines.extraction.trafilatura_author import author_guesses

EXTRACTOR = f"trafilatura/{trafilatura.__version__}+html/5"
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
_AUTHOR_CLASS = re.compile(r"author(?!ity)|byline")  # in a lower-cased class or id
# A link to the writer's other pieces: "View all posts by Jane Doe", "More articles
# from Jane Doe" (in an author box or a button under the article).
_MORE_BY = re.compile(
    r"^(?:(?:view|see|read|browse|show)\s+)?(?:all|more)\s+(?:\w+\s+)?"
    r"(?:articles|posts|stories|insights|entries)\s+(?:by|from)\s+(?P<name>.{2,60})$", re.I)
# A job title after the name in an author box: "Lance Ryan (Content Manager)".
_ROLE_AFTER_NAME = re.compile(r"\s*\([^()]{2,40}\)$")
_HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_VISIBLE_TEXT = "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"
# The label of an editor's credit, just before the name: no writer's byline.
_EDITOR_LABEL = regex.compile(
    r"(?:edited\s+by|editor|redakteur(?:in)?|penyunting|editado\s+por|rédacteur|संपादक|संपादन)"
    r"\s*[:：]?\s*$")
_NAME_TAGS = ("h2", "h3", "h4", "h5", "strong", "b", "a", "span", "p", "div")
# An author's bio: "Julia Gralberg is a freelance travel writer ...".
_BIO_START = regex.compile(r"(?P<name>\p{Lu}[\p{L}\p{M}.'’-]*(?:\s+[\p{L}\p{M}.'’-]+){1,3}?)"
                           r",?\s+(?:is|was)\s+(?:a|an|the|our)\s")
_DATE_TAGS = ("time", "span", "div", "p", "li", "small", "abbr")
# Searched in a lower-cased class, id or itemprop: a case-blind regular expression
# (re.I) took three times as long on the many elements of a page.
_DATE_CLASS = re.compile(r"date|publish|posted|time")
_MODIFIED_CLASS = re.compile(r"updated|modified")  # WordPress <time class="updated">
# A publication label alone ("Published", "Posted on:"): the date is in the next element.
_BARE_PUBLISHED = regex.compile(rf"{PUBLISHED_LABEL.pattern}\s*[:：]?$", regex.I)
_LABELLED_DATE_SPAN = 40  # "Wednesday, 14 September 2025, 10:30 am" fits
# A profile page's path: "/authors/trevor-jackins", "/people/jane-doe-123/".
_PROFILE_PATH = re.compile(
    r"/(?:authors?|writers?|people|profiles?|staff|contributors?|team|columnists?|reporters?"
    r"|journalists?|experts?)/(?P<slug>[^/]+)/?$", re.I)
_SLUG_ID = re.compile(r"[-_]?\d+$")  # "jane-doe-123": the CMS's id after the name


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
    """In a footer, sidebar, menu or comment thread, where a "By ..." is not the byline.

    An <aside> inside the <article> is the article's own fact box ("Author: Jane Doe"),
    not the site's sidebar."""
    for parent in elem.iterancestors():
        if parent.tag in ("footer", "nav") and not _holds_headline(parent):
            return True
        if parent.tag == "aside" and not _holds_headline(parent) and next(
                parent.iterancestors("article"), None) is None:
            return True
        marks = f"{parent.get('class', '')} {parent.get('id', '')}".lower()
        if "comment" in marks or "related" in marks:
            return True
    return False


def _holds_headline(container: HtmlElement) -> bool:
    """A "menu" that holds the <h1> is no menu: an unclosed tag in a navigation bar
    makes the parser nest the whole article inside the <nav>."""
    return next(container.iter("h1"), None) is not None


def _labelled_lines(elem: HtmlElement, head: str, bare_label: regex.Pattern) -> Iterator[str]:
    """The lines a labelled statement that starts in elem may print: the element's own
    text, and for a bare label ("Written by", "Author:", "Published") the label with its
    parent's text or with the next element's (<span>By</span> <a>Jane Doe</a>;
    <h4>Written by</h4><div>Jane Doe</div><p>Jane writes about...</p>;
    <div>Published</div><div>October 14, 2025</div>)."""
    yield md.element_text(elem)
    if not bare_label.match(head):
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
        for line in _labelled_lines(elem, head, _BARE_LABEL):
            if len(line) <= 150 and (byline := bylines.parse_byline(line)) and byline.authors:
                return md.clean_authors(byline.authors, strict=True)
    return []


def byline_over_stated(tree: HtmlElement, stated: list[str]) -> list[str]:
    """The visible byline's (or author box's) people where the page never prints the
    stated authors, or prints them only as its editor ("Editor : Heryadi"): an author
    stated only in structured data, while the byline names someone else, is a stale
    statement (a template's default, the editor who uploaded the page, an account name
    such as "KatieS")."""
    printed = visible_byline(tree) or author_box(tree)
    printed = [n for n in printed if not bylines.is_organisation(n)]
    if not printed or not {md.fold(n) for n in printed}.isdisjoint(map(md.fold, stated)):
        return []
    shown = md.fold(visible_text(tree))  # ~3 ms: only on a disagreement
    return [] if any(_printed_as_writer(md.fold(name), shown) for name in stated) else printed


def visible_text(tree: HtmlElement) -> str:
    """The text a reader sees on the page (no scripts or styles), on one line."""
    return " ".join(tree.xpath(_VISIBLE_TEXT))


def _printed_as_writer(name: str, shown: str) -> bool:
    """Is the name printed other than as the editor's ("Editor : Heryadi")?"""
    start = shown.find(name)
    while start >= 0:
        if not _EDITOR_LABEL.search(shown[max(0, start - 20):start]):
            return True
        start = shown.find(name, start + 1)
    return False


def byline_beside_headline(tree: HtmlElement) -> list[str]:
    """Names on the short line just under or over the <h1> that a date dates
    ("2025-12-17 · Jane Doe"): the article's byline, printed without a "By"."""
    if (h1 := next(tree.iter("h1"), None)) is None:
        return []
    for elem in [*itertools.islice(h1.itersiblings(), 2),
                 *itertools.islice(h1.itersiblings(preceding=True), 1)]:
        line = md.element_text(elem)
        if len(line) <= 120 and (byline := bylines.parse_byline(line)) and byline.authors:
            return md.clean_authors(byline.authors, strict=True)
    return []


def author_box(tree: HtmlElement) -> list[str]:
    """The name heading an author box (class "author-box", "blog-author", "byline"...):
    the first element inside whose whole text is a person's name ("<h4>Bence Kovács
    </h4>" above a bio), else the box's own line read as a byline ("Dec. 19, 2025 ·
    Niko Matsakis on behalf of the Rust team"). trafilatura reads such boxes whole,
    and a bio is too long."""
    for box in itertools.islice(_author_boxes(tree), AUTHOR_GUESSES):
        for elem in box.iter(*_NAME_TAGS):
            name = _ROLE_AFTER_NAME.sub("", md.element_text(elem).rstrip(":"))
            if bylines.is_person_name(name) and (names := md.clean_authors([name], strict=True)):
                return names
        line = md.element_text(box)
        if len(line) <= 120 and (byline := bylines.parse_byline(line)) and byline.authors:
            return md.clean_authors(byline.authors, strict=True)
    return []


def more_by_label(tree: HtmlElement) -> list[str]:
    """The name in the first "View all posts by Jane Doe" label of the article: such
    a link to the writer's archive names the writer where no byline does."""
    for elem in tree.iter(*_BYLINE_TAGS, "button"):
        match = _MORE_BY.match(md.one_line(elem.text))
        if match is None or _outside_article(elem):
            continue
        names = md.clean_authors([match["name"]], strict=True)
        if names and all(map(bylines.is_person_name, names)):
            return names
    return []


def author_bio(tree: HtmlElement) -> list[str]:
    """The name an author's bio opens with ("Julia Gralberg is a freelance travel
    writer ..."), where the page also prints that name alone and as a photo's alt text
    (the bio's heading and headshot): the writer, where the only byline is the bio
    box. A sentence about someone the story is about seldom comes with both."""
    photographed: set[str] | None = None  # the images' alt texts, read once if needed
    for elem in tree.iter("p", "div"):
        match = _BIO_START.match(md.one_line(elem.text))
        if match is None or not bylines.is_person_name(name := match["name"]):
            continue
        if photographed is None:
            photographed = {md.fold(img.get("alt")) for img in tree.iter("img")}
        key = md.fold(name)
        if (key in photographed
                and any(md.fold(md.element_text(e)) == key for e in tree.iter(*_NAME_TAGS, "h6"))
                and not _outside_article(elem)):
            return md.clean_authors([name], strict=True)
    return []


def _author_boxes(tree: HtmlElement) -> Iterator[HtmlElement]:
    """Elements classed as an author box or byline, outside footers and comments."""
    for elem in tree.iter("div", "section", "aside", "span", "p", "li"):
        marks = f"{elem.get('class', '')} {elem.get('id', '')}".lower()
        if _AUTHOR_CLASS.search(marks) and not _outside_article(elem):
            yield elem


def profile_link(tree: HtmlElement) -> list[str]:
    """The name on the first link to an author's profile page ("<a href="/authors/
    trevor-jackins">Trevor Jackins</a>"): a link whose path ends in the name as a slug
    is the byline's name even where no "By" precedes it."""
    for link in tree.iter("a"):
        match = _PROFILE_PATH.search(urlsplit(link.get("href") or "").path)
        if match is None:
            continue
        name = md.element_text(link)
        if _slug_key(match["slug"]) != _ascii_key(name) or _outside_article(link):
            continue
        if names := md.clean_authors([name], strict=True):
            return names
    return []


def _slug_key(slug: str) -> str:
    """A profile slug's letters, without the numeric id some CMSs append."""
    return _ascii_key(_SLUG_ID.sub("", unquote(slug)))


def _ascii_key(text: str) -> str:
    """Letters and digits without accents, as slugs spell a name ("Çelik" -> "celik")."""
    return md.alnum(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


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
        if names and (printed := byline_over_stated(tree, names)):
            return md.Choice(printed, "byline"), credits
        return (md.Choice(names, stated.source) if names else None), credits
    if names := people(visible_byline(tree)):
        return md.Choice(names, "byline"), credits
    # trafilatura's rules also match a menu entry ("...-governing-board-actions" holds
    # "author") and a footer's copyright link (rel="author" to "Nikkei Inc.")
    for guess in itertools.islice(author_guesses(tree, _outside_article), AUTHOR_GUESSES):
        raw = [md.before_date_words(name) for name in (guess or "").split(";")]
        if names := people(md.clean_authors(raw, strict=True)):
            return md.Choice(names, "trafilatura"), credits
    if names := people(profile_link(tree)):
        return md.Choice(names, "profile-link"), credits
    if names := people(byline_beside_headline(tree)):
        return md.Choice(names, "headline-line"), credits
    if names := people(more_by_label(tree)):
        return md.Choice(names, "more-by-label"), credits
    if names := people(author_box(tree)):
        return md.Choice(names, "author-box"), credits
    if names := people(author_bio(tree)):
        return md.Choice(names, "author-bio"), credits
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


def _dated_elements(tree: HtmlElement, tz: tzinfo) -> Iterator[tuple[HtmlElement, str]]:
    """Short date elements of the article in page order ("Published: January 3, 2024"
    in a class="entry-date", or any <time>: the tag says it prints a date), with their
    dates; "Updated ..." ones and those in footers, sidebars and comments skipped."""
    for elem in tree.iter(*_DATE_TAGS):
        marks = f"{elem.get('class', '')} {elem.get('id', '')} {elem.get('itemprop', '')}".lower()
        if _MODIFIED_CLASS.search(marks) or not (elem.tag == "time" or _DATE_CLASS.search(marks)):
            continue
        line = md.element_text(elem)
        if not line or len(line) > 80 or UPDATED_LABEL.match(line) or _outside_article(elem):
            continue
        if value := parse_date(line, default_tz=tz):
            yield elem, value


def visible_date(tree: HtmlElement, tz: tzinfo) -> str | None:
    """The first short date element of the article (see :func:`_dated_elements`)."""
    return next((value for _, value in _dated_elements(tree, tz)), None)


def printed_date(tree: HtmlElement, tz: tzinfo) -> md.Choice | None:
    """The article's own printed date: the first date element, unless it sits in a
    link or list item, where the first date is a teaser's (a ticker, "Related
    stories") and says nothing about this article. Where a <time datetime> inside
    prints it, that statement is the value (source "time-tag")."""
    for elem, value in _dated_elements(tree, tz):
        if elem.tag == "li" or next(elem.iterancestors("a", "li"), None) is not None:
            return None
        if (stamp := _shown_stamp(elem, tz)) is None:
            return md.Choice(value, "page-text")
        return md.Choice(stamp, "time-tag") if stamp[:10] == value[:10] else None
    return None


def _shown_stamp(elem: HtmlElement, tz: tzinfo) -> str | None:
    """The datetime of the first <time> in elem that is no "updated" one."""
    for time in elem.iter("time"):
        if not _MODIFIED_CLASS.search(time.get("class", "").lower()) and (
                stamp := time.get("datetime")):
            return parse_date(stamp, default_tz=tz)
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


def labelled_date(tree: HtmlElement, tz: tzinfo) -> str | None:
    """The date after the first "Published" label of the article, in the same element
    ("Posted on March 3, 2024") or, after a bare label, in the next one
    (<div>Published</div><div>October 14, 2025</div>): a date the page calls the
    publication date, where no date class marks it for :func:`visible_date`."""
    for elem in tree.iter(*_DATE_TAGS, "strong", "b", "em", "label"):
        head = md.one_line(elem.text)
        if not head or len(head) > 80 or not PUBLISHED_LABEL.match(head):
            continue
        if _outside_article(elem):
            continue
        for line in _labelled_lines(elem, head, _BARE_PUBLISHED):
            if len(line) <= 80 and (value := _date_after_label(line, tz)):
                return value
    return None


def _date_after_label(line: str, tz: tzinfo) -> str | None:
    """The date right after a line's label ("Published: Wednesday, 14 May 2025"); a
    date further on dates something else ("Posted on the forum on 2025-07-09")."""
    if (label := PUBLISHED_LABEL.match(line)) is None:
        return None
    return parse_date(line[label.end():].lstrip(" :：-–")[:_LABELLED_DATE_SPAN], default_tz=tz)


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
    """First stated publication date that parses (unless the article prints an
    earlier day: :func:`_checked_against_print`), else the date the article prints,
    else htmldate's original date where the page prints it or htmldate's quick search
    finds it too (see :func:`_htmldate`).

    htmldate turns a bare year (a copyright line) into 1 January; that is not a
    publication date, so such a result is dropped.
    """
    for raw, source in md.published_candidates(facts):
        if value := parse_date(raw, default_tz=tz):
            return _checked_against_print(md.Choice(value, source), printed_date(tree, tz))
    if value := visible_date(tree, tz):
        return md.Choice(value, "page-text")
    if value := labelled_date(tree, tz):
        return md.Choice(value, "page-text")
    if value := date_beside_headline(tree, tz):
        return md.Choice(value, "page-text")
    bare, text = _without_scripts(tree), visible_text(tree)
    marked = _htmldate(bare, url, extensive=False)
    if marked is None and next(find_dates(text), None) is None:
        # The extensive search would find a date that nothing vouches for: skipped,
        # it is the costliest step of extraction on such pages (docs/benchmarks.md).
        return None
    found = _htmldate(bare, url, extensive=True)
    if found and found[4:10] != "-01-01" and (value := parse_date(found, default_tz=tz)) and (
            found == marked or _prints_day(text, value[:10])):
        return md.Choice(value, "htmldate")
    return None


def _prints_day(text: str, day: str) -> bool:
    """Does the page's text print this day as a date ("Last updated May 22, 2025")?"""
    return any(value.date().isoformat() == day for value in find_dates(text))


def _htmldate(bare: HtmlElement, url: str, extensive: bool) -> str | None:
    """htmldate's original date of the page. Its quick search reads the page's address,
    meta tags and ``<time>``; the extensive one also the date in a link to another
    site's story (``/2013/04/24/``) and numbers that look like one ("3-5/10
    firmness": 3 May 2010). So a date only the extensive search finds is kept only
    where the page prints it; on WCXB this drops no date the ground truth agrees with."""
    return find_date(bare, url=url or None, original_date=True, extensive_search=extensive,
                     outputformat=_HTMLDATE_FORMAT)


def _without_scripts(tree: HtmlElement) -> HtmlElement:
    """A copy of the page without scripts, styles and drawings, for htmldate: what the
    scripts state as structured data was read before it is called, and the rest of a
    script's dates are a bundle's build stamp or a widget's config, no statement of
    when the article appeared (3 such dates on WCXB pages that state none)."""
    bare = copy.deepcopy(tree)
    etree.strip_elements(bare, "script", "style", "svg", "noscript", "template", with_tail=False)
    return bare


def _checked_against_print(first: md.Choice, printed: md.Choice | None) -> md.Choice:
    """The first stated date, unless the article prints an earlier day.

    Structured data goes stale: a CMS migration or re-save stamps a new datePublished
    while the article still prints its original day, and an article is not printed
    before it is published. A printed day later than the stated one is most often an
    update shown without a label, and one a day off is the stated instant in the
    site's own zone: neither overrides the statement.
    """
    if printed is not None and _days_between(printed.value, first.value) > 1:
        return printed
    return first


def _days_between(earlier: str, later: str) -> int:
    """Days from one ISO date to another, by their stated calendar days."""
    return (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days


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
    text = article_text(tree, url, title, authors)
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
