"""Word shingles and the shape of a story signature: what the extraction workers, which
compute signatures (``pipelines.keys.copies``), and story linking, which compares them
(``archive.stories``), must agree on. Without SQLAlchemy or numpy, so that each side
loads only its own half (the workers no database code, the crawl process no numpy).

Shingles come from ``normalize.words`` (NFC, Devanagari words kept whole).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from pipelines.extraction.normalize import words

SHINGLE_WORDS = 5  # word 5-grams: same-topic stories share names and phrases, not 5-grams
NUM_PERM = 128
# LSH aims at this Jaccard: low, so that trimmed copies (Jaccard ~ share kept) are found.
LSH_THRESHOLD = 0.3
# The (bands, rows) datasketch's MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
# chooses (by integrating false positive and negative rates with scipy, which is why the
# number is written here rather than computed: tests/test_stories.py checks it).
LSH_BANDS, LSH_ROWS = 37, 3
BANDS: Sequence[tuple[int, int]] = [(i * LSH_ROWS, (i + 1) * LSH_ROWS) for i in range(LSH_BANDS)]
# The lead's bands: near-identical leads (Jaccard ~0.8 after a new dateline) collide in
# one of 6 bands of 4 rows 96% of the time; unrelated leads (~0.01) once in 10^7.
LEAD_WORDS = 60
LEAD_MIN_LINE_WORDS = 30  # the lead starts at the first line this long (not a headline)
LEAD_BANDS: Sequence[tuple[int, int]] = [(i * 4, i * 4 + 4) for i in range(6)]


def shingle_hashes(tokens: Sequence[str]) -> set[int]:
    """CRC-32 of each word shingle (of the whole text if shorter than one): 32 bits are
    plenty for sets of a few thousand shingles, and CRC-32 is the fastest stable hash at
    hand (the MinHash mixes its input again)."""
    return encoded_shingle_hashes([token.encode("utf-8") for token in tokens])


def encoded_shingle_hashes(encoded: Sequence[bytes]) -> set[int]:
    """:func:`shingle_hashes` of words already encoded as UTF-8. The shingles are zipped
    from shifted copies of the word list and hashed with ``map``: the loop runs in C, a
    fifth faster than slicing the list once per shingle."""
    if len(encoded) < SHINGLE_WORDS:
        return {zlib.crc32(b" ".join(encoded))} if encoded else set()
    shifted = [encoded[i:] for i in range(SHINGLE_WORDS)]  # zip stops at the shortest
    return set(map(zlib.crc32, map(b" ".join, zip(*shifted, strict=False))))


def shingles(text: str) -> set[int]:
    """Hashes of the text's word shingles (the whole text if shorter than one)."""
    return shingle_hashes(words(text))
