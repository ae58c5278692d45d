"""Language of an article's text.

py3langid ships its model inside the package (no download at run time) and is the
identifier trafilatura itself uses. Restricting the candidates to the languages a news
archive meets keeps short Hindi texts from being mistaken for Marathi or Nepali, which
share the script; pass ``languages`` to widen it.
"""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

DEFAULT_LANGUAGES = (
    "hi", "en", "ur", "bn", "pa", "gu", "mr", "ta", "te", "kn", "ml", "ne",
    "fr", "de", "es", "it", "pt", "nl", "ru", "ar", "zh", "ja",
)


@cache
def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(languages))
    # It keeps the whole 97-language model (19 MB) for a later set_languages, which this
    # identifier never gets: every extraction worker would carry it for nothing.
    identifier._full_model = None
    return identifier


def detect_language(
    text: str, languages: tuple[str, ...] = DEFAULT_LANGUAGES
) -> str | None:
    """ISO 639-1 code of the text's language, or None for text too short to tell."""
    sample = text[:4000]
    if sum(ch.isalpha() for ch in sample) < 20:
        return None
    code, _ = _identifier(languages).classify(sample)
    return code
