# One clock: every test stands at a fixed moment (the `moment` fixture: tests.clock.NOW unless a
# conftest or module overrides it), held there with time-machine; tests, fixtures and factories
# read it only through tests.clock.now()/today(). Tests marked `realtime` (Chromium, worker
# processes) run on the process clock instead, which MEDTECH_TEST_CLOCK moves for a whole run.
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine

from tests import clock as test_clock

_moved_clock: time_machine.travel | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Move the whole process's clock (and every xdist worker's) before anything is built."""
    global _moved_clock
    config.addinivalue_line(
        "markers", "realtime: runs on the process clock (MEDTECH_TEST_CLOCK), not a frozen moment"
    )
    _moved_clock = test_clock.move_process_clock()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _moved_clock is not None:
        _moved_clock.stop()


def pytest_report_header(config: pytest.Config) -> str:
    moved = test_clock.moved_to()
    where = f"moved to {moved.isoformat()}" if moved else "the real clock"
    return f"process clock: {where} (frozen tests stand at their own moment)"


@pytest.fixture
def moment() -> dt.datetime:
    """The moment a test stands at; a conftest or a module overrides it."""
    return test_clock.NOW


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller | None]:
    """Hold the clock at the test's moment (not for `realtime` tests); yields the traveller."""
    if request.node.get_closest_marker("realtime"):
        yield None
        return
    with time_machine.travel(request.getfixturevalue("moment"), tick=False) as traveller:
        yield traveller


@pytest.fixture
def facility(db):
    from tests.factories import FacilityFactory

    return FacilityFactory()
