"""What a run's status means (crawler/run_status.py): the exit status of ``scrapy crawl``
and ``crawl_runs.status``, from the run's final stats alone."""

from __future__ import annotations

import pytest

from crawler.run_status import RunStatus, broken_outlets, outlet_key, run_status


def outlet(name: str, **counters: int | str) -> dict[str, int | str]:
    return {outlet_key(name, counter.replace("_", "-")): value
            for counter, value in counters.items()}


HEALTHY = {"archive/status": "failed", "archive/failed": 13, "archive/failed/http-404": 13,
           **outlet("Daily", listings=2, listings_failed=1, fetched=40, failed=13),
           **outlet("Weekly", fetched=3, failed=2)}  # 2 of 3: too few to judge


def test_dead_links_and_a_bad_feed_of_healthy_outlets_are_not_an_alarm() -> None:
    assert run_status("news", "finished", HEALTHY) == RunStatus("finished", 0)


@pytest.mark.parametrize(
    ("counters", "why"),
    [
        (outlet("Down", homepage_failed="dns"), "Down: its homepage failed (dns)"),
        (outlet("Feeds", listings=3, listings_failed=3), "Feeds: all 3 of its feeds and sitemaps"),
        (outlet("Blocked", fetched=6, failed=4), "Blocked: 4 of its 6 page fetches failed"),
        (outlet("A/B", fetched=5, failed=3), "A/B: 3 of its 5"),  # a "/" in the name
    ],
)
def test_a_broken_outlet_fails_the_run_with_a_line_saying_why(counters: dict, why: str) -> None:
    status = run_status("news", "finished", {**HEALTHY, **counters})
    assert (status.status, status.exit_code) == ("failed", 1)
    [line] = status.problems
    assert line.startswith(why)
    assert list(broken_outlets({**HEALTHY, **counters}).values()) == [line]


def test_half_of_the_pages_failing_is_not_most() -> None:
    assert broken_outlets(outlet("Half", fetched=10, failed=5)) == {}


def test_a_run_that_stopped_is_aborted_whatever_else() -> None:
    assert run_status("news", "database-unusable", HEALTHY).exit_code == 2
    assert run_status("replay", "finished", {"archive/status": "aborted"}).status == "aborted"


def test_a_run_stopped_by_a_signal_is_interrupted() -> None:
    for spider in ("news", "replay"):
        verdict = run_status(spider, "shutdown", HEALTHY)
        assert (verdict.status, verdict.exit_code) == ("interrupted", 2)


def test_replay_fails_on_any_failed_page() -> None:
    assert run_status("replay", "finished", {"archive/failed": 1}).exit_code == 1
    assert run_status("replay", "finished", {"archive/pages": 5}) == RunStatus("finished", 0)
