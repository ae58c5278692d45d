"""Text normalisation shared by extraction, deduplication and search.

Every component that compares or indexes text goes through these functions, so a
word indexed at crawl time is the same word a query or a shingle sees later.
"""

from __future__ import annotations

import re
import unicodedata

import regex

# Zero-width joiner / non-joiner change rendering only; they split words in tokenisers.
_ZERO_WIDTH = "\u200c\u200d\u200b\ufeff\u2060"
# A word is letters, marks (Devanagari vowel signs, virama, nukta) and digits.
# Python's `re` `\w` excludes the marks and would cut Hindi words into fragments.
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}]+)*")
# Horizontal white space runs that are not already a single space: replacing every
# lone space between words by a space was most of clean_text's time (this halves it).
# Python's `re`, as the characters are listed (no Unicode property needed): a bit faster.
_SPACES = re.compile(
    r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]"
)
# Terminal escape sequences (colour codes, window titles) whole, then any other C0/C1
# control character but tab and line breaks: a text dump saved from a terminal or a
# broken CMS carries them, and in the archive they corrupt every terminal, CSV and
# JSON consumer downstream.
_CONTROLS = regex.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0e-\x1f\x7f-\x9f]"
)
_PAGE_BREAKS = regex.compile(r"[\x0b\x0c]")  # vertical tab, form feed: line breaks
_BLANK_RUNS = re.compile(r"\n{3,}")  # two or more blank lines between stripped lines


def nfc(text: str) -> str:
    """NFC-normalise text: the composed form is what users type and what we store."""
    return unicodedata.normalize("NFC", text)


def drop_controls(text: str) -> str:
    """Text without control characters (ESC, BEL, NUL, C1 ...) or terminal escapes."""
    return _PAGE_BREAKS.sub("\n", _CONTROLS.sub("", text))


def clean_text(text: str) -> str:
    """NFC, unify horizontal white space, strip each line and collapse blank runs.

    White space is unified in one pass over the whole text (no character of ``_SPACES``
    breaks a line, so the lines are those one pass per line gives), and blank runs are
    collapsed by one substitution rather than line by line in Python."""
    lines = "\n".join(line.strip() for line in _SPACES.sub(" ", nfc(text)).splitlines())
    return _BLANK_RUNS.sub("\n\n", lines).strip()


def search_form(text: str) -> str:
    """The form used for indexing and querying: NFC, zero-width characters removed."""
    text = nfc(text)
    for char in _ZERO_WIDTH:  # 25x faster than str.translate on Devanagari text
        text = text.replace(char, "")
    return text


def words(text: str) -> list[str]:
    """Whole words (Devanagari kept whole), lower-cased, from the search form of text."""
    return [w.lower() for w in _WORD.findall(search_form(text))]
