"""The suite's one clock: tests stand at their moment, factories follow it, nothing else in
tests/ reads the clock, and MEDTECH_TEST_CLOCK moves a whole run (and its worker processes)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tests import clock as test_clock
from tests.factories import CertificationFactory, OrderFactory, StockItemFactory

CHICAGO = ZoneInfo("America/Chicago")
TESTS = Path(__file__).parent
READS_THE_CLOCK = re.compile(
    r"timezone\.now\(|timezone\.localdate\(\)|datetime\.now\(|datetime\.utcnow\(|"
    r"date\.today\(|\btime\.time\(|timezone\.localtime\(\)"
)


def test_nothing_in_tests_reads_the_clock_but_the_clock_helper():
    readers = [
        f"{path.relative_to(TESTS.parent)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if READS_THE_CLOCK.search(line)
    ]

    assert readers == []


def test_a_test_stands_at_its_moment_and_the_factories_follow_it(db):
    order = OrderFactory()
    stock = StockItemFactory()
    certification = CertificationFactory()

    assert test_clock.now() == test_clock.NOW
    assert order.starts_at == test_clock.NOW - dt.timedelta(days=7)
    assert order.entered_at == order.verified_at == order.starts_at - dt.timedelta(hours=1)
    assert stock.received_at == test_clock.NOW
    assert certification.issued_on < test_clock.NOW.date() < certification.expires_on


def test_the_clock_fixture_moves_the_moment(clock):
    clock.shift(dt.timedelta(hours=2))

    assert test_clock.now() == dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # 07:59 on the spring-forward morning is CDT (UTC-5): 02:00-02:59 did not exist.
        ("2029-03-11T07:59 America/Chicago", dt.datetime(2029, 3, 11, 12, 59, tzinfo=dt.UTC)),
        # New Year's Eve in Chicago is already New Year's Day in UTC.
        ("2030-12-31T23:30 America/Chicago", dt.datetime(2031, 1, 1, 5, 30, tzinfo=dt.UTC)),
        ("2028-02-29T12:00Z", dt.datetime(2028, 2, 29, 12, 0, tzinfo=dt.UTC)),
        ("2029-03-11T07:59:00-05:00", dt.datetime(2029, 3, 11, 12, 59, tzinfo=dt.UTC)),
    ],
)
def test_the_moved_clock_reads_an_offset_or_a_zone_name(value, expected):
    assert test_clock.moved_to(value) == expected


@pytest.mark.parametrize(
    "value", ["2029-03-11T07:59", "tomorrow", "2029-03-11T07:59 Mars/Olympus", "2029-13-01Z"]
)
def test_a_moved_clock_that_is_not_a_time_stops_the_run_with_the_reason(value):
    with pytest.raises(SystemExit, match="MEDTECH_TEST_CLOCK"):
        test_clock.moved_to(value)


@pytest.mark.realtime
def test_a_realtime_test_and_its_worker_processes_run_on_the_process_clock():
    before = test_clock.now()

    child = subprocess.run(  # noqa: S603 - our own interpreter and module
        test_clock.subprocess_command(),
        env=test_clock.subprocess_environment(),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    child_now = dt.datetime.fromisoformat(child.stdout.strip())
    assert before <= child_now <= test_clock.now()
    moved = test_clock.moved_to()
    if moved is not None:
        assert moved <= before < moved + dt.timedelta(hours=2)
