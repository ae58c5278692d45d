"""The sources file: which outlets the ``news`` spider crawls (TOML).

::

    [[source]]
    name = "Example Hindi News"        # required, unique: the archive's source name
    homepage = "https://example.com/"  # required
    language = "hi"                    # optional: the outlet's language, a fallback
    feeds = ["https://example.com/rss"]                    # optional
    sitemaps = ["https://example.com/news-sitemap.xml"]    # optional
    allowed_hosts = ["cdn.example.net", "*.example-static.com"]  # optional: other hosts

A mistake in the file stops the run before anything is fetched, with a message that
names the file, the entry and what to fix: a scheduled run should fail loudly, not
crawl half the outlets.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.site_policy import host_pattern

KEYS = {"name", "homepage", "language", "feeds", "sitemaps", "allowed_hosts"}
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class SourcesError(ValueError):
    """The sources file cannot be used; the message says where and what to fix."""


@dataclass(frozen=True)
class NewsSource:
    name: str
    homepage: str
    language: str | None = None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # hosts off the homepage's site its pages may be on


def load_sources(path: Path) -> list[NewsSource]:
    """Every ``[[source]]`` of the file, checked; raises SourcesError."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise SourcesError(f"cannot read the sources file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"source"}
    if unknown:
        raise SourcesError(
            f"{path}: unknown top-level keys {sorted(unknown)}; list outlets as [[source]] tables"
        )
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"{path} lists no outlets; add at least one [[source]] table")
    sources = [parse_source(entry, f"{path}: [[source]] #{number}")
               for number, entry in enumerate(entries, 1)]
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise SourcesError(
                f"{path}: two sources are named {source.name!r}; names must be unique"
            )
        seen.add(source.name)
    return sources


def parse_source(entry: Any, where: str) -> NewsSource:
    if not isinstance(entry, dict):
        raise SourcesError(f"{where} is not a table")
    unknown = set(entry) - KEYS
    if unknown:
        raise SourcesError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(KEYS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SourcesError(f"{where} has no name; add name = \"...\"")
    where = f"{where} ({name})"
    language = entry.get("language")
    if language is not None and (not isinstance(language, str) or not LANGUAGE.match(language)):
        raise SourcesError(f"{where}: language {language!r} is not a language code such as \"hi\"")
    return NewsSource(
        name=name.strip(),
        homepage=check_url(entry.get("homepage"), f"{where}: homepage"),
        language=language,
        feeds=url_list(entry.get("feeds", []), f"{where}: feeds"),
        sitemaps=url_list(entry.get("sitemaps", []), f"{where}: sitemaps"),
        allowed_hosts=host_list(entry.get("allowed_hosts", []), f"{where}: allowed_hosts"),
    )


def host_list(value: Any, where: str) -> tuple[str, ...]:
    example = '["cdn.example.com", "*.example-static.com"]'
    if not isinstance(value, list):
        raise SourcesError(f"{where} must be a list of host names, e.g. {example}")
    hosts = []
    for item in value:
        host = host_pattern(item) if isinstance(item, str) else None
        if host is None:
            raise SourcesError(f"{where}: {item!r} is not a host name or *.pattern "
                               f"(no scheme, path or port), e.g. {example}")
        hosts.append(host)
    return tuple(hosts)


def url_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SourcesError(f"{where} must be a list of URLs, e.g. [\"https://example.com/rss\"]")
    return tuple(check_url(item, where) for item in value)


def check_url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SourcesError(f"{where} must be an http(s) URL, got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourcesError(f"{where}: {value!r} is not an http(s) URL")
    return value.strip()
