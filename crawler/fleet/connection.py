"""Reaching the fleet's Redis: its URL, a client, and this worker's name."""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

import redis
from scrapy_redis.connection import get_redis

# What a Redis that is down or restarting raises; a worker rides these out.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
              redis.exceptions.BusyLoadingError)


class FleetError(Exception):
    """The fleet cannot be joined; the message says why and what to do."""


def fleet_url(settings: Any) -> str | None:
    """``REDIS_URL`` from the environment, else the setting; None: work alone."""
    return os.environ.get("REDIS_URL") or settings.get("REDIS_URL") or None


def mask(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def connect(url: str) -> redis.Redis:
    """A client of the fleet's Redis, checked to answer."""
    try:
        server = get_redis(url=url, socket_timeout=10, socket_connect_timeout=10)
        server.ping()
    except (*REDIS_DOWN, ValueError) as exc:
        raise FleetError(
            f"cannot reach Redis at {mask(url)} ({exc}); start it, or unset REDIS_URL "
            "to crawl on this machine alone") from None
    return server


def worker_name() -> str:
    """Unique among the fleet's live workers: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"
