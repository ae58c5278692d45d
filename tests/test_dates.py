"""Dates stated in page text, in English and Hindi, to ISO 8601 with an offset."""

from __future__ import annotations

from datetime import UTC

import pytest

from pipelines.extraction.dates import (
    HINDI_MONTHS,
    HINDI_WEEKDAYS,
    IST,
    PUBLISHED_LABEL,
    find_date,
    parse_date,
    to_latin,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07:26 AM Jun 06, 2025 IST", "2025-06-06T07:26:00+05:30"),
        ("07:26 AM Jun 06, 2025 IST | IANS", "2025-06-06T07:26:00+05:30"),
        ("Published: June 19, 2024 05:34 PM", "2024-06-19T17:34:00+05:30"),
        ("2024-06-19T17:34:00+5:30", "2024-06-19T17:34:00+05:30"),
        ("2024-06-19T17:34:00+0530", "2024-06-19T17:34:00+05:30"),
        ("2024-06-05T10:00:00Z", "2024-06-05T10:00:00+00:00"),
        # a CMS printing the text date and two ISO stamps with no space between
        (
            "By X | Published: June 19, 2024 05:34 PM2024-06-19T17:34:00+5:30"
            "2024-06-19T17:35:36+5:30",
            "2024-06-19T17:34:00+05:30",
        ),
        ("बुधवार, 19 जून 2024", "2024-06-19T00:00:00+05:30"),
        ("19 जून, 2024 05:34 PM", "2024-06-19T17:34:00+05:30"),
        ("जून 19, 2024", "2024-06-19T00:00:00+05:30"),
        ("१९ जून २०२४", "2024-06-19T00:00:00+05:30"),
        ("प्रकाशित: २० जून २०२४, ०३:१५ अपराह्न", "2024-06-20T15:15:00+05:30"),
        ("५ फ़रवरी २०२५", "2025-02-05T00:00:00+05:30"),  # with nukta
        ("५ फरवरी २०२५", "2025-02-05T00:00:00+05:30"),
        ("Wed, 19 Jun 2024 17:34:00 +0530", "2024-06-19T17:34:00+05:30"),
        ("Mar. 3, 2024 at 10:15 a.m. EST", "2024-03-03T10:15:00-05:00"),
        ("19-Jun-2024 10:00", "2024-06-19T10:00:00+05:30"),
        ("05/06/2024", "2024-06-05T00:00:00+05:30"),  # day first, as Indian pages write
        ("2024/06/05", "2024-06-05T00:00:00+05:30"),
    ],
)
def test_parse_stated_dates(text: str, expected: str) -> None:
    assert parse_date(text, default_tz=IST) == expected


@pytest.mark.parametrize(("month", "english"), sorted(HINDI_MONTHS.items()))
def test_every_hindi_month_spelling(month: str, english: str) -> None:
    value = find_date(f"3 {month} 2024")
    assert value is not None
    assert value.strftime("%B") == english


@pytest.mark.parametrize("weekday", sorted(HINDI_WEEKDAYS))
def test_hindi_weekday_names(weekday: str) -> None:
    assert parse_date(f"{weekday}, 1 जनवरी 2024", default_tz=IST) == "2024-01-01T00:00:00+05:30"
    assert HINDI_WEEKDAYS[weekday] in to_latin(weekday)


def test_devanagari_digits_and_nukta_are_normalised() -> None:
    assert to_latin("०१२३४५६७८९ फ़रवरी") == "0123456789 February"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "कोई तारीख नहीं",
        "No date in this line",
        "19 जून की सुबह",  # no year: not a stated date
        "June 2024",
        "Top News 2025",
        "1910-45 के जापान के औपनिवेशिक शासन",
    ],
)
def test_dateless_text_gives_none(text: str) -> None:
    assert parse_date(text) is None


def test_zone_defaults() -> None:
    assert parse_date("June 19, 2024 05:34 PM") == "2024-06-19T17:34:00+00:00"
    assert parse_date("June 19, 2024 05:34 PM", default_tz=None) is None
    assert parse_date("June 19, 2024 05:34 PM IST", default_tz=UTC) == (
        "2024-06-19T17:34:00+05:30"
    )


def test_first_date_in_running_text() -> None:
    value = find_date("Aaj Ka Rashifal, 14 July 2025: वैदिक ज्योतिष ... 20 July 2025")
    assert value is not None
    assert value.date().isoformat() == "2025-07-14"


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("Published: June 19, 2024", True),
        ("Posted on March 3, 2024", True),
        ("Publication date 3 March 2024", True),
        ("प्रकाशित: २० जून २०२४", True),
        ("Veröffentlicht am 3. März 2024", True),
        ("Publisher: The Daily Example", False),
        ("Posts by Jane Doe", False),
        ("Updated March 3, 2024", False),
    ],
)
def test_published_label(line: str, label: bool) -> None:
    assert bool(PUBLISHED_LABEL.match(line)) is label
