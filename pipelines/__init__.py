"""What happens to a page: extract, deduplicate, store."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child_environment() -> dict[str, str]:
    """This environment with the repository importable, for a ``python -m pipelines...``
    child (schema upgrade, extraction workers) wherever the crawl was started from."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
