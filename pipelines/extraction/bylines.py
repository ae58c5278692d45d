"""Bylines and wire agencies as pages state them in a line of text.

A page credits its article in a handful of shapes: ``By Jane Doe``, ``Jane Doe |
Published: ...``, ``07:26 AM Jun 06, 2025 IST | IANS``, ``Credit by RT News``, a reporter
name followed by a role line (``Reporter The Printlines ...``), a bare agency line at the
end of the body (``आईएएनएस``, ``(भाषा)``) or a wire dateline (``नई दिल्ली, 19 जून (भाषा)``).
Deduplication stores the wire agency of each article, so :func:`detect_agency` gives one
canonical name per agency whatever script or spelling the page used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import regex

from pipelines.extraction.dates import find_date
from pipelines.extraction.normalize import nfc

# Canonical agency -> the spellings pages use (matched whole, case-insensitively).
AGENCIES: dict[str, tuple[str, ...]] = {
    "IANS": ("IANS", "आईएएनएस"),
    "PTI": ("PTI", "पीटीआई", "Press Trust of India"),
    "Bhasha": ("भाषा", "Bhasha", "पीटीआई-भाषा", "PTI-Bhasha", "पीटीआई भाषा"),
    "ANI": ("ANI", "एएनआई"),
    "UNI": ("UNI", "यूएनआई", "यूनीवार्ता", "वार्ता"),
    "Reuters": ("Reuters", "रॉयटर्स", "रायटर्स", "रॉयटर"),
    "AFP": ("AFP", "एएफपी", "Agence France-Presse"),
    "AP": ("AP", "Associated Press", "एपी"),
    "Xinhua": ("Xinhua", "शिन्हुआ"),
    "DPA": ("dpa", "Deutsche Presse-Agentur"),
    "EFE": ("EFE",),
    "ANSA": ("ANSA",),
    "Kyodo": ("Kyodo", "Kyodo News"),
    "Yonhap": ("Yonhap",),
    # An unnamed wire: "Agencies", "एजेंसी", "Agenturen", "Agencias".
    "Agencies": ("Agencies", "Agency", "एजेंसी", "एजेंसियां", "एजेंसियों", "Agenturen",
                 "Agencias", "Agences", "Agenzie", "Agências"),
}
# Words that make a credit a feed, desk or organisation, never a person ("RT News",
# "Web Desk", "News Bureau"). A desk is the outlet's own staff, not a wire agency.
# "Agency" alone is not one: "Thrive Agency" is a business that writes its own posts.
FEED_WORDS = frozenset({"news", "feed", "feeds", "wire", "wires", "agencies", "एजेंसी",
                        "न्यूज़", "न्यूज"})
DESK_WORDS = frozenset({"desk", "bureau", "newsroom", "डेस्क", "ब्यूरो"})
# Labels before a person's name, in the archive's languages: "By", "Written by",
# "Von", "Par", "Por", "Di", "Door", "Av", "Oleh", "Author:", "द्वारा"; the Hindi
# nouns need a colon or dash, being ordinary words. Whatever follows must be names
# only (:func:`_credits`), which keeps sentences ("Von Montag an ...") out.
BYLINE_LABEL = (
    r"(?:(?:(?:article|story|post)\s+)?(?:written|reported|reporting|story|posted|article|words|text)\s+by|by|von|par|por"
    r"|di|door|av|af|oleh|द्वारा"
    r"|(?:authors?|autor(?:es|in|a)?|auteurs?|autore|auteur\(e\)|contributors?|автор|yazar)"
    r"(?=\s*[:：]|\s+\p{Lu}|\s*$)"
    r"|(?:लेखक|रिपोर्ट|रिपोर्टर)\s*[:：\-–])"
)
BY_PREFIX = regex.compile(rf"^{BYLINE_LABEL}\s*[:：]?\s+(?P<rest>.+)$", regex.IGNORECASE)
# "राम कुमार द्वारा": Hindi puts the postposition after the name.
BY_SUFFIX = regex.compile(r"^(?P<rest>.+?)\s+द्वारा\s*$")
# Post-nominal letters ("MD", "PhD", "E-RYT 200") that follow a name after a comma.
CREDENTIAL = regex.compile(
    r"^(?:[A-Z][A-Za-z]?\.?){1,3}(?:[A-Z]+)?(?:[-\s]?[A-Z0-9]+)*$|^(?:Ph\.?D|M\.?Sc|B\.?Sc|Jr|Sr)\.?$"
)
# "Jane Doe on behalf of the Rust team": the team is the publisher, Jane the writer.
_ON_BEHALF = regex.compile(r"\s+on\s+behalf\s+of\s+.*$", regex.I)
CREDIT_PREFIX = regex.compile(
    r"^(?:credits?\s*(?:by|:)|courtesy\s*(?:of|:)|सौजन्य\s*[:：\-–]|साभार\s*[:：\-–]?)"
    r"\s*(?P<rest>.+)$",
    regex.IGNORECASE,
)
# "Input: IANS", "(With inputs from PTI)", "इनपुट- भाषा": an agency credit at the end.
INPUT_PREFIX = regex.compile(
    r"^(?:with\s+inputs?\s+from|inputs?|source|एजेंसी\s+इनपुट|इनपुट|स्रोत)\s*[:：\-–]?\s*",
    regex.IGNORECASE,
)
# A role line under a reporter's name: "Reporter The Printlines", "वरिष्ठ संवाददाता".
ROLE_LINE = regex.compile(
    r"^(?:senior\s+|special\s+|chief\s+|staff\s+|sub[-\s]?)?"
    r"(?:reporter|correspondent|journalist|editor|writer|contributor|columnist)"
    r"(?![\p{L}'’])"
    r"|^(?:वरिष्ठ\s+|विशेष\s+|उप\s+)?(?:संवाददाता|रिपोर्टर|पत्रकार|संपादक)(?!\p{L}|\p{M})",
    regex.IGNORECASE,
)
DATE_LABEL = regex.compile(
    r"^(?:published|updated|posted|last\s+updated|first\s+published|modified|"
    r"प्रकाशित|अपडेटेड|अपडेट|प्रकाशन|दिनांक)",
    regex.IGNORECASE,
)
# CMS account names that are not a person's byline.
PLACEHOLDER_AUTHORS = frozenset({
    "admin", "administrator", "root", "webmaster", "guest", "user", "author", "editor",
    "unknown", "anonymous", "wordpress", "एडमिन",
})
# Words of link labels and headings that look like names when capitalised ("More
# About Me", "View All Posts", "The Team"): a person's name has none of them.
LABEL_WORDS = frozenset({
    "about", "more", "me", "my", "our", "us", "the", "view", "read", "all", "posts",
    "follow", "contact", "see", "latest", "articles", "stories", "share", "subscribe",
})
NAME_PARTICLES = frozenset({"de", "da", "di", "del", "van", "von", "der", "bin", "al", "la", "le"})

_SEGMENT_SPLIT = regex.compile(r"\s*[|•·⋅‧]\s*")
# The names end at a date label ("By Jane Doe Published: ...") or an editor credit.
_NAMES_END = regex.compile(
    r"(?:\s+(?:published|updated|posted|प्रकाशित|अपडेट)(?!\p{L})|;\s*editing\s+by).*$",
    regex.IGNORECASE,
)
_NAME_SPLIT = regex.compile(r"\s*(?:,|;|&|\band\b|\sऔर\s|\sएवं\s)\s*", regex.IGNORECASE)
_NAME_AND_ROLE = regex.compile(r"^(?P<name>[^,|–—]+?)\s*[,|–—]\s*(?P<role>.+)$")
_NAME_TOKEN = regex.compile(r"^[\p{L}\p{M}][\p{L}\p{M}.'’-]*$")
_WRAPPING = "()[]{}-–—:：।.,|\"'“”‘’ "
_DATELINE = regex.compile(r"^(?P<place>[^()।.!?\n]{2,40}?)\s*\(\s*(?P<tag>[^()]{2,30}?)\s*\)")
_TRAILING_TAG = regex.compile(
    r"\s*(?:\(\s*(?P<paren>[^()]{2,40}?)\s*\)|[-–—]{1,2}\s*(?P<dash>[^-–—\s][^-–—]{0,30}?))"
    r"\s*[।.]?\s*$"
)


@dataclass
class Byline:
    """What one line credits: people, and the wire agency when it names one."""

    authors: list[str] = field(default_factory=list)
    agency: str | None = None
    source: str = "byline"  # "byline", "credit-line" or "agency-line"


def _fold(text: str) -> str:
    return " ".join(nfc(text).casefold().replace("\u093c", "").split())


_AGENCY_BY_ALIAS = {_fold(alias): name for name, aliases in AGENCIES.items() for alias in aliases}


def agency_name(text: str) -> str | None:
    """Canonical agency when text is nothing but an agency credit (brackets allowed)."""
    token = INPUT_PREFIX.sub("", text.strip(_WRAPPING)).strip(_WRAPPING)
    return _AGENCY_BY_ALIAS.get(_fold(token))


def is_organisation(text: str) -> bool:
    """An agency, feed or desk credit ("PTI", "RT News", "Web Desk"): never a person."""
    words = {_fold(t) for t in text.split()}
    return bool(agency_name(text)) or not words.isdisjoint(FEED_WORDS | DESK_WORDS)


def credited_source(text: str) -> str | None:
    """The wire agency or feed a non-person credit names, as stored in ``agency``:
    the canonical agency, or the feed as printed ("RT News"); None for a desk, which
    is the outlet's own staff, or for anything else."""
    if agency := agency_name(text):
        return agency
    words = {_fold(t) for t in text.split()}
    if words.isdisjoint(FEED_WORDS) or not words.isdisjoint(DESK_WORDS) or len(text) > 40:
        return None
    return text.strip(_WRAPPING)


def is_person_name(text: str) -> bool:
    """A plausible printed name: 2-5 name-shaped words, not a CMS placeholder or a feed."""
    tokens = text.split()
    if not 2 <= len(tokens) <= 5 or len(text) > 50:
        return False
    folded = {_fold(t) for t in tokens}
    if not folded.isdisjoint(PLACEHOLDER_AUTHORS | LABEL_WORDS):  # "Site Admin", "More About Me"
        return False
    if is_organisation(text):
        return False
    if not all(_NAME_TOKEN.match(t) for t in tokens):
        return False
    # Latin names are capitalised; this keeps "By the end of the year" out.
    latin = [t for t in tokens if t[0].isascii() and t.lower() not in NAME_PARTICLES]
    return all(t[0].isupper() for t in latin)


def _before_date(items: list[str]) -> list[str]:
    """The items before a date that closes the list ("Jane Doe, Dec 17, 2025")."""
    for end in range(len(items) - 1, 0, -1):
        if find_date(", ".join(items[end:])) is not None:
            return items[:end]
    return items


def _credits(names: str) -> Byline | None:
    """People and agency in a list of names ("Jane Doe, Raj Mehta and PTI"), up to a
    closing date; None when any item is not a name, as in "By Friday, the council had
    voted". A desk ("Web Desk") is neither person nor agency: it is skipped."""
    items = [i for i in _NAME_SPLIT.split(names.strip(_WRAPPING)) if i]
    # "Jane Doe, MD, FACP": the letters after a name are her credentials
    items = items[:1] + [i for i in items[1:] if is_organisation(i) or not CREDENTIAL.match(i)]
    if not all(map(is_person_name, items)):
        items = _before_date(items)
    byline = Byline()
    for name in items:
        if is_organisation(name):
            byline.agency = byline.agency or credited_source(name)
        elif is_person_name(name):
            byline.authors.append(name)
        else:
            return None
    return byline


def _is_dated(segment: str) -> bool:
    return bool(DATE_LABEL.match(segment)) or find_date(segment) is not None


def _by_line(line: str) -> Byline | None:
    first, *_ = _SEGMENT_SPLIT.split(line)
    match = BY_PREFIX.match(line) or BY_SUFFIX.match(first)
    if not match:
        return None
    names, *rest = _SEGMENT_SPLIT.split(match["rest"])
    byline = _credits(_NAMES_END.sub("", names))
    for segment in rest if byline else ():
        byline.agency = byline.agency or agency_name(segment)
    return byline


def _pipe_line(line: str) -> Byline | None:
    """"Jane Doe | Published: ..." or "07:26 AM Jun 06, 2025 IST | IANS"."""
    segments = [s for s in _SEGMENT_SPLIT.split(line) if s]
    if len(segments) < 2:  # before looking for dates: most lines have no separator
        return None
    dated = [s for s in segments if _is_dated(s)]
    if not dated:
        return None
    byline = Byline()
    for segment in segments:
        if segment in dated:
            continue
        credit = _credits(segment)
        if credit is None:
            return None
        byline.authors += credit.authors
        byline.agency = byline.agency or credit.agency
    return byline


def parse_byline(line: str) -> Byline | None:
    """The credit a line states, or None when the line is not a byline."""
    line = _ON_BEHALF.sub("", line.strip())
    if agency := agency_name(line):
        return Byline(agency=agency, source="agency-line")
    if credit := CREDIT_PREFIX.match(line):
        # "Credit by RT News" names the feed the copy came from, "Credit: Jane Doe"
        # a photographer: neither is the writer, so only a feed or agency is kept.
        source = credited_source(credit["rest"])
        byline = Byline(agency=source, source="credit-line") if source else None
    else:
        byline = _by_line(line) or _pipe_line(line)
    if byline is None or not (byline.authors or byline.agency):
        return None
    return byline


def is_role_line(line: str) -> bool:
    """A short job-title line printed under a reporter's name."""
    return len(line.split()) <= 15 and bool(ROLE_LINE.match(line.strip()))


def name_with_role(line: str) -> str | None:
    """The name in "Aarti Kushwaha, Reporter" (name and role on one line)."""
    match = _NAME_AND_ROLE.match(line.strip())
    if match and is_person_name(match["name"]) and is_role_line(match["role"]):
        return match["name"]
    return None


def reporter_names(lines: list[str]) -> list[str]:
    """Names of an author block: a name line above a role line, or "Name, Role"."""
    names = [
        prev.strip()
        for prev, line in pairwise(lines)
        if is_role_line(line) and is_person_name(prev.strip()) and not is_role_line(prev)
    ]
    return names + [name for line in lines if (name := name_with_role(line))]


def split_trailing_agency(paragraph: str) -> tuple[str, str | None]:
    """A paragraph without its closing wire tag ("... कहा। (भाषा)"), and the agency."""
    match = _TRAILING_TAG.search(paragraph)
    agency = match and agency_name(match["paren"] or match["dash"])
    if not agency:
        return paragraph, None
    return paragraph[: match.start()].rstrip(), agency


def _line_agency(line: str) -> tuple[str, str] | None:
    """(agency, where) for one line: a byline, a wire dateline or a closing tag."""
    if byline := parse_byline(line):
        return (byline.agency, byline.source) if byline.agency else None
    dateline = _DATELINE.match(line)
    if dateline and (agency := agency_name(dateline["tag"])):
        return agency, "dateline"
    if agency := split_trailing_agency(line)[1]:
        return agency, "trailing-tag"
    return None


def find_agency(lines: list[str]) -> tuple[str, str] | None:
    """The first agency the lines credit, with a short code for where it was stated."""
    for line in lines:
        if line.strip() and (found := _line_agency(line)):
            return found
    return None


def closing_name(paragraphs: list[str]) -> str | None:
    """A reporter's name printed alone as the article's last paragraph ("Lê Phương",
    "(राम कुमार)"), as many news sites sign their copy; None otherwise."""
    last = paragraphs[-1].strip(_WRAPPING) if paragraphs else ""
    # two or three words: a longer capitalised line is a slogan ("Follow Us On ...")
    return last if len(last.split()) <= 3 and is_person_name(last) else None


def detect_agency(text: str) -> str | None:
    """Canonical wire agency the text credits (IANS, PTI, Bhasha, ...), else None.

    Only credit positions count (a byline, a bare agency line, a wire dateline, a
    closing tag), so an article *about* an agency does not become its copy.
    """
    found = find_agency(text.splitlines())
    return found[0] if found else None
