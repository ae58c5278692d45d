"""Structured metadata of an HTML page: JSON-LD, meta tags, headings and time tags.

Publishers state headline, authors and dates for search engines and social cards, and
these statements are far more reliable than guessing from the visible text. Everything
here reads one already-parsed lxml tree, so metadata costs no second parse.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

from pipelines.extraction.bylines import CREDENTIAL
from pipelines.extraction.normalize import clean_text, nfc, words

# JSON-LD types that mean "this page is one article" (schema.org Article subtypes).
ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle",
    "askpublicnewsarticle", "blogposting", "liveblogposting", "socialmediaposting",
    "scholarlyarticle", "techarticle", "medicalscholarlyarticle", "satiricalarticle",
    "report", "advertisercontentarticle",
})
# Meta tags that state the first publication, best first.
PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "datepublished",
    "article.published", "published_time", "publish-date", "publish_date", "pubdate",
    "publishdate", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
    "dc.date.created", "dcterms.created", "citation_publication_date", "citation_date",
    "dc.date", "dcterms.date", "date", "og:published_time", "article:published",
)
AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author",
               "dc.creator", "dcterms.creator", "citation_author", "byl")
SITE_META = ("og:site_name", "application-name", "twitter:site", "al:ios:app_name")
# Title separators between the headline and the site name.
_TITLE_SPLIT = re.compile(r"\s+[|\-–—•·:»~/]{1,2}\s+|:\s+")
_QUOTES = str.maketrans("‘’‚‛“”„‟′″«»–—", "''''\"\"\"\"'\"\"\"--")
_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[\W_]+")
_JSON_CONTROL = re.compile(r"[\x00-\x1f]")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
# Compiled once here rather than looked up in re's cache on every call.
_HANDLE_MARK = re.compile(r"[._\-]")  # a user name's separator: "andrew.keaveney"
_BY_WORD = re.compile(r"\bby\b")
_LANGUAGE_SPLIT = re.compile(r"[-_,;\s]")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def one_line(text: str | None) -> str:
    """Collapse all white space: metadata values are single-line strings."""
    return _SPACES.sub(" ", nfc(text or "")).strip()


def fold(text: str | None) -> str:
    """Comparison key: case-folded, typographic quotes and dashes unified, one line."""
    return one_line(text).translate(_QUOTES).casefold()


def alnum(text: str | None) -> str:
    """Letters and digits only, for matching a site name against a domain."""
    return _NON_ALNUM.sub("", fold(text))


# --------------------------------------------------------------------------- JSON-LD


def _load_json(raw: str) -> object | None:
    """json.loads, retrying once with the usual publisher mistakes repaired."""
    raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip()
    raw = raw.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
    if not raw:
        return None
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", _JSON_CONTROL.sub(" ", raw)), strict=False)
    except ValueError:
        return None


def _walk(node: object, depth: int = 0) -> Iterator[dict]:
    """Every typed object in a JSON-LD value: @graph, lists and nested mainEntity."""
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, depth + 1)
    elif isinstance(node, dict):
        if "@type" in node:
            yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemReviewed"):
            if isinstance(node.get(key), (dict, list)):
                yield from _walk(node[key], depth + 1)


def jsonld_objects(tree: HtmlElement) -> list[dict]:
    """All typed JSON-LD objects of the page; a script with broken JSON is skipped.

    References by ``@id`` (Yoast's ``"author": {"@id": ".../#/schema/person/..."}``)
    are replaced by the object they name, so an author is a name, not a link.
    """
    objects: list[dict] = []
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" not in script.get("type", "").lower() or not script.text:
            continue
        objects.extend(_walk(_load_json(script.text)))
    by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str)}
    if by_id:
        for obj in objects:
            for key in ("author", "publisher", "creator"):
                obj[key] = _resolve(obj.get(key), by_id)
    return objects


def _resolve(value: object, by_id: dict[str, dict]) -> object:
    if isinstance(value, list):
        return [_resolve(v, by_id) for v in value]
    if isinstance(value, dict) and "name" not in value and value.get("@id") in by_id:
        return by_id[value["@id"]]
    return value


def types_of(obj: dict) -> list[str]:
    """The @type values of an object, lower-cased (a type may be a list or a URL)."""
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return [v.rsplit("/", 1)[-1].lower() for v in values if isinstance(v, str)]


def is_article_type(obj: dict) -> bool:
    return any(t in ARTICLE_TYPES or t.endswith("article") for t in types_of(obj))


def text_value(value: object) -> str | None:
    """A JSON-LD value as text: strings as is, {"@value"}/{"name"} objects, first of lists."""
    if isinstance(value, list):
        return next((t for t in map(text_value, value) if t), None)
    if isinstance(value, dict):
        return text_value(value.get("@value") or value.get("name"))
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return one_line(html.unescape(str(value))) or None
    return None


def person_names(value: object) -> tuple[list[str], list[str]]:
    """Names in a JSON-LD author value, as (people, organisations)."""
    people: list[str] = []
    orgs: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            people.append(item)
        elif isinstance(item, dict):
            name = text_value(item.get("name"))
            if not name and (item.get("givenName") or item.get("familyName")):
                name = one_line(f"{item.get('givenName', '')} {item.get('familyName', '')}")
            if not name:
                continue
            types = types_of(item)
            (orgs if "organization" in types or "newsmediaorganization" in types
             else people).append(name)
    return people, orgs


# --------------------------------------------------------------------------- page facts


@dataclass
class PageFacts:
    """What the page states about itself, read from the tree in one pass per source."""

    meta: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[dict] = field(default_factory=list)
    h1: list[str] = field(default_factory=list)
    title_tag: str = ""
    html_lang: str = ""
    canonical: str = ""
    rel_authors: list[str] = field(default_factory=list)
    time_tags: list[tuple[str, bool]] = field(default_factory=list)  # (datetime, is_pubdate)

    def first_meta(self, names: Iterable[str]) -> tuple[str, str] | None:
        """(name, value) of the first listed meta tag that has a non-empty value."""
        for name in names:
            for value in self.meta.get(name, ()):
                if value.strip():
                    return name, value.strip()
        return None

    @cached_property
    def article(self) -> dict | None:
        """The JSON-LD object describing the article itself, if the page has one: an
        Article type, else a page object that names the article's headline and author
        (Beehiiv's WebPage carries the post's headline, dates and writer)."""
        if found := next((o for o in self.jsonld if is_article_type(o)), None):
            return found
        return next((o for o in self.jsonld if o.get("headline") and o.get("author")), None)


_CLOSING_PUNCTUATION = re.compile(r"[:;,.!?)\]]")


def element_text(elem: HtmlElement) -> str:
    """Text of an element on one line; adjacent inline elements do not run together,
    and no space is added before the punctuation that closes one of them
    ("<span>Kicker</span><span>:</span> Headline")."""
    pieces = list(elem.itertext())
    joined = "".join(
        piece if not i or piece[:1].isspace() or pieces[i - 1][-1:].isspace()
        or _CLOSING_PUNCTUATION.match(piece) else " " + piece
        for i, piece in enumerate(pieces))
    return one_line(joined)


def read_facts(tree: HtmlElement) -> PageFacts:
    """Collect meta tags, JSON-LD, headings, links and time tags from a parsed page."""
    facts = PageFacts(jsonld=jsonld_objects(tree))
    for elem in tree.iter("meta", "link", "time", "h1", "title", "a"):
        tag = elem.tag
        if tag == "meta":
            key = (elem.get("property") or elem.get("name") or elem.get("itemprop")
                   or elem.get("http-equiv") or "").strip().lower()
            content = elem.get("content")
            if key and content is not None:
                facts.meta.setdefault(key, []).append(nfc(content))
        elif tag in ("link", "a"):
            rel = (elem.get("rel") or "").lower().split()
            if "canonical" in rel and tag == "link" and not facts.canonical:
                facts.canonical = (elem.get("href") or "").strip()
            elif "author" in rel and (name := element_text(elem)):
                facts.rel_authors.append(name)
        elif tag == "time":
            stamp = elem.get("datetime") or ""
            if stamp.strip():
                pub = (elem.get("itemprop") or "").lower() == "datepublished" or (
                    elem.get("pubdate") is not None)
                facts.time_tags.append((stamp.strip(), pub))
        elif tag == "h1":
            if text := element_text(elem):
                facts.h1.append(text)
        elif tag == "title" and not facts.title_tag and elem.getparent() is not None and (
                elem.getparent().tag in ("head", "html")):
            facts.title_tag = element_text(elem)
    facts.html_lang = (tree.get("lang") or tree.get("xml:lang") or "").strip()
    return facts


# --------------------------------------------------------------------------- headline


def site_names(facts: PageFacts, url: str) -> list[str]:
    """Names the site goes by: og:site_name and the like, JSON-LD publisher, domain."""
    names = [v for key in SITE_META for v in facts.meta.get(key, ()) if v.strip()]
    for obj in facts.jsonld:
        types = types_of(obj)
        if "website" in types or "organization" in types or "newsmediaorganization" in types:
            names.extend(filter(None, [text_value(obj.get("name"))]))
        if isinstance(obj.get("publisher"), dict):
            names.extend(filter(None, [text_value(obj["publisher"].get("name"))]))
    host = urlsplit(url).hostname or ""
    labels = [p for p in host.split(".") if p not in ("www", "m", "amp")]
    if labels:
        names.append(".".join(labels))
        names.append(max(labels[:-1] or labels, key=len))  # "example" of example.co.in
    return names


def is_site_name(segment: str, sites: list[str]) -> bool:
    """Does the segment name the site? Ignoring case and spacing: equal, part of a site
    name ("Koia" of "Drink Koia Online"), or mostly the site name ("Scratch Culinary
    Meal Prep" for scratchculinary.com; a long headline that mentions it is not)."""
    key = alnum(segment)
    if not key:
        return False
    for site in sites:
        if not (k := alnum(site)):
            continue
        if key == k or (len(key) >= 4 and key in k):  # "Koia" of "Drink Koia Online"
            return True
        if len(k) >= 4 and k in key and 2 * len(k) >= len(key):
            return True
    return False


def strip_site(title: str, sites: list[str]) -> str:
    """Drop a leading or trailing " | Site" segment when it names the site."""
    parts = _TITLE_SPLIT.split(title)
    if len(parts) < 2:
        return title
    seps = _TITLE_SPLIT.findall(title)
    if is_site_name(parts[-1], sites):
        return "".join(p + s for p, s in zip(parts[:-2], seps[:-1], strict=True)) + parts[-2]
    if is_site_name(parts[0], sites):
        return title[len(parts[0]) + len(seps[0]):]
    return title


def title_splits(title: str) -> Iterator[tuple[str, str]]:
    """(part, rest) folded, for each cut of a title at a separator, both ways round."""
    parts = _TITLE_SPLIT.split(title)
    seps = _TITLE_SPLIT.findall(title)
    for i in range(1, len(parts)):
        head = "".join(p + s for p, s in zip(parts[:i], seps[:i], strict=True))
        head, tail = fold(head[: len(head) - len(seps[i - 1])]), fold(title[len(head):])
        yield head, tail
        yield tail, head


@dataclass
class Choice:
    """A chosen value and the name of the source it came from."""

    value: object
    source: str


def _as_stated(h1: str, stated: list[tuple[str, str]], sites: list[str]) -> Choice:
    """The <h1> as a structured source writes it when the two have the same words but
    the <h1> lost a separator or its case: a kicker styled apart from the headline
    ("Ahrtal-Flut" over "Zwei Rücktritte") loses its colon in the <h1> text, and CSS
    capitals ("BEST DRIP COFFEE MAKER") are a style, not the headline's spelling.
    A kicker printed over the <h1>, in its own element, belongs to the headline too:
    the source states "Nach Gaetz-Rückzug: Trump-Anwältin soll ..." (a short kicker,
    not the site's name, and a colon). Other differences (quote style, a stray
    character) keep the <h1>."""
    for value, source in stated:
        kicker, colon, rest = value.partition(": ")
        if (colon and fold(rest) == fold(h1) and len(kicker.split()) <= 4
                and not is_site_name(kicker, sites)):
            return Choice(value, source)
    key, separators = alnum(h1), len(_TITLE_SPLIT.findall(h1))
    for value, source in stated:
        if alnum(value) == key and value != h1 and (
                h1.isupper() or len(_TITLE_SPLIT.findall(value)) > separators):
            return Choice(value, source)
    return Choice(h1, "h1")


def _is_label(h1: str, titles: list[tuple[str, str]], sites: list[str]) -> bool:
    """An <h1> that shares no word with any stated headline is a section label or a
    menu ("Our Blog", "Open Menu Close Menu") styled as a heading: an SEO title reworded
    from the headline keeps some of its words. A letter alone is no shared word: the
    "a" of "M&A Updates" is in most English sentences."""
    stated = [words(value) for value, _ in titles if value and not is_site_name(value, sites)]
    own = {word for word in words(h1) if len(word) > 1}
    return bool(stated) and all(own.isdisjoint(other) for other in stated)


def choose_headline(facts: PageFacts, url: str) -> Choice | None:
    """The article's own headline, picked by agreement between the page's statements.

    Readers see the <h1>, so an <h1> that a structured source repeats (in full or cut
    at a separator) wins, and a page's only <h1> wins over differing SEO titles unless
    it shares no word with them. <h1>s that name the site (blog logos) or that are a
    single word ("Menu") do not count.
    Otherwise structured headlines beat a <title>, which carries the site name.
    """
    sites = site_names(facts, url)
    article = facts.article or {}
    stated: list[tuple[str, str]] = []
    if headline := text_value(article.get("headline") or article.get("name")):
        stated.append((headline, "json-ld"))
    for key, source in (("og:title", "og"), ("twitter:title", "meta")):
        if found := facts.first_meta([key]):
            stated.append((one_line(found[1]), source))
    if facts.title_tag:
        stated.append((facts.title_tag, "title"))
    h1s = [h for h in dict.fromkeys(facts.h1)
           if 1 < len(h.split()) <= 30 and "{{" not in h and not is_site_name(h, sites)]
    whole = {fold(value) for value, _ in stated}
    # A cut-off part agrees too, unless its rest is what the other sources state: then
    # the <h1> is the "Blog Name" of "Blog Name: Headline".
    parts = {part for value, _ in stated for part, rest in title_splits(value)
             if rest not in whole}
    for keys in (whole, parts):
        for h1 in h1s:
            if fold(h1) in keys:
                return _as_stated(h1, stated, sites)
    titles = [(strip_site(value, sites), source) for value, source in stated]
    if len(h1s) == 1 and not _is_label(h1s[0], titles, sites):
        return _as_stated(h1s[0], stated, sites)
    for value, source in titles:
        if value and not is_site_name(value, sites):
            # JSON-LD headlines are often cut at 110 characters: take the full one.
            longer = (t for t, _ in titles if len(t) > len(value) and fold(t).startswith(
                fold(value)) and not _TITLE_SPLIT.match(t, len(value)))
            return Choice(next(longer, value), source)
    if facts.h1:
        return Choice(facts.h1[0], "h1")
    return Choice(titles[0][0], titles[0][1]) if titles else None


# --------------------------------------------------------------------------- authors

# "By", "Written by", "View all posts by", "Recipe by": everything up to "by" goes.
_BY = re.compile(r"^(?:[^,;|]*?\s)?by\s*[:\-]?\s+", re.I)
_SPLIT_NAMES = re.compile(r"\s+(?:and|&|und|et|और|एवं)\s+|\s*[,;&|/]\s*|\s+\+\s+", re.I)
_PLACEHOLDERS = frozenset({
    "admin", "administrator", "editor", "editors", "staff", "webmaster", "user", "guest",
    "author", "the author", "anonymous", "unknown", "root", "null", "none", "default",
    "name", "wordpress", "एडमिन",
})
_MONTHS = frozenset({
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "january", "february", "march", "april", "june", "july", "august", "september",
    "october", "november", "december",
})
_DATE_WORDS = _MONTHS | {"updated", "published", "posted", "modified", "last"}


_PARTICLES = frozenset({"de", "da", "di", "del", "van", "von", "der", "bin", "al", "la", "le"})


def _is_name(name: str, strict: bool = False) -> bool:
    """Could this be printed as a byline? Rejects URLs, handles, account slugs and dates.

    ``strict`` (for guesses from the page layout rather than stated metadata) wants
    every Latin-script word capitalised, which keeps "View more posts" out.
    """
    if not name or len(name) > 60 or len(name.split()) > 6 or not any(c.isalpha() for c in name):
        return False
    if "://" in name or "@" in name or name.startswith("www.") or any(
            c.isdigit() or c in "©®™{}<>=" for c in name):
        return False
    tokens = fold(name).split()
    if fold(name) in _PLACEHOLDERS or tokens[0] in _MONTHS or "admin" in tokens:
        return False
    if len(tokens) == 1 and _HANDLE_MARK.search(name):  # "andrew.keaveney", "brandon-x"
        return False
    if any(t.count("-") > 1 for t in tokens):  # a CSS class, not "Munoz-Mantilla"
        return False
    latin = [t for t in name.split() if t[0].isascii() and t[0].isalpha()]
    if strict:
        # One Latin word of up to 3 letters is an editor's initials or "Red." (the
        # newsroom), not a name: "Amw", "Red".
        if len(tokens) == 1 and latin and len(name.strip(".")) <= 3:
            return False
        return all(t[0].isupper() for t in latin if t not in _PARTICLES)
    # Latin-script names are capitalised ("kffnirmitap" is an account, not a name).
    return not latin or any(t[0].isupper() for t in latin)


def before_date_words(name: str) -> str:
    """An author element's text up to a date it ran into ("Luke Kim December" ->
    "Luke Kim", "Updated Dec" -> ""): trafilatura's guess drops the digits only."""
    tokens = name.split()
    cut = next((i for i, t in enumerate(tokens) if fold(t).strip(".,") in _DATE_WORDS), None)
    return name if cut is None else " ".join(tokens[:cut])


def clean_authors(raw: Iterable[str], strict: bool = False) -> list[str]:
    """Person names from author statements: "By" removed, split, deduplicated.

    URLs, handles, account names and CMS placeholders ("admin") are dropped: a wrong
    author is worse than none in an archive that is searched by author.
    """
    names: list[str] = []
    seen: set[str] = set()
    for statement in raw:
        statement = _BY.sub("", one_line(html.unescape(statement)))
        for i, part in enumerate(_SPLIT_NAMES.split(statement)):
            name = _BY.sub("", part).strip(" .:-–—·•()[]\"'")
            if (i and CREDENTIAL.match(name)) or not _is_name(name, strict):
                continue
            if (key := fold(name)) not in seen:
                seen.add(key)
                names.append(name)
    return names


def author_statements(facts: PageFacts) -> list[str]:
    """Every author value the page states in JSON-LD and meta tags, uncleaned: a wire
    credit ("dpa") is read from these even when it is no name."""
    people, orgs = person_names((facts.article or {}).get("author"))
    return [*people, *orgs, *(v for key in AUTHOR_META for v in facts.meta.get(key, ()))]


def stated_authors(facts: PageFacts, url: str) -> tuple[Choice | None, list[str]]:
    """Authors from the most explicit statement (JSON-LD people, meta tags, rel=author),
    and, apart, organisations and site names given as author (the publisher, not a
    writer: used only when nothing names a person)."""
    article = facts.article or {}
    people, orgs = person_names(article.get("author"))
    candidates: list[tuple[list[str], str]] = [(people, "json-ld")]
    for key in AUTHOR_META:
        values = [v for v in facts.meta.get(key, ()) if "://" not in v]
        if values:
            candidates.append((values, "og" if key == "article:author" else "meta"))
    # Yoast's Twitter card: twitter:label1 "Written by", twitter:data1 "Jane Doe".
    for i in "123":
        label = " ".join(facts.meta.get(f"twitter:label{i}", ())).lower()
        if _BY_WORD.search(label):
            candidates.append((facts.meta.get(f"twitter:data{i}", []), "meta"))
    candidates.append((facts.rel_authors, "rel-author"))
    sites = site_names(facts, url)
    publishers = brand_credits(orgs)
    for raw, source in candidates:
        publishers += brand_credits(n for n in raw if is_site_name(n, sites))
        names = clean_authors(raw, strict=source == "rel-author")
        if names := [n for n in names if not is_site_name(n, sites)]:
            return Choice(names, source), publishers
    return None, publishers


def brand_credits(raw: Iterable[str]) -> list[str]:
    """Organisations credited as author, as written: a brand may be lower case or a
    domain ("kicker", "nieuwsblad.be"), which the person-name checks refuse."""
    names = (one_line(html.unescape(n)).strip(" .:-–—·•") for n in raw)
    return [n for n in names if 1 < len(n) <= 60 and "://" not in n and "@" not in n
            and any(c.isalpha() for c in n) and fold(n) not in _PLACEHOLDERS]


# --------------------------------------------------------------------------- dates


def published_candidates(facts: PageFacts) -> Iterator[tuple[str, str]]:
    """Stated publication dates, best source first, as (raw value, source)."""
    article = facts.article
    objects = [article] if article else []
    objects += [o for o in facts.jsonld if o is not article]
    for obj in objects:
        for key in ("datePublished", "dateCreated", "uploadDate"):
            if value := text_value(obj.get(key)):
                yield value, "json-ld"
    for key in PUBLISHED_META:
        for value in facts.meta.get(key, ()):
            if value.strip():
                yield value.strip(), "og" if key.startswith(("article:", "og:")) else "meta"
    for stamp, _ in sorted(facts.time_tags, key=lambda t: not t[1]):  # pubdate ones first
        yield stamp, "time-tag"


# --------------------------------------------------------------------------- the rest


def language_code(value: str | None) -> str | None:
    """ISO 639-1 code of a declared language ("en-US", "hi_IN" -> "en", "hi")."""
    code = _LANGUAGE_SPLIT.split((value or "").strip().lower(), maxsplit=1)[0]
    return code if _LANGUAGE_CODE.fullmatch(code) else None


def choose_language(facts: PageFacts) -> Choice | None:
    if code := language_code(facts.html_lang):
        return Choice(code, "html-lang")
    for key, source in (("og:locale", "og"), ("content-language", "meta"), ("language", "meta")):
        if (found := facts.first_meta([key])) and (code := language_code(found[1])):
            return Choice(code, source)
    return None


def choose_description(facts: PageFacts) -> Choice | None:
    for key, source in (("og:description", "og"), ("description", "meta"),
                        ("twitter:description", "meta")):
        if (found := facts.first_meta([key])) and (text := clean_text(found[1])):
            return Choice(one_line(text), source)
    if (article := facts.article) and (text := text_value(article.get("description"))):
        return Choice(text, "json-ld")
    return None


def choose_canonical(facts: PageFacts, url: str) -> Choice | None:
    """Canonical URL, made absolute against the page URL; only http(s) URLs."""
    candidates = [(facts.canonical, "link")]
    if found := facts.first_meta(["og:url"]):
        candidates.append((found[1], "og"))
    for href, source in candidates:
        if not href:
            continue
        absolute = urljoin(url, href.strip())
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return Choice(absolute, source)
    return None


def choose_page_type(facts: PageFacts) -> Choice | None:
    """"article" when og:type or a JSON-LD type says so, else the stated type: the
    live crawl tells articles from listings by it."""
    og_type = facts.first_meta(["og:type"])
    if facts.article is not None:
        return Choice("article", "json-ld")
    if og_type and og_type[1].lower() == "article":
        return Choice("article", "og")
    if og_type:
        return Choice(og_type[1].lower(), "og")
    # The page's own type (WebPage, CollectionPage...), not its WebSite or Organization.
    page_types = (t for obj in facts.jsonld for t in types_of(obj) if t.endswith("page"))
    return Choice(found, "json-ld") if (found := next(page_types, None)) else None
