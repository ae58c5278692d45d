"""Every ``scrapy search`` and SQLite SQL example of README.md works on the demo archive
(what the README's first command builds: a replay of seeds/), read from the README
itself at test time, so an example cannot drift from the archive it describes."""

from __future__ import annotations

import re
import shlex
import sqlite3
from typing import NamedTuple

import pytest

from tests.conftest import REPO, SEEDS, run_scrapy

README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")


class Example(NamedTuple):
    kind: str  # "sh" or "sql"
    code: str
    line: int  # where the block starts in README.md

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.code.splitlines()[-1][:60]}"


def blocks(text: str) -> list[tuple[str, str, str, int]]:
    """(language, code, the paragraph or heading just before, line) of each fenced block."""
    found, paragraph, code, language, start, fresh = [], [], [], None, 0, True
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if language is None and fence:
            language, code, start = fence.group(1), [], number
        elif language is not None and line.strip() == "```":
            found.append((language, "\n".join(code), " ".join(paragraph), start))
            language, paragraph = None, []
        elif language is not None:
            code.append(line)
        elif not line.strip():
            fresh = True
        elif fresh or line.startswith("#"):
            paragraph, fresh = [line], False
        else:
            paragraph.append(line)
    return found


def sqlite_statements(code: str) -> list[str]:
    """The statements of an SQL block, each with its comment, leaving out those that
    say they are for PostgreSQL."""
    statements, pending = [], ""
    for line in code.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):  # a ";" in a comment does not end one
            statements.append(pending.strip())
            pending = ""
    return [s for s in statements if "postgresql" not in s.split("SELECT")[0].lower()]


def examples() -> list[Example]:
    found = []
    for language, code, before, line in blocks(README.read_text(encoding="utf-8")):
        if language == "sh":
            found += [Example("sh", cmd.strip(), line) for cmd in code.splitlines()
                      if cmd.strip().startswith("scrapy search ")]
        elif language == "sql" and ("PostgreSQL" not in before or "SQLite" in before):
            found += [Example("sql", statement, line) for statement in sqlite_statements(code)]
    return found


EXAMPLES = examples()


def test_the_readme_has_examples_to_check() -> None:
    kinds = [example.kind for example in EXAMPLES]
    assert kinds.count("sh") >= 3 and kinds.count("sql") >= 8, EXAMPLES


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo archive: the README's first command, into a temporary folder."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'archive.sqlite'}"
    replay = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", database_url=url)
    assert replay.returncode == 0, replay.stderr[-3000:]
    return url


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "sh"], ids=str)
def test_search_example_finds_articles_in_the_demo_archive(
    example: Example, demo_archive: str
) -> None:
    args = shlex.split(example.code)[1:]
    result = run_scrapy(*args, database_url=demo_archive)
    assert result.returncode == 0, result.stderr[-2000:]
    hits = result.stdout.splitlines()
    assert hits and all(hit.startswith("file://") for hit in hits), result.stdout


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "sql"], ids=str)
def test_sqlite_example_runs_on_the_demo_archive(example: Example, demo_archive: str) -> None:
    with sqlite3.connect(demo_archive.removeprefix("sqlite:///")) as connection:
        # :url and :story_id stand for a real article's, as a reader would fill them in.
        url, story_id = connection.execute(
            "SELECT url, story_id FROM articles ORDER BY id LIMIT 1").fetchone()
        rows = connection.execute(example.code, {"url": url, "story_id": story_id}).fetchall()
    # Failure listings may be empty on a demo archive without failures, and learned
    # boilerplate on one whose outlets have too few pages to repeat a block; the rest
    # find rows.
    assert rows or "captures" in example.code or "outlet_boilerplate" in example.code, (
        example.code)
