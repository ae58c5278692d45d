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
}
# Labels before a person's name; Hindi ones need a colon or dash, being ordinary words.
BY_PREFIX = regex.compile(
    r"^(?:(?:written|reported|reporting|story|posted)\s+by|by|(?:लेखक|रिपोर्ट|रिपोर्टर)\s*[:：\-–])"
    r"\s*[:：]?\s+(?P<rest>.+)$",
    regex.IGNORECASE,
)
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
NAME_PARTICLES = frozenset({"de", "da", "di", "del", "van", "von", "der", "bin", "al", "la", "le"})

_SEGMENT_SPLIT = regex.compile(r"\s*[|•·]\s*")
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


def is_person_name(text: str) -> bool:
    """A plausible printed name: 2-5 name-shaped words, not a CMS placeholder."""
    tokens = text.split()
    if not 2 <= len(tokens) <= 5 or len(text) > 50:
        return False
    if any(_fold(t) in PLACEHOLDER_AUTHORS for t in tokens):  # "Site Admin", "Guest Author"
        return False
    if not all(_NAME_TOKEN.match(t) for t in tokens):
        return False
    # Latin names are capitalised; this keeps "By the end of the year" out.
    latin = [t for t in tokens if t[0].isascii() and t.lower() not in NAME_PARTICLES]
    return all(t[0].isupper() for t in latin)


def _credits(names: str) -> Byline | None:
    """People and agency in a list of names ("Jane Doe, Raj Mehta and PTI"); None when
    any item is not a name, as in "By Friday, the council had voted"."""
    byline = Byline()
    for name in filter(None, _NAME_SPLIT.split(names.strip(_WRAPPING))):
        if agency := agency_name(name):
            byline.agency = byline.agency or agency
        elif is_person_name(name):
            byline.authors.append(name)
        else:
            return None
    return byline


def _is_dated(segment: str) -> bool:
    return bool(DATE_LABEL.match(segment)) or find_date(segment) is not None


def _by_line(line: str) -> Byline | None:
    match = BY_PREFIX.match(line)
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
    dated = [s for s in segments if _is_dated(s)]
    if len(segments) < 2 or not dated:
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
    line = line.strip()
    if agency := agency_name(line):
        return Byline(agency=agency, source="agency-line")
    if credit := CREDIT_PREFIX.match(line):
        byline = _credits(credit["rest"])
        if byline:
            byline.source = "credit-line"
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


def detect_agency(text: str) -> str | None:
    """Canonical wire agency the text credits (IANS, PTI, Bhasha, ...), else None.

    Only credit positions count (a byline, a bare agency line, a wire dateline, a
    closing tag), so an article *about* an agency does not become its copy.
    """
    found = find_agency(text.splitlines())
    return found[0] if found else None
