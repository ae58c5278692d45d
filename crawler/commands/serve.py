"""``scrapy serve``: the archive in a web browser, read-only, through Datasette.

Datasette is the tool researchers already use for SQLite; we give it the archive's
metadata and canned queries (``crawler/web/metadata.yaml``) and a plugin
(``crawler/web/plugin.py``) that registers ``search_form`` and ``fts_query`` on every
connection, so the web search is ``scrapy search``'s. Datasette opens the file
``mode=ro``: the view never writes the archive, and still sees what a running crawl
commits. It reads SQLite only: a PostgreSQL archive is refused with what to do instead.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import yaml
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from archive.database import database_url, mask_url
from archive.report import STALE_HOURS

WEB = Path(__file__).resolve().parent.parent / "web"


def fail(message: str) -> NoReturn:
    """A user's mistake: one line saying what to do, exit status 2, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def archive_file(url: str) -> Path:
    """The SQLite file of url; any other archive is refused with what to do instead."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        fail(f"DATABASE_URL {url!r} is not a database URL: set it to sqlite:///PATH")
    if parsed.get_backend_name() != "sqlite":
        fail(
            f"scrapy serve shows SQLite archives only, and {mask_url(url)} is not one: "
            "copy what you need out with scrapy export, or browse PostgreSQL with its "
            "own tools (psql, pgAdmin, Metabase)"
        )
    if parsed.database in (None, "", ":memory:"):
        fail(f"{url} names no file: set DATABASE_URL to sqlite:///PATH")
    path = Path(parsed.database).expanduser().resolve()
    if not path.is_file():
        fail(
            f"there is no archive at {path}: build one first (scrapy crawl replay "
            "-a path=seeds), or set DATABASE_URL to the archive's sqlite:/// URL"
        )
    return path


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before Datasette starts, so that a busy port is
    one clear line instead of uvicorn's log and exit status 1."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        fail(f"cannot listen on {host}:{port} ({exc}): choose another --port or --host")
    sock.listen(128)
    return sock


def datasette_app(path: Path, stale_hours: float) -> Any:
    """Datasette's ASGI app for the archive at path: read-only, with our metadata,
    canned queries and plugin (whose outlet report calls an outlet stale after
    stale_hours without a new article)."""
    from datasette.app import Datasette
    from datasette.database import Database
    from datasette.plugins import pm

    from crawler.web import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="newsarchive")
    metadata = yaml.safe_load((WEB / "metadata.yaml").read_text(encoding="utf-8"))
    metadata["plugins"] = {"newsarchive": {"stale_hours": stale_hours}}
    datasette = Datasette(metadata=metadata, template_dir=str(WEB / "templates"),
                          settings={"truncate_cells_html": 400})
    # Mutable in Datasette's sense: opened mode=ro for every read, so a crawl's new
    # rows appear; Datasette writes only when a plugin asks, and ours never does.
    datasette.add_database(Database(datasette, path=str(path), is_mutable=True),
                           name=plugin.DATABASE)
    return datasette.app()


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--port 8001] [--host 127.0.0.1]"

    def short_desc(self) -> str:
        return "Browse, search and chart the archive in a web browser (read-only)"

    def long_desc(self) -> str:
        return (
            "Serve the SQLite archive (DATABASE_URL) read-only with Datasette: search "
            "(the same as scrapy search), stories and their copies, articles with their "
            "versions and captures, the outlet report, charts, and SQL. Ctrl-C stops it."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--port", type=int, default=8001,
                            help="port to listen on (default 8001)")
        parser.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1: this machine "
                                 "only; 0.0.0.0 shows the archive to the network)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected argument {args[0]!r}: scrapy serve [--port N]")
        assert self.settings is not None
        import uvicorn

        path = archive_file(database_url(self.settings.get("DATABASE_URL")))
        sock = listening_socket(opts.host, opts.port)
        host = f"[{opts.host}]" if ":" in opts.host else opts.host
        print(f"serving {path} read-only at http://{host}:{opts.port}/ (Ctrl-C stops)",
              flush=True)
        app = datasette_app(path, self.settings.getfloat("REPORT_STALE_HOURS", STALE_HOURS))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        # uvicorn handles SIGINT and SIGTERM: open requests finish, then it raises the
        # signal again; Ctrl-C then arrives here, and is how a person stops the view.
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            print("stopped", flush=True)
