"""The test suite's one clock (the convention is at the top of tests/conftest.py).

`now()` and `today()` are the only readers of the clock in tests/: inside a test they give
the moment the test stands at (held there by the autouse `clock` fixture), in a test marked
`realtime` the process clock, which `MEDTECH_TEST_CLOCK` moves for a whole run.

Run as a module, it starts a program on the same clock (a worker process a test spawns):
``python -m tests.clock celery -A medtech worker ...``; with no module it prints the time.
"""

from __future__ import annotations

import datetime as dt
import os
import runpy
import sys
import zoneinfo

import time_machine
from django.utils import timezone

# Friday 2026-11-20, 07:00 in Chicago (CST, UTC-6): the AM pass's window (07:00-09:00) is open.
NOW = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)

# Where a whole run stands, e.g. "2029-03-11T07:59 America/Chicago" or "2028-02-29T12:00Z".
MOVED_CLOCK_VARIABLE = "MEDTECH_TEST_CLOCK"


def now() -> dt.datetime:
    """The test's time: its frozen moment, or the (possibly moved) process clock."""
    return timezone.now()


def today(zone: dt.tzinfo | None = None) -> dt.date:
    """The test's date in ``zone`` (the project's time zone by default)."""
    return timezone.localdate(now(), zone)


def moved_to(value: str | None = None) -> dt.datetime | None:
    """The moment MEDTECH_TEST_CLOCK names, aware; None when it is unset.

    Accepts an ISO 8601 time with an offset or "Z", or a local ISO time followed by a
    space and an IANA zone name (the zone decides the offset, DST included).
    """
    value = (os.environ.get(MOVED_CLOCK_VARIABLE, "") if value is None else value).strip()
    if not value:
        return None
    stamp, _, zone_name = value.partition(" ")
    try:
        moment = dt.datetime.fromisoformat(stamp)
        if zone_name:
            if moment.tzinfo is not None:
                raise ValueError("give an offset or a zone name, not both")
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone_name.strip()))
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as error:
        raise SystemExit(f"{MOVED_CLOCK_VARIABLE}={value!r} is not a time: {error}") from error
    if moment.tzinfo is None:
        raise SystemExit(
            f"{MOVED_CLOCK_VARIABLE}={value!r} needs an offset or a zone name, "
            "e.g. 2029-03-11T07:59 America/Chicago"
        )
    return moment


def move_process_clock() -> time_machine.travel | None:
    """Move this process's clock to MEDTECH_TEST_CLOCK (running from there); None if unset."""
    moment = moved_to()
    if moment is None:
        return None
    # A UTC moment: time-machine would set TZ to a zone name it is given, and the project's
    # time zone must keep coming from settings, as in production.
    travel = time_machine.travel(moment.astimezone(dt.UTC), tick=True)
    travel.start()
    return travel


def subprocess_command(*argv: str) -> list[str]:
    """``python -m <argv>`` on this process's clock (see the module's docstring)."""
    return [sys.executable, "-m", "tests.clock", *argv]


def subprocess_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process: a moved run passes the child this process's time."""
    environment = dict(os.environ if base is None else base)
    if moved_to() is not None:
        environment[MOVED_CLOCK_VARIABLE] = now().isoformat()
    return environment


def main(argv: list[str]) -> None:
    """Run module ``argv[0]`` as __main__ on the moved clock; with none, print the time."""
    move_process_clock()
    if not argv:
        print(dt.datetime.now(dt.UTC).isoformat())  # noqa: T201 - the command's answer
        return
    sys.argv = list(argv)
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
