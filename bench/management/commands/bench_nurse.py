"""Benchmark the supervising nurse's pages: the exceptions review and the 30-day report.

    python manage.py bench_nurse [--residents 120] [--days 30] [--requests 50]

In a fresh benchmark database (``bench.benchmarking.fresh_database``) it builds the demo
community at ``--residents`` residents, then ``--days`` days of history before now: every
scheduled order's doses from the schedule engine, and for each dose whose window has
closed a record written in bulk (a deterministic mix: about 88% given on time by tech1 or
tech2, 3% given late, 4% refused, 1% held, the rest never charted, so missed), with the
follow-ups of the refusals and holds, and nurse1's review of the exceptions older than two
days. History is inserted with ``bulk_create`` (the charting service would take many
minutes for ~20,000 doses and is benchmarked by bench_medpass); the pages only read it.

nurse1 then makes each request ``--requests`` times through Django's test Client (in
process, no network: server time, i.e. middleware, view, selectors, template and SQL):

(a) GET /review/            the exceptions not yet reviewed, first page of 50;
(b) GET /review/?status=all every exception, first page of 50 (the count covers them all);
(c) GET /reports/           the 30-day reports with their seven SVG charts;
(d) GET /reports/on-time-by-unit.csv;
(e) GET /record/<resident>/ the resident's record with the 7-day MAR grid.

One untimed warm-up request first; the SQL query count is taken on one more request after
the timed ones. Prints the machine's facts and a table; times are milliseconds.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
import warnings

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from mar.management.commands.bench_medpass import machine_facts, measure, render_table

from bench import benchmarking
from demo.community import demo_community_seed
from mar import schedule
from mar.models import Administration, ExceptionReview, FollowUp, Order, ScheduledDose
from mar.services.doses import FacilitySchedule
from residents.models import Resident
from staff.models import User

GOAL_MS = 300


def page(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise CommandError(f"GET {url} answered {response.status_code}.")


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--residents", type=int, default=120)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--requests", type=int, default=50)

    def handle(self, *args, residents: int, days: int, requests: int, **options) -> None:
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        if requests < 1 or days < 1:
            raise CommandError("--requests and --days must be at least 1.")
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with benchmarking.fresh_database(), override_settings(ALLOWED_HOSTS=hosts):
            self.stdout.write(machine_facts())
            load_before = os.getloadavg()[0]
            now = timezone.now()
            demo_community_seed(now=now, residents=residents)
            counts = build_history(now=now, days=days)
            nurse = User.objects.get(username="nurse1")
            client = Client()
            client.force_login(nurse)
            resident = Resident.objects.order_by("last_name", "id").first()
            urls = [
                ("(a) exceptions review, not reviewed: GET", reverse("nurse:review")),
                ("(b) exceptions review, all: GET", reverse("nurse:review") + "?status=all"),
                (f"(c) reports, {days} days: GET", reverse("nurse:reports") + f"?days={days}"),
                (
                    "(d) report CSV, on time by unit: GET",
                    reverse("nurse:report_csv", args=["on-time-by-unit"]),
                ),
                (
                    "(e) resident's record: GET",
                    reverse("nurse:resident_record", args=[resident.public_id]),
                ),
            ]
            rows = [
                measure(label, lambda url=url: page(client, url), requests=requests, goal=GOAL_MS)
                for label, url in urls
            ]
            load_after = os.getloadavg()[0]
        self.stdout.write(
            f"\n{residents} residents, {days} days of history: {counts['doses']} doses due, "
            f"{counts['records']} records, {counts['exceptions']} exceptions "
            f"({counts['open']} not reviewed); {requests} timed requests each.\n\n"
        )
        self.stdout.write(render_table(rows))
        self.stdout.write(
            f"\nLoad average (1 min) before {load_before:.2f}, after {load_after:.2f} "
            f"on {os.cpu_count()} CPUs: other work on the machine shows up in p95 and max.\n"
        )


@transaction.atomic
def build_history(*, now: dt.datetime, days: int) -> dict[str, int]:
    """Doses and records of the last ``days`` days, in bulk (see the module docstring)."""
    techs = list(User.objects.filter(username__in=["tech1", "tech2"]).order_by("username"))
    nurse = User.objects.get(username="nurse1")
    orders = list(
        Order.objects.filter(status=Order.Status.ACTIVE)
        .exclude(frequency=Order.Frequency.PRN)
        .select_related("resident__facility")
        .order_by("id")
    )
    facilities = {order.resident.facility for order in orders}
    schedules = FacilitySchedule.load(facilities)
    since = now - dt.timedelta(days=days)
    doses = []
    for order in orders:
        facility = order.resident.facility
        plan = schedules[facility.pk]
        frequency = schedule.Frequency.from_order(order, pass_times=plan.pass_times)
        minutes = schedule.window_minutes(
            frequency=frequency,
            is_time_critical=order.is_time_critical,
            override_minutes=order.window_minutes,
            facility_windows=plan.windows,
        )
        for at in schedule.scheduled_times(
            frequency=frequency,
            starts_at=min(order.starts_at, since),
            ends_at=None,
            zone=plan.zone,
            range_start=since,
            range_end=now - dt.timedelta(hours=4),
        ):
            start, end = schedule.window_for(scheduled_at=at, minutes=minutes)
            doses.append(
                ScheduledDose(
                    order=order,
                    resident_id=order.resident_id,
                    scheduled_at=at,
                    window_start=start,
                    window_end=end,
                )
            )
    ScheduledDose.objects.bulk_create(doses, ignore_conflicts=True, batch_size=2000)
    doses = list(
        ScheduledDose.objects.filter(
            scheduled_at__gte=since, window_end__lt=now, status=ScheduledDose.Status.PENDING
        )
        .select_related("order")
        .order_by("scheduled_at", "id")
    )
    records, missed = [], []
    for index, dose in enumerate(doses):
        bucket = (index * 7919) % 100
        if bucket >= 98:
            missed.append(dose.pk)
            continue
        status, at, late = "given", dose.scheduled_at, False
        if 88 <= bucket < 91:
            at, late = dose.window_end + dt.timedelta(minutes=20), True
        elif 91 <= bucket < 95:
            status = "refused"
        elif 95 <= bucket < 96:
            status = "held"
        elif bucket >= 96:
            status = "not_available"
        records.append(
            Administration(
                scheduled_dose=dose,
                order=dose.order,
                resident_id=dose.resident_id,
                status=status,
                reason={"refused": "Said no", "held": "Pulse 54"}.get(status, "Out of stock")
                if status != "given"
                else "",
                dose_amount=dose.order.dose_amount if status == "given" else None,
                administered_at=at,
                documented_at=at,
                administered_by=techs[index % len(techs)],
                is_late=late,
                idempotency_key=f"bench-{uuid.uuid4()}",
            )
        )
    Administration.objects.bulk_create(records, batch_size=2000)
    ScheduledDose.objects.filter(pk__in=[r.scheduled_dose_id for r in records]).update(
        status=ScheduledDose.Status.CHARTED, status_changed_at=now
    )
    ScheduledDose.objects.filter(pk__in=missed).update(
        status=ScheduledDose.Status.MISSED, status_changed_at=now
    )
    followups = [
        FollowUp(
            administration=record,
            resident_id=record.resident_id,
            opened_at=record.documented_at,
            due_at=record.administered_at + dt.timedelta(hours=24),
        )
        for record in records
        if record.status in ("refused", "held")
    ]
    FollowUp.objects.bulk_create(followups, batch_size=2000)
    reviewed_before = now - dt.timedelta(days=2)
    exceptions = [r for r in records if r.status != "given" or r.is_late]
    reviews = [
        ExceptionReview(
            kind={"given": "late"}.get(r.status, r.status),
            administration=r,
            note="Reviewed (benchmark)",
            reviewed_by=nurse,
            reviewed_at=now,
        )
        for r in exceptions
        if r.administered_at < reviewed_before
    ]
    missed_doses = ScheduledDose.objects.filter(pk__in=missed).only("id", "scheduled_at")
    reviews += [
        ExceptionReview(
            kind="missed",
            scheduled_dose=dose,
            note="Reviewed (benchmark)",
            reviewed_by=nurse,
            reviewed_at=now,
        )
        for dose in missed_doses
        if dose.scheduled_at < reviewed_before
    ]
    ExceptionReview.objects.bulk_create(reviews, batch_size=2000)
    total_exceptions = len(exceptions) + len(missed)
    return {
        "doses": len(doses),
        "records": len(records),
        "exceptions": total_exceptions,
        "open": total_exceptions - len(reviews),
    }
