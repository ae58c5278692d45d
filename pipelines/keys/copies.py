"""The keys that recognise a copy: a hash of the text's words (the same text under two
URLs) and its story signature (the same story reworded: ``archive.stories``).

Both come from one tokenisation of the text, in the extraction worker (``pipelines.
extract``), so the crawl process never tokenises a page and never loads numpy. The
MinHash is datasketch's (its default ``affine32`` scheme, seed 1), written out in numpy
because importing datasketch imports scipy for its LSH parameters: 56 MB in every
process, more than the rest of the signature code's memory together. The band hashes
it gives are datasketch's, bit for bit (``tests/test_stories.py``), so archives indexed
by earlier versions stay valid.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipelines.extraction.normalize import words
from pipelines.keys.shingles import (
    BANDS,
    LEAD_BANDS,
    LEAD_MIN_LINE_WORDS,
    LEAD_WORDS,
    NUM_PERM,
    encoded_shingle_hashes,
    shingle_hashes,
)

_permutations = np.random.RandomState(1)  # datasketch's MinHash(seed=1)
_A = _permutations.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
_B = _permutations.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)


def minhash(values: Sequence[int] | np.ndarray) -> np.ndarray:
    """The MinHash of a set of 32-bit hashes: murmur3's finaliser, then a_k * h + b_k."""
    hv = np.array(values, dtype=np.uint32)
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    products = np.multiply.outer(hv, _A)
    products += _B  # in place: one (shingles x 128) array, not two
    return products.min(axis=0)


def band_hashes(
    values: Sequence[int] | np.ndarray, bands: Sequence[tuple[int, int]]
) -> list[int]:
    """One signed 64-bit hash per LSH band of the set's MinHash (empty for an empty set)."""
    if len(values) == 0:
        return []
    # The signature's bytes once, sliced per band (4 bytes a row), not one array view
    # and one tobytes() call per band.
    signature = minhash(values).tobytes()
    return [
        int.from_bytes(
            hashlib.blake2b(signature[start * 4 : end * 4], digest_size=8).digest(),
            "little",
            signed=True,
        )
        for start, end in bands
    ]


def words_hash(tokens: Sequence[str]) -> str:
    """sha256 of the words: blind to white space, punctuation and Unicode form."""
    return hashlib.sha256(" ".join(tokens).encode("utf-8")).hexdigest()


def content_hash(text: str) -> str:
    return words_hash(words(text))


def _words_before_lead(text: str) -> int:
    """How many words the lines above the first line of :data:`LEAD_MIN_LINE_WORDS`
    words hold (0 when no line is that long). Lines are tokenised one by one only up
    to that line, usually the first or second, not the whole text a second time."""
    skipped = 0
    for line in text.splitlines():
        count = len(words(line))
        if count >= LEAD_MIN_LINE_WORDS:
            return skipped
        skipped += count
    return 0


def dedupe_keys(text: str, bands: Sequence[tuple[int, int]] = BANDS) -> dict[str, Any]:
    """The content hash, the story signature (shingles and band hashes) and the number of
    words of a text.

    The bands of the whole text come first, then those of its lead (the first
    :data:`LEAD_WORDS` words of the body), which a copy trimmed to its first paragraphs
    shares even when its Jaccard with the full story is too low for the whole-text bands.
    The lead starts at the first line of at least :data:`LEAD_MIN_LINE_WORDS` words: short
    opening lines (a headline the extractor kept, a dateline or byline on its own line)
    are skipped, as a copy may lack them.
    """
    tokens = words(text)  # one pass: no word spans a line, so these are the lines' words
    lead = tokens[_words_before_lead(text) :][:LEAD_WORDS]
    # The words' UTF-8 once, for both the content hash and the shingles (no word holds
    # a space, and no UTF-8 sequence holds its byte).
    joined = " ".join(tokens).encode("utf-8")
    encoded = joined.split(b" ") if tokens else []
    # Sorted by numpy, and the MinHash reads the same array: a list of Python ints
    # sorted and converted twice cost twice as much.
    shingles = np.fromiter(encoded_shingle_hashes(encoded), dtype=np.uint32)
    shingles.sort()
    shingle_set = array("I", shingles.tobytes())  # 4 bytes each, not 36
    hashes = band_hashes(shingles, bands)
    if hashes:
        hashes += band_hashes(sorted(shingle_hashes(lead)), LEAD_BANDS)
    return {
        "content_hash": hashlib.sha256(joined).hexdigest(),  # = words_hash(tokens)
        "story_signature": {"shingles": shingle_set, "bands": hashes},
        "word_count": len(tokens),  # for the article filter, which needs no more
    }


def story_signature(text: str, bands: Sequence[tuple[int, int]] = BANDS) -> dict[str, Any]:
    """What story linking needs of a text, as plain data: shingles and band hashes
    (``bands``: the (start, end) rows of each band; the benchmarks try others)."""
    return dedupe_keys(text, bands)["story_signature"]
