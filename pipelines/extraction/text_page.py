"""Article extraction from plain-text page dumps, where no HTML shows the structure.

A saved text page is the article between menus, bylines, teasers and footers, one block
per line. Each line is classified by its shape alone (length, sentence punctuation, a
link-teaser ending, the phrase lexicon below); the article is the longest run of prose
lines, the headline the first headline-shaped line of the block just above that run (or
the one sharing most words with the URL slug, when teasers sit there too), and bylines
and dates are read only from the lines around the run, so a date in a teaser of another
story is never taken for the article's. One paragraph per line is assumed (blank lines
between them optional); hard-wrapped text is not re-joined.

What counts as article text (decided for the archive, checked by the tests):
- subheadings between paragraphs are kept: short lines without clause punctuation;
  longer or punctuated ones (``अब यूक्रेन में मचेगी तबाही! ...``) are teasers of
  other stories and dropped;
- standfirsts, image captions, "Highlights"/"मुख्य बातें" boxes and a paragraph whose
  sentences all repeat other paragraphs are summaries of the article, not its text;
- a closing wire tag (``(भाषा)``, a bare ``आईएएनएस`` line) is a credit, not text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, tzinfo
from urllib.parse import urlsplit

import regex

from pipelines.extraction import Extracted
from pipelines.extraction.bylines import (
    DATE_LABEL,
    find_agency,
    is_role_line,
    name_with_role,
    parse_byline,
    reporter_names,
    split_trailing_agency,
)
from pipelines.extraction.dates import IST, UPDATED_LABEL, find_date, to_iso
from pipelines.extraction.language import detect_language
from pipelines.extraction.normalize import clean_text, nfc, words

EXTRACTOR = "text-page/2"

# ---- Phrase lexicon (Hindi and English), compared after _fold() ------------------------
# Section headings after which a page lists other stories: the article has ended.
END_MARKERS = (
    "next article", "previous article", "read previous", "read next", "latest news",
    "more articles like this", "more from this section", "related news",
    "related articles", "related stories", "related posts", "you may also like",
    "recommended", "recommended stories", "trending", "trending now", "top stories",
    "most read", "most popular", "popular posts", "comments", "leave a reply",
    "leave a comment", "संबंधित खबरें", "ताजा खबरें", "ताजा खबर", "लेटेस्ट न्यूज",
    "और खबरें", "अन्य खबरें", "ट्रेंडिंग", "टॉप न्यूज", "सबसे ज्यादा पढ़ी गई", "टिप्पणियां",
)
# Lines that open a footer, whatever follows them.
FOOTER_PREFIXES = (
    "web title", "tags:", "tags :", "टैग्स", "topics:", "this post was first published",
    "this article was first published", "this story has not been edited", "wp2social",
    "copyright", "©", "disclaimer", "डिस्क्लेमर", "अस्वीकरण",
)
# Social plugs and site furniture: two in a line (or one in a short line) mark it.
FOOTER_PHRASES = (
    "facebook page", "youtube channel", "यूट्यूब चैनल", "यहां क्लिक", "क्लिक करें",
    "क्लिक करे", "लाइक करें", "लाइक करे", "सब्सक्राइब करें", "follow us", "फॉलो करें",
    "powered by", "all rights reserved", "via rss feed", "first published on",
    "whatsapp channel", "telegram channel", "google news", "ऐप डाउनलोड", "download app",
    "privacy policy", "contact us", "about us", "terms of use", "terms and conditions",
    "cookie policy", "हमारे बारे में", "संपर्क करें", "गोपनीयता नीति", "हमसे जुड़ें",
    "फेसबुक पेज", "share on", "share this", "शेयर करें", "click here", "download the app",
)
# Link-teaser headings inside the body: the line, or the lines right under it, are
# headlines of other stories.
READ_ALSO = (
    "must read", "also read", "read also", "read more", "ये भी पढ़ें", "यह भी पढ़ें",
    "इसे भी पढ़ें", "जरूर पढ़ें", "और पढ़ें", "ये भी देखें", "यह भी देखें",
)
# Boxes that summarise the article (their bullet lines go with them).
SUMMARY_BOXES = (
    "highlights", "key highlights", "key points", "हाइलाइट्स", "मुख्य बातें", "खास बातें",
)
CAPTION_PREFIXES = (
    "photo:", "photo credit", "image:", "image source", "image credit", "file photo",
    "फोटो:", "फोटो -", "फाइल फोटो", "तस्वीर:", "फोटो साभार", "सांकेतिक तस्वीर",
    "प्रतीकात्मक तस्वीर",
)
ADVERTS = (
    "advertisement", "advertisment", "sponsored", "विज्ञापन", "scroll to continue with content",
    "story continues below advertisement", "continue reading below",
)
# Single-word menu entries; a line made mostly of them is a navigation menu.
SECTION_NAMES = (
    "home", "news", "latest", "india", "world", "business", "sports", "sport", "cricket",
    "entertainment", "bollywood", "tech", "technology", "auto", "lifestyle", "health",
    "opinion", "politics", "videos", "video", "photos", "education", "jobs", "science",
    "astrology", "horoscope", "states", "city", "होम", "देश", "विदेश", "दुनिया", "खेल",
    "मनोरंजन", "राज्य", "बिजनेस", "कारोबार", "टेक", "लाइफस्टाइल", "धर्म", "राशिफल",
    "वीडियो", "फोटो", "शिक्षा", "नौकरी", "राजनीति", "क्रिकेट", "ऑटो", "हेल्थ", "ज्योतिष",
    "विश्व",
)
# Languages of pages whose unzoned times are Indian Standard Time.
INDIAN_LANGUAGES = frozenset({"hi", "mr", "bn", "gu", "pa", "ta", "te", "kn", "ml", "ur", "ne"})

# ---- Line shapes -----------------------------------------------------------------------
NAV, END, INLINE, TEASER, META, PROSE, SHORT, FRAGMENT = (
    "nav", "end", "inline", "teaser", "meta", "prose", "short", "fragment"
)
_CLOSERS = "\"'”’)]» "
_SENTENCE_END = regex.compile(r"[।॥.]$")
_SENTENCE_MARK = regex.compile(r"[।॥.?!](?=[\s\"'”’)\]]|$)")
_CLAUSE_PUNCT = regex.compile(r"[,!?:;|]")
_MENU_SPLIT = regex.compile(r"\s*\|\s*|\s+[»›>/•·]\s+")
_CAMEL_JOIN = regex.compile(r"\p{Ll}\p{Lu}")
_BULLET = regex.compile(r"^[•●▪◦►✓*\-–]\s*")
_PHOTO_CREDIT = regex.compile(r"\((?:photo|image|file photo|फोटो|फाइल फोटो|तस्वीर)[^)]*\)$")
_SITE_SUFFIX = regex.compile(r"^(?P<head>.+)\s(?P<sep>[|–—-])\s+(?P<tail>[^|–—]+)$")
_NON_LATIN_LETTER = regex.compile(r"[^\P{L}\p{Latin}]")
_SLUG_WORD = regex.compile(r"[a-z]{3,}")
_DOMAIN_END = regex.compile(r"\w\.\w{2,}$")  # a title's tail that is a domain: "x.com"
_SLUG_NOISE = frozenset({"html", "htm", "php", "aspx", "amp", "news", "story", "article"})
_MIN_SLUG_OVERLAP = 2

_REPEAT_SHARE = 0.8  # share of a paragraph's 4-grams found elsewhere that makes it a repeat
_MAX_SUBHEADING_WORDS = 12
_MAX_HEADLINE_WORDS = 40
_TAIL_LINES = 4  # lines after the article searched for a closing credit


def _fold(text: str) -> str:
    """Comparison form: case, nukta, chandrabindu and spacing differ between sites."""
    text = nfc(text).casefold().replace("\u093c", "").replace("\u0901", "\u0902")
    return " ".join(text.split())


def _folded(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_fold(p) for p in phrases)


_END_MARKERS = frozenset(_folded(END_MARKERS))
_FOOTER_PREFIXES = _folded(FOOTER_PREFIXES)
_FOOTER_PHRASES = _folded(FOOTER_PHRASES)
_READ_ALSO = _folded(READ_ALSO)
_SUMMARY_BOXES = _folded(SUMMARY_BOXES)
_CAPTION_PREFIXES = _folded(CAPTION_PREFIXES)
_ADVERTS = frozenset(_folded(ADVERTS))
_SECTION_NAMES = frozenset(_folded(SECTION_NAMES))


@dataclass
class _Line:
    text: str
    folded: str
    words: list[str]
    kind: str = SHORT

    @property
    def bare(self) -> str:
        """The line without the punctuation a marker is often printed with."""
        return self.folded.strip(" :-–—|>»")

    @property
    def lead(self) -> str:
        """The line from its first word on: "(Disclaimer: ...)" starts with "disclaimer"."""
        return self.folded.lstrip(" ([{*#•-–—")


def _ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text.rstrip(_CLOSERS)))


def _is_end(line: _Line) -> bool:
    hits = sum(phrase in line.folded for phrase in _FOOTER_PHRASES)
    return line.bare in _END_MARKERS or line.lead.startswith(_FOOTER_PREFIXES) or hits >= 2


def _is_inline(line: _Line) -> bool:
    """Advertising, read-also teasers, summary boxes, captions, short social plugs."""
    if line.bare in _ADVERTS or line.lead.startswith(_CAPTION_PREFIXES):
        return True
    if _PHOTO_CREDIT.search(line.folded):
        return True
    if _ends_sentence(line.text):  # a sentence that mentions "YouTube channel" is text
        return False
    return line.lead.startswith(_READ_ALSO + _SUMMARY_BOXES) or (
        len(line.words) <= 20 and any(p in line.folded for p in _FOOTER_PHRASES)
    )


def _is_meta(line: _Line) -> bool:
    """Byline, credit, role or date line."""
    if parse_byline(line.text) or is_role_line(line.text) or name_with_role(line.text):
        return True
    if _ends_sentence(line.text) or find_date(line.text) is None:
        return False
    return bool(DATE_LABEL.match(line.text)) or len(line.words) <= 12


def _is_nav(line: _Line) -> bool:
    """Menus: short `|`-separated entries, run-together section names, section words."""
    if _ends_sentence(line.text):
        return False
    entries = _MENU_SPLIT.split(line.text)
    if len(entries) >= 2 and all(len(e.split()) <= 3 for e in entries):
        return True
    joins = len(_CAMEL_JOIN.findall(line.text))
    if joins >= 2 and 2 * joins > len(line.words):
        return True
    sections = sum(w in _SECTION_NAMES for w in line.words)
    return sections >= 3 and sections >= 0.6 * len(line.words)


def _is_prose(line: _Line) -> bool:
    """A paragraph: enough words and sentence punctuation (or too long for a headline)."""
    n = len(line.words)
    if n >= _MAX_HEADLINE_WORDS and "|" not in line.text:
        return True
    marks = len(_SENTENCE_MARK.findall(line.text))
    text = split_trailing_agency(line.text)[0]  # "... कहा। (भाषा)" ends a sentence
    return n >= 8 and (_ends_sentence(text) or (marks >= 2 and n >= 15))


def _kind(line: _Line) -> str:
    if _is_end(line):
        return END
    if _is_inline(line):
        return INLINE
    if line.folded.endswith(("...", "…")):
        return TEASER
    for kind, test in ((META, _is_meta), (NAV, _is_nav), (PROSE, _is_prose)):
        if test(line):
            return kind
    return SHORT if len(line.words) >= 3 else FRAGMENT


def _lines(text: str) -> list[_Line]:
    """Non-empty lines with their kind. Under a bare read-also heading the next line is
    a teaser; under it or a summary box, bullet lines belong to the list."""
    lines = [
        _Line(text=t, folded=_fold(t), words=words(t))
        for t in (clean_text(raw) for raw in text.splitlines())
        if t
    ]
    heading = None  # the bare list heading the current line sits under, if any
    for i, line in enumerate(lines):
        line.kind = _kind(line)
        first_under_read_also = heading in _READ_ALSO and lines[i - 1].bare == heading
        if heading and line.kind != PROSE and (first_under_read_also or _BULLET.match(line.text)):
            line.kind = INLINE
        else:
            heading = line.bare if line.bare in _READ_ALSO + _SUMMARY_BOXES else None
    return lines


# ---- Article zones ---------------------------------------------------------------------
def _prose_weight(lines: list[_Line], run: tuple[int, int]) -> int:
    return sum(len(line.text) for line in lines[run[0] : run[1] + 1] if line.kind == PROSE)


def _body_run(lines: list[_Line]) -> tuple[int, int] | None:
    """First and last line of the longest run of prose not broken by a byline,
    footer, section heading or teaser list."""
    runs: list[tuple[int, int]] = []
    start = last = None
    for i, line in enumerate(lines):
        if line.kind == PROSE:
            start = i if start is None else start
            last = i
        elif line.kind in (END, TEASER, META) and start is not None:
            runs.append((start, last))
            start = None
    if start is not None:
        runs.append((start, last))
    return max(runs, key=lambda run: _prose_weight(lines, run), default=None)


def _header_start(lines: list[_Line], body_start: int) -> int:
    """Start of the block above the article: back to the nearest menu or teaser list."""
    i = body_start
    while i > 0 and lines[i - 1].kind not in (NAV, END, TEASER):
        i -= 1
    return i


def _tail(lines: list[_Line], body_end: int) -> list[_Line]:
    """The few lines after the article that may credit it, up to the next list."""
    tail: list[_Line] = []
    for line in lines[body_end + 1 : body_end + 1 + _TAIL_LINES]:
        if line.kind in (END, TEASER, NAV):
            break
        tail.append(line)
    return tail


def _is_headline(line: _Line) -> bool:
    return line.kind == SHORT and len(line.words) <= _MAX_HEADLINE_WORDS


def _slug_words(url: str) -> set[str]:
    """Words of the URL path ("/world/flood-barriers-approved-123" -> flood, barriers...)."""
    return {w for w in _SLUG_WORD.findall(urlsplit(url).path.lower()) if w not in _SLUG_NOISE}


def _pick_title(lines: list[_Line], header: int, body_start: int, url: str) -> int | None:
    """The headline-shaped line above the article that shares most words with the URL
    slug (a teaser list may sit above it), else the first one of its own block."""
    zone = [i for i in range(header, body_start) if _is_headline(lines[i])]
    if not zone:
        zone = [i for i in range(header) if _is_headline(lines[i])][:1]
    slug = _slug_words(url)
    overlap = {i: len(slug & set(lines[i].words)) for i in zone}
    best = max(zone, key=lambda i: overlap[i], default=None)
    if best is not None and overlap[best] >= _MIN_SLUG_OVERLAP:
        return best
    return zone[0] if zone else None


def _strip_site_suffix(title: str, url: str) -> str:
    """"Headline – SiteName" -> "Headline" when the short tail reads as a site name: a
    "#Tag", a domain, the URL's host, Latin after a non-Latin headline, or after "|".
    A spaced hyphen alone is not enough: Hindi headlines quote speakers with it."""
    match = _SITE_SUFFIX.match(title)
    if not match or len(match["tail"].split()) > 4 or len(match["head"].split()) < 3:
        return title
    tail, sep = match["tail"].strip(), match["sep"]
    key = "".join(words(tail))
    labels = [label for label in (urlsplit(url).hostname or "").split(".")[:-1] if len(label) > 3]
    is_site = (
        sep == "|"
        or tail.startswith("#")
        or _DOMAIN_END.search(tail) is not None
        or (len(key) >= 3 and any(key in label or label in key for label in labels))
        or (sep != "-" and _script_differs(match["head"], tail))
    )
    return match["head"].strip() if is_site else title


def _script_differs(head: str, tail: str) -> bool:
    """A Latin site name after a headline in another script (Devanagari, ...)."""
    return bool(_NON_LATIN_LETTER.search(head)) and not _NON_LATIN_LETTER.search(tail)


# ---- Body ------------------------------------------------------------------------------
def _is_subheading(line: _Line, counts: Counter[str]) -> bool:
    """A short unpunctuated line between paragraphs; longer or punctuated ones
    (teasers of other stories) and lines repeated on the page are not article text."""
    return (
        len(line.words) <= _MAX_SUBHEADING_WORDS
        and not _CLAUSE_PUNCT.search(line.text)
        and counts[line.folded] == 1
    )


def _candidates(lines: list[_Line], title: str) -> list[_Line]:
    """Paragraphs and subheadings of the article run; captions quoting the headline out."""
    counts = Counter(line.folded for line in lines)
    folded_title = _fold(title)
    return [
        line
        for line in lines
        if not (folded_title and folded_title in line.folded)
        and (line.kind == PROSE or (line.kind == SHORT and _is_subheading(line, counts)))
    ]


def _grams(tokens: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def _covered(tokens: list[str], others: list[list[str]]) -> bool:
    """Most of the tokens' 4-grams (whole sequence when shorter) occur in the others."""
    size = min(4, len(tokens))
    grams = _grams(tokens, size) if size else set()
    pool = set().union(*(_grams(other, size) for other in others)) if grams else set()
    return bool(grams) and len(grams & pool) >= _REPEAT_SHARE * len(grams)


def _drop_repeats(lines: list[_Line], title: str) -> list[_Line]:
    """Drop a line whose text repeats the headline or other kept lines (summaries,
    captions, a lead printed twice); of two copies the later, in-flow one stays."""
    kept = list(lines)
    for line in lines:
        others = [other.words for other in kept if other is not line] + [words(title)]
        if _covered(line.words, others):
            kept.remove(line)
    return kept


# ---- Metadata --------------------------------------------------------------------------
def _authors(zone: list[_Line]) -> tuple[list[str], str | None]:
    names: list[str] = []
    source = None
    for line in zone:
        byline = parse_byline(line.text)
        if byline and byline.authors:
            names += byline.authors
            source = source or f"text:{byline.source}"
    if block := reporter_names([line.text for line in zone]):
        names += block
        source = source or "text:reporter-block"
    return list(dict.fromkeys(names)), source


def _stated_date(zone: list[_Line], tz: tzinfo) -> tuple[str, str] | None:
    """Publication date from the byline/date lines; an "Updated" date only as fallback."""
    found: list[tuple[bool, str, str]] = []
    for line in zone:
        if line.kind != META:
            continue
        source = "text:byline" if parse_byline(line.text) else "text:date-line"
        for segment in line.text.split("|"):
            value = find_date(segment)
            if value is not None:
                updated = bool(UPDATED_LABEL.match(segment.strip()))
                found.append((updated, to_iso(value, tz), source))
    found.sort(key=lambda item: item[0])  # stable: first published, else first updated
    return (found[0][1], found[0][2]) if found else None


def _default_tz(language: str | None, url: str) -> tzinfo:
    """Indian pages print local time without a zone; elsewhere the archive uses UTC."""
    host = urlsplit(url).hostname or ""
    return IST if language in INDIAN_LANGUAGES or host.endswith(".in") else UTC


def extract_text_page(text: str, url: str) -> Extracted:
    """Article, headline, byline/agency, date and language of a plain-text page."""
    lines = _lines(text)
    run = _body_run(lines)
    start, end = run if run else (len(lines), len(lines) - 1)
    header = _header_start(lines, start)
    title_at = _pick_title(lines, header, start, url)
    title = _strip_site_suffix(lines[title_at].text, url) if title_at is not None else ""

    body = _drop_repeats(_candidates(lines[start : end + 1], title), title)
    paragraphs = [line.text for line in body]
    trailing = None
    if paragraphs:
        paragraphs[-1], trailing = split_trailing_agency(paragraphs[-1])
    body_text = "\n\n".join(paragraphs)

    zone = [line for i, line in enumerate(lines[header:start], header) if i != title_at]
    zone += _tail(lines, end)
    zone_texts = [line.text for line in zone]
    agency = (
        find_agency(zone_texts)
        or (trailing and (trailing, "trailing-tag"))
        or find_agency(paragraphs[:1])
    )
    authors, authors_from = _authors(zone)  # an agency credit is never an author
    language = detect_language(body_text or title)
    date = _stated_date(zone, _default_tz(language, url))

    provenance = {"text": "text:prose-run"}
    if title:
        provenance["title"] = "text:first-line" if title_at == 0 else "text:headline-line"
    if authors_from:
        provenance["authors"] = authors_from
    if date:
        provenance["published_at"] = date[1]
    if agency:
        provenance["agency"] = f"text:{agency[1]}"
    if language:
        provenance["language"] = "text:langid"
    return Extracted(
        text=body_text,
        title=title or None,
        authors=authors,
        published_at=date[0] if date else None,
        language=language,
        agency=agency[0] if agency else None,
        provenance=provenance,
        extractor=EXTRACTOR,
    )
