"""Benchmark the med pass: the cart's residents, one resident's pass, charting one dose.

    python manage.py bench_medpass [--residents 120] [--requests 200]

In a fresh benchmark database it builds the demo community at ``--residents`` residents,
materializes its doses and stands the clock at 08:05 in the facility's time zone on the
day it runs (the AM pass: the 08:00 doses due, the 06:00 and 07:30 ones late, the rest
of the pass upcoming). tech1, on duty for Cart A, then makes each request ``--requests``
times through Django's test Client: in process, no network, so the times are server time
(middleware, views, selectors, templates and SQL).

(a) GET the cart's resident list;
(b) GET the pass of the cart's resident with the most doses in this pass;
(c) chart one dose given, as the service call ``administration_record`` alone and as
    the tablet's POST through the view (htmx: the answer is the refreshed dose list).
    Each repetition charts the next due or late dose of the cart, round robin over every
    resident's (with normal vitals where the order asks for them), and is then undone,
    untimed (entered in error by the same tech, which puts the stock back): every
    repetition writes a record, the dose's status and a stock movement, and the pass
    looks the same to each.

Each measurement starts with one untimed warm-up request; the SQL query count is taken
on one more request after the timed ones. Prints the machine's facts and a table;
times are milliseconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import platform
import warnings
import zoneinfo
from collections.abc import Callable, Iterator

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench import benchmarking
from demo.community import DEMO_TIME_ZONE, demo_community_seed
from inventory.models import MedCart
from mar import selectors
from mar.models import Administration, ScheduledDose
from mar.services import administrations as charting
from mar.services.doses import doses_materialize
from staff.models import User

PASS_CLOCK = dt.time(8, 5)
PAGE_GOAL_MS = 150
CHART_GOAL_MS = 100
# Readings inside every order's hold parameters, for the orders that require vitals.
NORMAL_VITALS = {
    "systolic": "128",
    "diastolic": "78",
    "pulse": "72",
    "temperature": "98.2",
    "respirations": "16",
    "spo2": "97",
    "blood_glucose": "132",
    "pain": "2",
    "weight": "152",
}


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--residents", type=int, default=120)
        parser.add_argument("--requests", type=int, default=200)

    def handle(self, *args, residents: int, requests: int, **options) -> None:
        # WhiteNoise warns once that collectstatic has not run; the pages do not need it.
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        try:
            import time_machine
        except ImportError as error:  # pragma: no cover - production images
            raise CommandError(
                "bench_medpass stands the clock at the AM pass with time-machine, a "
                "development requirement: install requirements-dev.lock."
            ) from error
        if requests < 1:
            raise CommandError("--requests must be at least 1.")
        zone = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
        today = timezone.now().astimezone(zone).date()
        at = dt.datetime.combine(today, PASS_CLOCK, tzinfo=zone)
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with (
            benchmarking.fresh_database(),
            override_settings(ALLOWED_HOSTS=hosts),
            time_machine.travel(at, tick=True),
        ):
            self.stdout.write(machine_facts())
            load_before = os.getloadavg()[0]
            rows, setup = self._measure(residents=residents, requests=requests)
            load_after = os.getloadavg()[0]
        self.stdout.write(setup)
        self.stdout.write(render_table(rows))
        self.stdout.write(
            f"\nLoad average (1 min) before {load_before:.2f}, after {load_after:.2f} "
            f"on {os.cpu_count()} CPUs: other work on the machine shows up in p95 and max.\n"
        )

    def _measure(self, *, residents: int, requests: int) -> tuple[list[dict], str]:
        now = timezone.now()
        demo_community_seed(now=now, residents=residents)
        doses_materialize(now=now)
        tech = User.objects.get(username="tech1")
        cart = MedCart.objects.get(assignments__user=tech, assignments__ended_at__isnull=True)
        period, cart_rows = selectors.cart_residents(cart=cart, now=now)
        busiest = max(cart_rows, key=lambda row: row.due + row.late + row.given + row.upcoming)
        doses = chartable_doses(cart=cart, now=now)
        if not doses:
            raise CommandError("No dose of the cart is due at 08:05; nothing to chart.")
        client = Client()
        client.force_login(tech)

        cart_url = reverse("mar:pass_cart", args=[cart.public_id])
        pass_url = reverse("mar:pass_resident", args=[busiest.resident.public_id])
        rows = [
            measure(
                "(a) cart's resident list: GET",
                lambda: page(client, cart_url),
                requests=requests,
                goal=PAGE_GOAL_MS,
            ),
            measure(
                "(b) resident's pass: GET",
                lambda: page(client, pass_url),
                requests=requests,
                goal=PAGE_GOAL_MS,
            ),
        ]
        next_dose = itertools.cycle(doses).__next__
        rows.append(
            measure(
                "(c) chart a dose: service alone",
                chart_and_undo(lambda dose: chart_by_service(tech, dose), tech, next_dose),
                requests=requests,
                goal=CHART_GOAL_MS,
            )
        )
        rows.append(
            measure(
                "(c) chart a dose: htmx POST through the view",
                chart_and_undo(lambda dose: chart_by_view(client, dose), tech, next_dose),
                requests=requests,
                goal=CHART_GOAL_MS,
            )
        )
        dose_count = sum(row.due + row.late + row.given + row.upcoming for row in cart_rows)
        setup = (
            f"\n{residents} residents; clock {now.astimezone(cart.facility.zone):%H:%M} "
            f"({period.name} pass); {cart.name}: {len(cart_rows)} residents, {dose_count} "
            f"doses in the pass, {len(doses)} due or late; the busiest resident has "
            f"{busiest.due + busiest.late + busiest.given + busiest.upcoming} doses in it; "
            f"{requests} timed requests each.\n\n"
        )
        return rows, setup


def chartable_doses(*, cart: MedCart, now: dt.datetime) -> list[ScheduledDose]:
    """Every due or late dose of the cart's residents, round robin over the residents."""
    _, rows = selectors.cart_residents(cart=cart, now=now)
    by_resident = []
    for row in rows:
        doses = selectors.doses_with_state(
            ScheduledDose.objects.filter(resident=row.resident), now=now
        ).filter(state__in=[selectors.DoseState.DUE, selectors.DoseState.LATE])
        by_resident.append(list(doses.select_related("order").order_by("scheduled_at", "id")))
    interleaved = itertools.zip_longest(*by_resident)
    return [dose for group in interleaved for dose in group if dose is not None]


def page(client: Client, url: str) -> None:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise CommandError(f"GET {url} answered {response.status_code}.")


def chart_by_service(user: User, dose: ScheduledDose) -> str:
    """Chart the dose given; returns the request's idempotency key."""
    now = timezone.now()
    key = f"bench-{os.urandom(8).hex()}"
    charting.administration_record(
        user=user,
        idempotency_key=key,
        now=now,
        entry=charting.ChartEntry(
            status=Administration.Status.GIVEN,
            administered_at=now,
            scheduled_dose=dose,
            vitals={name: NORMAL_VITALS[name] for name in dose.order.vitals_needed},
        ),
    )
    return key


def chart_by_view(client: Client, dose: ScheduledDose) -> str:
    """POST the chart panel's form as htmx does; returns the idempotency key."""
    key = f"bench-{os.urandom(8).hex()}"
    form = {"idempotency_key": key, "status": Administration.Status.GIVEN} | {
        f"vital_{name}": NORMAL_VITALS[name] for name in dose.order.vitals_needed
    }
    url = reverse("mar:dose_chart", args=[dose.public_id])
    response = client.post(url, form, secure=True, HTTP_HX_REQUEST="true")
    if response.status_code != 200:
        raise CommandError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
    return key


def chart_and_undo(
    chart: Callable[[ScheduledDose], str],
    user: User,
    next_dose: Callable[[], ScheduledDose],
) -> Iterator[Callable[[], None]]:
    """One timed chart per item; the undo of the one before runs untimed in between."""
    while True:
        dose = next_dose()
        keys: list[str] = []
        yield lambda dose=dose, keys=keys: keys.append(chart(dose))
        charting.administration_mark_entered_in_error(
            administration=Administration.objects.get(idempotency_key=keys[0]),
            user=user,
            reason="Benchmark: undo to chart again",
            now=timezone.now(),
        )


def measure(label: str, action, *, requests: int, goal: int) -> dict:
    """Warm up once, time ``requests`` calls, count the queries of one more.

    ``action`` is a callable, or an iterator of callables (one per call) whose untimed
    work between calls runs when the next one is taken."""
    calls = action if isinstance(action, Iterator) else itertools.repeat(action)
    next(calls)()
    samples = [benchmarking.timed(next(calls), repeat=1)[0] for _ in range(requests)]
    call = next(calls)
    with CaptureQueriesContext(connection) as queries:
        call()
    next(calls, None)
    return {
        "label": label,
        "summary": benchmarking.summary(samples),
        "queries": len(queries),
        "goal": goal,
    }


def machine_facts() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return (
        f"nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"PostgreSQL {postgres}, Django {django.get_version()}, DEBUG {settings.DEBUG}\n"
    )


def render_table(rows: list[dict]) -> str:
    header = (
        "| measurement | n | p50 ms | p95 ms | max ms | SQL queries per request "
        "| goal (p95) |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
    )
    lines = []
    for row in rows:
        summary, goal = row["summary"], row["goal"]
        verdict = "met" if summary["p95"] < goal else "MISSED"
        lines.append(
            f"| {row['label']} | {summary['n']} | {summary['p50']:.1f} | {summary['p95']:.1f} "
            f"| {summary['max']:.1f} | {row['queries']} | < {goal} ms: {verdict} |"
        )
    return header + "\n".join(lines) + "\n"
