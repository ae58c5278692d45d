"""Measure the story thresholds on a labelled set built from the seeds and the corpus.

Positives are copies of one story made the way outlets make them: another template's
left-overs, another headline, a wire dateline added or dropped, the ending trimmed, small
edits, and all of these at once. Negatives are distinct stories: the five seeds (five
stories on one topic), the corpus articles, distinct stories wearing the same template,
and a story that reuses one background paragraph of another. Prints, as Markdown:
precision and recall of the exact check per threshold pair, and how often LSH makes a
copy a candidate at all per LSH threshold.

    .venv/bin/python benchmarks/story_thresholds.py
"""

from __future__ import annotations

import functools
import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

from datasketch import MinHashLSH

from archive import stories
from benchmarks.corpus import CORPUS as CORPUS_ROOT
from pipelines.extraction import decode_text_page
from pipelines.extraction.text_page import extract_text_page
from pipelines.keys import shingles as shape
from pipelines.keys.copies import story_signature

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
CORPUS = CORPUS_ROOT / "ground-truth"

HEADERS = [
    ["होम", "देश", "विदेश", "मनोरंजन", "Advertisement"],
    ["Home / World", "ताज़ा ख़बरें", "Follow us on Google News"],
    ["Breaking News", "Trending Topics: Russia Ukraine War, Kim Jong Un"],
]
FOOTERS = [
    ["यह भी पढ़ें: ट्रंप ने पुतिन से की बात, युद्ध रोकने पर चर्चा", "Tags: रूस, उत्तर कोरिया"],
    ["(इस खबर को हमारी टीम ने संपादित नहीं किया है। यह सिंडिकेट फीड से प्रकाशित है।)"],
    ["Share this story", "Facebook Twitter WhatsApp", "Read Next: शेयर बाजार में तेजी"],
]
DATELINES = ["नई दिल्ली, 6 जून (आईएएनएस)।", "सियोल, 13 अगस्त (आईएएनएस)।", "मॉस्को (भाषा)।"]
HEADLINES = [
    "किम जोंग उन का बड़ा ऐलान, रूस के साथ खड़ा रहेगा उत्तर कोरिया",
    "Russia North Korea: पुतिन को मिला किम का साथ",
]


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]


def seed_texts() -> list[str]:
    return [
        extract_text_page(decode_text_page(path.read_bytes()), path.as_uri()).text
        for path in sorted(SEEDS.glob("*.txt"))
    ]


def corpus_texts() -> list[str]:
    texts = []
    for path in sorted(CORPUS.glob("*.json")):
        text = json.loads(path.read_text("utf-8"))["ground_truth"].get("main_content")
        if text and len(text.split()) >= 50:
            texts.append(text)
    return texts


def template(rng: random.Random, text: str, which: int | None = None) -> str:
    i = rng.randrange(len(HEADERS)) if which is None else which
    return "\n".join([*HEADERS[i], *paragraphs(text), *FOOTERS[i]])


def headline(rng: random.Random, text: str) -> str:
    return "\n".join([rng.choice(HEADLINES), *paragraphs(text)])


def dateline(rng: random.Random, text: str) -> str:
    first, *rest = paragraphs(text)
    return "\n".join([f"{rng.choice(DATELINES)} {first}", *rest])


def trimmed(share: float) -> Callable[[random.Random, str], str]:
    def trim(rng: random.Random, text: str) -> str:
        parts = paragraphs(text)
        return "\n".join(parts[: max(1, round(len(parts) * share))])

    return trim


def edited(rate: float) -> Callable[[random.Random, str], str]:
    """Replace a share of the words and drop one sentence: a sub-editor's pass."""

    def edit(rng: random.Random, text: str) -> str:
        sentences = text.replace("।", "।\n").splitlines()
        if len(sentences) > 3:
            del sentences[rng.randrange(1, len(sentences))]
        tokens = " ".join(sentences).split(" ")
        for i in rng.sample(range(len(tokens)), int(len(tokens) * rate)):
            tokens[i] = rng.choice(["भी", "ने", "कहा", "था", "है", "और", "the", "said"])
        return " ".join(tokens)

    return edit


def everything(rng: random.Random, text: str) -> str:
    return template(rng, headline(rng, edited(0.03)(rng, trimmed(0.6)(rng, dateline(rng, text)))))


VARIANTS: dict[str, Callable[[random.Random, str], str]] = {
    "other template": template,
    "other headline": headline,
    "dateline added": dateline,
    "trimmed to 70%": trimmed(0.7),
    "trimmed to 50%": trimmed(0.5),
    "trimmed to 30%": trimmed(0.3),
    "edited 2%": edited(0.02),
    "edited 5%": edited(0.05),
    "edited 10%": edited(0.10),
    "all at once": everything,
}


def labelled_pairs() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(kind, text a, text b) copies and distinct-story pairs."""
    rng = random.Random(4)
    seeds, corpus = seed_texts(), corpus_texts()
    originals = seeds + rng.sample(corpus, 60)
    copies = [
        (kind, text, copy)
        for text in originals
        for kind, make in VARIANTS.items()
        if len((copy := make(rng, text)).split()) >= 50  # a heading alone is no copy
    ]
    # The corpus holds one article twice (a full and a trimmed copy): a copy, not distinct.
    same = [(a, b) for a, b in itertools.combinations(corpus, 2) if a[:200] == b[:200]]
    copies += [("corpus: one article twice", a, b) for a, b in same]
    distinct = [("seed vs seed", a, b) for a, b in itertools.combinations(seeds, 2)]
    distinct += [
        ("seed vs seed, same template", template(rng, a, 0), template(rng, b, 0))
        for a, b in itertools.combinations(seeds, 2)
    ]
    distinct += [
        ("seed vs other seed's copy", a, make(rng, b))
        for a, b in itertools.permutations(seeds, 2)
        for make in VARIANTS.values()
    ]
    distinct += [
        ("follow-up reusing a paragraph", a, "\n".join([*paragraphs(b), paragraphs(a)[1]]))
        for a, b in itertools.permutations(seeds, 2)
    ]
    distinct += [
        ("corpus vs corpus", a, b)
        for a, b in itertools.combinations(corpus, 2)
        if (a, b) not in same
    ]
    return copies, distinct


@functools.cache
def shingles(text: str) -> frozenset[int]:
    return frozenset(shape.shingles(text))


@functools.cache
def signature(text: str, bands: tuple[tuple[int, int], ...]) -> list[int]:
    return story_signature(text, bands)["bands"]


def measures(a: str, b: str) -> tuple[float, float, int]:
    sa, sb = shingles(a), shingles(b)
    common = len(sa & sb)
    shorter = min(len(sa), len(sb))
    return common / len(sa | sb), common / shorter if shorter else 0.0, shorter


def main() -> None:
    copies, distinct = labelled_pairs()
    scored_copies = [(kind, *measures(a, b)) for kind, a, b in copies]
    scored_distinct = [(kind, *measures(a, b)) for kind, a, b in distinct]
    print(f"{len(copies)} copy pairs, {len(distinct)} distinct-story pairs\n")

    print("| kind | pairs | Jaccard min / median | containment min / median |")
    print("|---|---|---|---|")
    for kind in dict.fromkeys(k for k, *_ in scored_copies + scored_distinct):
        rows = [r for r in scored_copies + scored_distinct if r[0] == kind]
        js, cs = sorted(r[1] for r in rows), sorted(r[2] for r in rows)
        label = "copy" if rows[0] in scored_copies else "distinct"
        print(
            f"| {label}: {kind} | {len(rows)} | {js[0]:.2f} / {js[len(js) // 2]:.2f} | "
            f"{cs[0]:.2f} / {cs[len(cs) // 2]:.2f} |"
        )
    print(f"\nHighest Jaccard between distinct stories: {max(r[1] for r in scored_distinct):.2f}; "
          f"highest containment: {max(r[2] for r in scored_distinct):.2f}\n")

    print("| Jaccard ≥ | or containment ≥ | precision | recall | false links | missed copies |")
    print("|---|---|---|---|---|---|")
    for min_j, min_c in itertools.product((0.3, 0.4, 0.5, 0.6, 0.7), (0.5, 0.6, 0.7, 0.8, 0.9)):
        def same(j: float, c: float, shorter: int, min_j: float = min_j, min_c: float = min_c):
            return j >= min_j or (shorter >= stories.MIN_CONTAINED_SHINGLES and c >= min_c)

        tp = sum(same(*r[1:]) for r in scored_copies)
        fp = sum(same(*r[1:]) for r in scored_distinct)
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"| {min_j} | {min_c} | {precision:.3f} | {tp / len(copies):.3f} | {fp} | "
              f"{len(copies) - tp} |")

    print("\n| LSH threshold | bands × rows | lead bands | copies made candidates | missed |")
    print("|---|---|---|---|---|")
    for threshold, lead in itertools.product((0.2, 0.3, 0.4, 0.5), (False, True)):
        lsh = MinHashLSH(threshold=threshold, num_perm=shape.NUM_PERM)
        bands = tuple(lsh.hashranges)
        found, missed = 0, {}
        for kind, a, b in copies:
            ba, bb = signature(a, bands), signature(b, bands)
            if not lead:
                ba, bb = ba[: lsh.b], bb[: lsh.b]
            if any(x == y for x, y in zip(ba, bb, strict=True)):
                found += 1
            else:
                missed[kind] = missed.get(kind, 0) + 1
        print(f"| {threshold} | {lsh.b} × {lsh.r} | {'yes' if lead else 'no'} | "
              f"{found / len(copies):.3f} | {missed} |")

    print(f"\nAs configured (LSH {shape.LSH_THRESHOLD} with lead bands, Jaccard ≥ "
          f"{stories.MIN_JACCARD} or containment ≥ {stories.MIN_CONTAINMENT}), end to end:")
    linked = [kind for kind, a, b in copies if linked_by_lsh(a, b)]
    wrong = [kind for kind, a, b in distinct if linked_by_lsh(a, b)]
    print(f"recall {len(linked) / len(copies):.3f} ({len(copies) - len(linked)} copies missed), "
          f"false links {len(wrong)} of {len(distinct)} distinct pairs")


def linked_by_lsh(a: str, b: str) -> bool:
    bands = tuple(shape.BANDS)
    candidate = any(x == y for x, y in zip(signature(a, bands), signature(b, bands), strict=True))
    return candidate and stories.is_copy(set(shingles(a)), set(shingles(b)))


if __name__ == "__main__":
    main()
