"""The beat jobs through a real Celery worker on the real Redis broker, with the clock
moved by time-machine: a due dose gives exactly one reminder, a missed dose exactly
one alert per nurse, however many times the jobs run."""

import datetime as dt

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker

from mar import tasks
from mar.models import Notification, ScheduledDose
from medtech.celery import app
from tests.factories import OrderFactory
from tests.mar.conftest import NOW, Community

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("celery")]


@pytest.fixture
def worker():
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30
    ) as running:
        yield running


def run_twice(task) -> None:
    results = [task.delay(), task.delay()]
    for result in results:
        result.get(timeout=90)


def test_a_real_worker_materializes_reminds_once_and_alerts_once(worker):
    community = Community()
    community.put_on_duty(community.tech)
    OrderFactory(resident=community.resident)

    with time_machine.travel(NOW, tick=False):
        run_twice(tasks.materialize_doses)
    dose = ScheduledDose.objects.order_by("scheduled_at").first()
    with time_machine.travel(dose.window_start, tick=False):
        run_twice(tasks.remind_doses_due)
    with time_machine.travel(dose.window_end + dt.timedelta(hours=2, minutes=1), tick=False):
        run_twice(tasks.close_missed_doses)

    assert ScheduledDose.objects.count() == 4
    reminders = Notification.objects.filter(kind=Notification.Kind.DOSE_DUE)
    assert list(reminders.values_list("recipient_id", "subject_key")) == [
        (community.tech.pk, f"dose:{dose.pk}")
    ]
    alerts = Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED)
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(
        [community.nurse.pk, community.second_nurse.pk]
    )
    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.MISSED
