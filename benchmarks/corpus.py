"""The benchmark pages: the WCXB corpus replicated to N distinct pages, and a replay folder.

Every copy gets its own URL, a numbered title and one distinguishing sentence inside its
longest paragraph, so each copy is a new article with its own text (not a duplicate that
the store would skip), while the page stays a real page of real size.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "wcxb-articles"
FETCHED_AT = "2025-06-06T03:00:00Z"
PARAGRAPH = re.compile(rb"<p\b[^>]*>(.*?)</p>", re.DOTALL | re.IGNORECASE)
TITLE_END = re.compile(rb"</title>", re.IGNORECASE)
CANONICAL = re.compile(
    rb"""<link\b[^>]*\brel=["']?canonical\b[^>]*>|<meta\b[^>]*\bproperty=["']og:url["'][^>]*>""",
    re.IGNORECASE,
)


def originals(corpus: Path = CORPUS) -> list[tuple[str, bytes]]:
    """(url, html) of every corpus page, in file order."""
    pages = []
    for path in sorted((corpus / "html").glob("*.html.gz")):
        number = path.name.split(".")[0]
        truth = json.loads((corpus / "ground-truth" / f"{number}.json").read_text())
        url = truth.get("url") or f"https://wcxb.example/{number}"  # one page lacks its URL
        pages.append((url, gzip.decompress(path.read_bytes())))
    return pages


def copy_url(url: str, copy: int) -> str:
    """The URL of copy ``copy`` of a page: copy 0 is the page's own URL."""
    if copy == 0:
        return url
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/index"
    return urlunsplit((parts.scheme, parts.netloc, f"{path}-{copy}", parts.query, ""))


def distinguish(html: bytes, number: int, url: str | None = None) -> bytes:
    """The page with a numbered title and a sentence of its own in its longest paragraph.

    With ``url``, the page's rel=canonical and og:url name it instead of the original
    page, which would otherwise make every copy an update of one article.
    """
    mark = f" Archive copy {number}.".encode()
    if url is not None:
        html = CANONICAL.sub(b"", html)
        html = TITLE_END.sub(
            lambda m: m.group(0) + f'<link rel="canonical" href="{url}">'.encode(), html, count=1
        )
    html = TITLE_END.sub(lambda m: f" ({number})".encode() + m.group(0), html, count=1)
    longest = max(PARAGRAPH.finditer(html), key=lambda m: m.end(1) - m.start(1), default=None)
    if longest is None:
        return html.replace(b"</body>", b"<p>" + mark + b"</p></body>", 1)
    return html[: longest.end(1)] + mark + html[longest.end(1) :]


def replicate(count: int, corpus: Path = CORPUS) -> Iterator[tuple[int, str, bytes]]:
    """(number, url, html) of ``count`` distinct pages, cycling through the corpus."""
    pages = originals(corpus)
    for number in range(count):
        original, html = pages[number % len(pages)]
        url = copy_url(original, number // len(pages))
        yield number, url, distinguish(html, number, url)


def write_replay_folder(workdir: Path, count: int, corpus: Path = CORPUS) -> Path:
    """``workdir/pages-COUNT``: the pages as ``.html.gz`` files and a ``manifest.jsonl``.

    A complete folder from an earlier run is reused, so repeated runs measure the same
    files without rewriting them (the manifest is written last, when every file is there).
    """
    folder = workdir / f"pages-{count}"
    manifest = folder / "manifest.jsonl"
    if manifest.is_file() and sum(1 for _ in manifest.open()) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for number, url, html in replicate(count, corpus):
        name = f"{number:06d}.html.gz"
        (folder / name).write_bytes(gzip.compress(html, compresslevel=1))
        lines.append(json.dumps({"file": name, "url": url, "fetched_at": FETCHED_AT}) + "\n")
    manifest.write_text("".join(lines))
    return folder


def replay_pages(folder: Path) -> Iterator[tuple[str, bytes]]:
    """(url, html) of every page of a replay folder, as the manifest lists them."""
    with (folder / "manifest.jsonl").open() as manifest:
        for line in manifest:
            entry = json.loads(line)
            yield entry["url"], gzip.decompress((folder / entry["file"]).read_bytes())
