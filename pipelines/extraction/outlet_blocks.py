"""An outlet's own boilerplate: short blocks that recur, word for word, across the
articles of one outlet ("यह भी पढ़ें: ...", a newsletter box, "Follow us on ...",
a menu line trafilatura kept).

Only the text is looked at here, so the rules can be tested on a page alone; which
blocks an outlet repeats is learned by the archive (``archive.outlet_boilerplate``)
and handed back to extraction as a set of block keys.
"""

from __future__ import annotations

import hashlib

from pipelines.extraction.normalize import words

# Longer blocks are article paragraphs even when an outlet repeats them (a background
# paragraph of a running story): never learned, never removed.
MAX_BLOCK_CHARS = 300
EXAMPLE_CHARS = 200  # of each learned block, kept for people to read


def block_key(block: str) -> int | None:
    """A block's key: its words (case, punctuation and spacing ignored) hashed to a
    signed 64-bit integer, the width of a database BIGINT; None for a block without
    words or too long to be boilerplate."""
    if len(block) > MAX_BLOCK_CHARS or not (found := words(block)):
        return None
    digest = hashlib.blake2b(" ".join(found).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def keyed_blocks(text: str) -> list[tuple[str, int | None]]:
    """The text's blocks (paragraphs), each with its key."""
    return [(block, block_key(block)) for block in text.split("\n\n")]


def page_blocks(blocks: list[tuple[str, int | None]]) -> dict[int, str]:
    """The page's candidate blocks, each once: key -> the block's text (cut short)."""
    found: dict[int, str] = {}
    for block, key in blocks:
        if key is not None:
            found.setdefault(key, block[:EXAMPLE_CHARS])
    return found


def strip_blocks(blocks: list[tuple[str, int | None]], known: frozenset[int]
                 ) -> tuple[str, int]:
    """The text without the blocks the outlet is known to repeat, and how many went.

    A text made only of such blocks is left whole: it is an outlet's furniture page,
    or the learning went wrong, and an empty article helps neither case."""
    kept = [block for block, key in blocks if key not in known]
    if not kept:
        return "\n\n".join(block for block, _ in blocks), 0
    return "\n\n".join(kept), len(blocks) - len(kept)
