"""Printing through a real Celery worker on the real Redis broker: the whole community
rendered part by part and merged, and the pre-render job rendering only what changed."""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from pypdf import PdfReader

from mar.models import PrintJob
from medtech.celery import app
from printing import services as printing
from printing import tasks
from printing.selectors import Month
from tests import clock
from tests.factories import FacilityFactory, MedCartFactory, ResidentFactory, RoomFactory
from tests.printing.test_pdf import make_order, make_staff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("celery")]


@pytest.fixture
def worker(settings, tmp_path):
    """A worker with two threads on a queue of its own: another test run sharing this
    Redis (its database number comes from the xdist worker's) never takes its tasks."""
    settings.MEDIA_ROOT = tmp_path / "media"
    queue = f"print-tests-{uuid.uuid4().hex}"
    queues = app.amqp.queues
    default_queue, consume_from = app.conf.task_default_queue, queues._consume_from
    app.conf.task_default_queue = queue
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            shutdown_timeout=60,
            queues=[queue],
        ) as running:
            yield running
    finally:
        # A worker's -Q is remembered on the app's queues: undo it, or the next test's
        # worker would listen to this queue alone.
        app.conf.task_default_queue = default_queue
        queues._consume_from = consume_from
        queues.pop(queue, None)


def community(residents: int):
    facility = FacilityFactory(name="Cedar Court")
    staff = make_staff(facility)
    cart = MedCartFactory(facility=facility)
    month = Month.containing(clock.now(), facility.zone)
    starts_at = dt.datetime.combine(month.first_day, dt.time(0), tzinfo=facility.zone)
    for number in range(residents):
        resident = ResidentFactory(
            facility=facility,
            room=RoomFactory(facility=facility, unit=cart.unit, cart=cart, number=f"1{number:02d}"),
        )
        make_order(
            resident, cart, "lisinopril", administration_times=["08:00"], starts_at=starts_at
        )
    return facility, staff, month


def wait_for(condition, *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the worker did not finish in time")
        time.sleep(0.25)


def test_a_worker_renders_the_whole_community_and_merges_it(worker):
    facility, staff, month = community(residents=3)

    asked = printing.community_month_request(
        facility=facility, month=month, user=staff.rebecca, now=clock.now()
    )
    job = asked.job

    wait_for(lambda: PrintJob.objects.get(pk=job.pk).status in ("ready", "failed"))
    job.refresh_from_db()
    assert job.status == PrintJob.Status.READY, job.error
    assert (job.parts_done, job.parts_total) == (3, 3)
    reader = PdfReader(io.BytesIO(job.file.read()))
    # One order each: a resident's grid, legends and notes fit on one page.
    assert len(reader.pages) == job.page_count == 3
    assert len(reader.outline) == 3
    assert PrintJob.objects.filter(kind=PrintJob.Kind.RESIDENT_MONTH).count() == 3


def test_the_prerender_job_renders_each_changed_resident_once(worker):
    *_, month = community(residents=2)

    first = tasks.prerender_resident_months.delay().get(timeout=60)
    wait_for(lambda: PrintJob.objects.filter(status="ready").count() == 2)
    again = tasks.prerender_resident_months.delay().get(timeout=60)

    assert (first, again) == (2, 0)
    assert set(PrintJob.objects.values_list("kind", "month", "requested_by")) == {
        (PrintJob.Kind.RESIDENT_MONTH, month.first_day, None)
    }
