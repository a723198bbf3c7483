"""A Celery worker killed with SIGKILL in the middle of a reminder run: once a worker
runs again, every reminder exists exactly once.

The worker is a real ``celery worker`` process (prefork) on a Redis of this test alone,
reading the test database. The test holds a lock on the notifications table so the run
is caught between reading the due doses and writing their reminders, then kills the
worker's whole process group. Its message was never acknowledged (``acks_late``), so
Redis hands it to the next worker once the visibility timeout (3 seconds here) passes.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from inventory.models import CartAssignment
from mar import tasks
from mar.models import Notification, ScheduledDose
from mar.services.doses import doses_sync_for_order
from tests import clock
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
)
from tests.security.conftest import staff

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery"),
    pytest.mark.slow,
    pytest.mark.realtime,  # the worker process runs on the process clock, as the test does
]

VISIBILITY_TIMEOUT = 3
RESIDENTS = 12


def database_url() -> str:
    params = connection.settings_dict
    host = params["HOST"] or params["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{params['USER']}:@/{params['NAME']}?host={host}"
    return (
        f"postgresql://{params['USER']}:{params['PASSWORD']}@{host}:{params['PORT'] or 5432}"
        f"/{params['NAME']}"
    )


class Worker:
    """``celery worker`` in a process group of its own, so SIGKILL takes the pool too."""

    def __init__(self, redis_url: str, log_path) -> None:
        self.redis_url = redis_url
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = clock.subprocess_environment(
            {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "medtech.settings_test",
                "DATABASE_URL": database_url(),
                "REDIS_URL": self.redis_url,
                "MEDTECH_TEST_REDIS_DB": "0",
                "SECRET_KEY": "worker-fault-test-" + "x" * 40,
                "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            }
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            clock.subprocess_command(
                "celery", "-A", "medtech", "worker",
                "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
                "--without-heartbeat", "--without-mingle", "--without-gossip",
            ),
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def worker(on_throwaway_redis, tmp_path) -> Iterator[Worker]:
    running = Worker(on_throwaway_redis.url, tmp_path / "worker.log")
    try:
        yield running
    finally:
        running.stop()


def due_soon_community(now: dt.datetime) -> tuple[CartAssignment, list[ScheduledDose]]:
    """A cart with a med tech on duty and ``RESIDENTS`` residents, each with a dose 30
    minutes from now (its reminder is due now), at the worker's real clock."""
    facility = FacilityFactory()
    cart = MedCartFactory(facility=facility)
    tech = staff(facility)["med_tech"]
    assignment = CartAssignment.objects.create(cart=cart, user=tech, started_at=now)
    doses = []
    local = (now + dt.timedelta(minutes=30)).astimezone(ZoneInfo(facility.time_zone))
    for _ in range(RESIDENTS):
        room = RoomFactory(facility=facility, unit=cart.unit, cart=cart)
        resident = ResidentFactory(facility=facility, room=room)
        order = OrderFactory(
            resident=resident,
            administration_times=[f"{local:%H:%M}"],
            starts_at=now - dt.timedelta(days=2),
        )
        doses_sync_for_order(order=order, now=now)
        doses.append(
            ScheduledDose.objects.filter(order=order, scheduled_at__gt=now)
            .order_by("scheduled_at", "id")
            .first()
        )
    return assignment, doses


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


def waiting_writer(conn: psycopg.Connection) -> int | None:
    """The pid of a backend waiting for the notifications table's lock, if any."""
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'mar_notification'::regclass"
    ).fetchone()
    return row[0] if row else None


def test_a_worker_killed_mid_run_leaves_every_reminder_exactly_once(worker, tmp_path):
    now = clock.now()
    assignment, doses = due_soon_community(now)
    expected = {(assignment.user_id, f"dose:{dose.pk}") for dose in doses}
    reminders = Notification.objects.filter(kind=Notification.Kind.DOSE_DUE)
    blocker = psycopg.connect(database_url())
    observer = psycopg.connect(database_url(), autocommit=True)
    blocker.execute("LOCK TABLE mar_notification IN EXCLUSIVE MODE")
    tasks.remind_doses_due.delay()
    worker.start()
    wait_for(
        lambda: waiting_writer(observer) is not None,
        timeout=60,
        what="the worker to reach the reminders' insert",
    )
    stuck = waiting_writer(observer)

    worker.kill()
    # The killed worker's transaction dies with it (its backend would otherwise linger
    # until the lock is freed).
    observer.execute("SELECT pg_terminate_backend(%s)", [stuck])
    blocker.rollback()
    written_by_the_killed_run = reminders.count()
    time.sleep(VISIBILITY_TIMEOUT + 1)
    worker.start()
    wait_for(
        lambda: reminders.count() >= len(expected),
        timeout=90,
        what="the redelivered run",
    )
    # Run it twice more, as beat would a minute later: still once each.
    for result in [tasks.remind_doses_due.delay(), tasks.remind_doses_due.delay()]:
        result.get(timeout=60)
    blocker.close()
    observer.close()

    assert written_by_the_killed_run == 0
    assert set(reminders.values_list("recipient_id", "subject_key")) == expected
    duplicates = (
        reminders.values("recipient_id", "subject_key")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
    )
    assert list(duplicates) == []
    assert reminders.count() == RESIDENTS
