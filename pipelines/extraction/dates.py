"""Dates as pages state them, turned into ISO 8601 with an offset.

Pages give dates in many shapes: machine-readable ISO strings in meta tags and JSON-LD,
and human text such as ``07:26 AM Jun 06, 2025 IST`` or Hindi month names. Everything
that stores a date calls :func:`parse_date`, so the archive holds one format.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

from dateutil import parser as dateutil_parser

IST = timezone(timedelta(hours=5, minutes=30), "IST")
_TZINFOS = {"IST": IST, "UTC": timezone.utc, "GMT": timezone.utc}


def to_iso(value: datetime, default_tz: tzinfo | None = None) -> str | None:
    """ISO 8601 with offset; a naive value gets default_tz, or None when there is none."""
    if value.tzinfo is None:
        if default_tz is None:
            return None
        value = value.replace(tzinfo=default_tz)
    return value.isoformat(timespec="seconds")


def parse_date(text: str, *, default_tz: tzinfo | None = timezone.utc) -> str | None:
    """Parse one stated date; None when text holds no date.

    A date with no time of day is kept at midnight in default_tz: the page stated the
    day, and storing the offset keeps the value comparable with full timestamps.
    """
    text = text.strip()
    if not text:
        return None
    try:
        value = dateutil_parser.parse(text, tzinfos=_TZINFOS)
    except (ValueError, OverflowError):
        return None
    return to_iso(value, default_tz)
