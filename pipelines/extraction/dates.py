"""Dates as pages state them, turned into ISO 8601 with an offset.

Pages give dates in many shapes: machine-readable ISO strings in meta tags and JSON-LD,
and human text such as ``07:26 AM Jun 06, 2025 IST``, ``Published: June 19, 2024 05:34
PM`` or ``बुधवार, 19 जून 2024`` (Hindi month and weekday names, Devanagari digits).
Everything that stores a date calls :func:`parse_date`, so the archive holds one format.

Only a full date (day, month and year) counts as stated: a bare "19 June" or "2024"
would be completed from today's date by a lenient parser and store a day nobody wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import regex
from dateutil import parser as dateutil_parser

from pipelines.extraction.normalize import nfc

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def _zone(hours: float, name: str) -> timezone:
    return timezone(timedelta(hours=hours), name)


# Abbreviations news pages print after a time; dateutil knows none of them by itself.
_TZINFOS = {
    "IST": IST, "UTC": UTC, "GMT": UTC, "Z": UTC,
    "EST": _zone(-5, "EST"), "EDT": _zone(-4, "EDT"), "PST": _zone(-8, "PST"),
    "PDT": _zone(-7, "PDT"), "BST": _zone(1, "BST"), "CET": _zone(1, "CET"),
    "CEST": _zone(2, "CEST"), "MSK": _zone(3, "MSK"), "JST": _zone(9, "JST"),
}

# Hindi calendar words, keyed without nukta (फ़रवरी and फरवरी are both written).
HINDI_MONTHS = {
    "जनवरी": "January", "फरवरी": "February", "मार्च": "March", "अप्रैल": "April",
    "अप्रेल": "April", "मई": "May", "जून": "June", "जुलाई": "July", "अगस्त": "August",
    "सितंबर": "September", "सितम्बर": "September", "अक्टूबर": "October",
    "अक्तूबर": "October", "नवंबर": "November", "नवम्बर": "November",
    "दिसंबर": "December", "दिसम्बर": "December",
}
HINDI_WEEKDAYS = {
    "सोमवार": "Monday", "मंगलवार": "Tuesday", "बुधवार": "Wednesday", "गुरुवार": "Thursday",
    "बृहस्पतिवार": "Thursday", "शुक्रवार": "Friday", "शनिवार": "Saturday",
    "रविवार": "Sunday",
}
HINDI_MERIDIEM = {"पूर्वाह्न": "AM", "अपराह्न": "PM"}
_HINDI_WORDS = HINDI_MONTHS | HINDI_WEEKDAYS | HINDI_MERIDIEM

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DROPPED_MARKS = dict.fromkeys(map(ord, "\u093c\u200c\u200d\u200b\ufeff"), None)
_DEVANAGARI_WORD = regex.compile(r"[\p{Devanagari}]+")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
_OFFSET = r"[+-]\d{1,2}:?\d{2}"
_TZ = rf"(?:{'|'.join(_TZINFOS)}|{_OFFSET})"
_HUMAN_DATE = (
    rf"{_MONTH}\s+{_DAY},?\s+\d{{4}}"  # June 19, 2024
    rf"|{_DAY}[\s-]+{_MONTH},?[\s-]+\d{{4}}"  # 19 June 2024, 19-Jun-2024
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}"  # 19/06/2024 (day first, as Indian pages write)
    r"|\d{4}/\d{1,2}/\d{1,2}"  # 2024/06/19
)
_STATED_DATE = regex.compile(
    rf"(?<!\d)(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}}"
    rf"(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|{_OFFSET})?)?)"
    rf"|(?:(?P<time1>{_TIME})\s*,?\s*)?(?P<date>{_HUMAN_DATE})"
    rf"(?:\s*(?:,|at|-|–)?\s*(?P<time2>{_TIME}))?(?:\s*(?P<tz>{_TZ})(?![a-z]))?)",
    regex.IGNORECASE,
)
_SHORT_OFFSET = regex.compile(r"([+-])(\d{1,2}):?(\d{2})$")
# A line that states when the page was last changed, not first published
# ("Updated ...", "अपडेटेड ...", "Aktualisiert ..."): never the publication date.
UPDATED_LABEL = regex.compile(
    r"^\s*(?:(?:last\s+)?(?:updated|modified|edited)|अपडेट|संशोधित|aktualisiert"
    r"|mis\s+à\s+jour|actualizado|atualizado|aggiornato|bijgewerkt|oppdatert|opdateret"
    r"|uppdaterad)",
    regex.IGNORECASE,
)

# A line that states when the page was first published ("Published: ...", "Posted on
# ...", "प्रकाशित: ..."), the date an article's own label gives.
PUBLISHED_LABEL = regex.compile(
    r"^\s*(?:(?:first\s+|originally\s+)?(?:published|posted)(?:\s+(?:on|at))?|publication\s+date"
    r"|date\s+published|प्रकाशित|veröffentlicht|publié(?:\s+le)?|publicado(?:\s+el)?"
    r"|pubblicato(?:\s+il)?|gepubliceerd(?:\s+op)?)(?![\p{L}\p{M}])",
    regex.IGNORECASE,
)


def to_iso(value: datetime, default_tz: tzinfo | None = None) -> str | None:
    """ISO 8601 with offset; a naive value gets default_tz, or None when there is none."""
    if value.tzinfo is None:
        if default_tz is None:
            return None
        value = value.replace(tzinfo=default_tz)
    return value.isoformat(timespec="seconds")


def to_latin(text: str) -> str:
    """Text with Hindi calendar words in English and Devanagari digits in ASCII.

    Date parsers know English month names and ASCII digits only; translating the few
    calendar words first lets one grammar read both scripts.
    """
    text = nfc(text).translate(_DROPPED_MARKS).translate(_DEVANAGARI_DIGITS)
    return _DEVANAGARI_WORD.sub(lambda m: _HINDI_WORDS.get(m[0], m[0]), text)


def _pad_offset(value: str) -> str:
    """``+5:30`` or ``+0530`` -> ``+05:30``: the short forms some CMSs print."""
    return _SHORT_OFFSET.sub(lambda m: f"{m[1]}{int(m[2]):02d}:{m[3]}", value)


def _parse_match(match: regex.Match[str]) -> datetime | None:
    if match["iso"]:
        return datetime.fromisoformat(_pad_offset(match["iso"]))
    parts = [match["date"], match["time1"] or match["time2"] or "", match["tz"] or ""]
    stated = " ".join(p for p in parts if p).replace(".m.", "m").replace(".M.", "M")
    if match["tz"] and match["tz"][0] in "+-":
        stated = stated.removesuffix(match["tz"]) + _pad_offset(match["tz"])
    year_first = match["date"][:4].isdigit()
    return dateutil_parser.parse(stated, tzinfos=_TZINFOS, dayfirst=not year_first)


def find_dates(text: str) -> Iterator[datetime]:
    """Every full date (with its time and zone when stated) in text, in order."""
    for match in _STATED_DATE.finditer(to_latin(text)):
        try:
            value = _parse_match(match)
        except (ValueError, OverflowError):
            continue
        if value is not None and 1900 <= value.year <= 2100:
            yield value


def find_date(text: str) -> datetime | None:
    """The first full date (with its time and zone when stated) anywhere in text."""
    return next(find_dates(text), None)


def parse_date(text: str, *, default_tz: tzinfo | None = UTC) -> str | None:
    """Parse the first date stated in text (a bare value or a line around it); else None.

    A date with no time of day is kept at midnight in default_tz: the page stated the
    day, and storing the offset keeps the value comparable with full timestamps.
    """
    value = find_date(text)
    return None if value is None else to_iso(value, default_tz)
