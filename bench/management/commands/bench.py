"""The whole benchmark: every figure of issue 12 beside a baseline measured in the same run.

    python manage.py bench [--residents 120] [--requests 150] [--write docs/benchmarks.md]

Everything runs in one fresh benchmark database (``bench.benchmarking.fresh_database``,
dropped at the end), a private Redis (broker of the print workers) and a temporary media
folder, so development data, other engineers' workers and other benchmarks are never
touched. Between phases the tables are emptied and the demo community built again.

1. Pages and charting, in process through Django's test client (server time: the whole
   middleware stack, views, selectors, templates and SQL), the clock at 08:05 (the AM
   pass): the cart's resident list and the busiest resident's pass screen, each against a
   bare view (``bench.urls``) that reads the same rows with one hand-written
   query and renders them with a minimal template; requests interleaved ours/bare so a
   change in the machine's load hits both. Charting one dose through the service
   (``administration_record``) against one INSERT + one UPDATE in a transaction through
   a plain psycopg connection.
2. Through gunicorn (a subprocess on a free localhost port, ``bench.urls``
   urlconf, production's gunicorn.conf.py: gthread workers):
   ``POST /api/v1/administrations/`` and ``GET /api/v1/doses/?cart=`` from one client
   (``--requests`` each), then ``--clients`` concurrent
   clients charting as fast as they can, against the same clients posting the same
   bodies to a trivial endpoint (no database).
3. Schedule materialization (48 hours) at 1x, 2x and 4x ``--residents``, against the
   same rows, precomputed, inserted through psycopg by the same one statement
   (INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING); one reminder tick
   (reminders due plus missed-dose detection) at ``--residents``.
4. With last month and this month charted in bulk (``bench_print.fill_month``): the
   nurse's exceptions list and 30-day report; the monthly MAR of the median resident
   against WeasyPrint alone on its prebuilt HTML; the whole community printed from cold
   by 2 Celery worker processes against WeasyPrint alone in 2 processes on the same
   prebuilt HTML; peak memory of each.

Prints the machine's facts and one table; ``--write`` puts them into a Markdown file
between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` (the text around is kept).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import itertools
import multiprocessing
import os
import platform
import re
import signal
import sys
import time
import tracemalloc
import uuid
import warnings
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bench import benchmarking
from demo.community import DEMO_FACILITY_NAME, DEMO_TIME_ZONE, demo_community_seed
from inventory.models import MedCart, StockItem
from mar import selectors
from mar.management.commands import bench_api, bench_medpass, bench_print
from mar.models import Administration, ScheduledDose
from mar.services.doses import doses_close_missed, doses_materialize
from mar.services.reminders import reminders_dose_due
from printing import render
from printing import services as printing
from printing.selectors import Month, monthly_mars, residents_for_month
from residents.models import Facility
from staff.models import User

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BENCH_URLCONF = "bench.urls"
BENCH_WSGI = "bench.wsgi:application"
PASS_CLOCK = dt.time(8, 5)
PACKAGES = (
    "Django", "djangorestframework", "psycopg", "gunicorn", "celery", "redis",
    "weasyprint", "pypdf",
)  # fmt: skip
# The nurse's lists (issue 7): (label, URL name, query); SINCE_30_DAYS in a query is
# replaced by the moment 30 days before the run. Point these at other pages as they change.
SINCE_30_DAYS = object()
NURSE_PAGES: tuple[tuple[str, str, dict], ...] = (
    ("exceptions list: the nurse's review page", "nurse:review", {}),
    ("30-day report page", "nurse:reports", {"days": "30"}),
    ("exceptions list: `GET /api/v1/exceptions/` (open, first page)", "api:exceptions", {}),
    (
        "30 days of exceptions: `GET /api/v1/exceptions/?status=all&from=`",
        "api:exceptions",
        {"status": "all", "from": SINCE_30_DAYS},
    ),
)


@dataclass
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: str
    goal: str


def ms(summary: dict) -> str:
    return f"p50 {summary['p50']:.1f} ms, p95 {summary['p95']:.1f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--residents", type=int, default=120)
        parser.add_argument("--requests", type=int, default=150)
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument("--concurrent-doses", type=int, default=400)
        parser.add_argument("--scales", default="1,2,4", help="materialization sizes")
        parser.add_argument("--repeat", type=int, default=5)
        # gunicorn runs as production does (gunicorn.conf.py); these override its size.
        parser.add_argument("--workers", type=int, default=None)
        parser.add_argument("--threads", type=int, default=None)
        parser.add_argument("--write", default="", help="Markdown file to put the table in")
        parser.add_argument(
            "--phases",
            default="pages,http,schedule,print",
            help="run only these (to work on one figure; the table is then partial)",
        )

    def handle(self, *args, **options) -> None:
        # A stopped benchmark still stops its servers and drops its database.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        started, load_before = time.perf_counter(), os.getloadavg()
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        rows: list[Row] = []
        notes: list[str] = []
        with (
            bench_print.private_redis() as broker,
            bench_print.media_folder() as media,
            benchmarking.fresh_database() as name,
            override_settings(ALLOWED_HOSTS=hosts, ROOT_URLCONF=BENCH_URLCONF),
        ):
            facts = machine_facts()
            database_url = bench_api.database_url(name)
            phases = {
                "pages": lambda: phase_pages(options, rows, notes),
                "http": lambda: phase_http(options, rows, notes, database_url),
                "schedule": lambda: phase_schedule(options, rows, notes),
                "print": lambda: phase_print(options, rows, notes, database_url, broker, media),
            }
            chosen = [label.strip() for label in options["phases"].split(",") if label.strip()]
            if unknown := set(chosen) - set(phases):
                raise CommandError(f"Unknown phases {sorted(unknown)}; choose from {list(phases)}.")
            for label in chosen:
                phase = phases[label]
                self.stderr.write(f"[{time.perf_counter() - started:5.0f} s] {label}...")
                phase()
        facts.append(
            f"load average (1, 5, 15 min) {' / '.join(f'{v:.1f}' for v in load_before)} "
            f"before, {' / '.join(f'{v:.1f}' for v in os.getloadavg())} after; "
            f"the whole run took {time.perf_counter() - started:.0f} s"
        )
        report = render_table(facts=facts, rows=rows, notes=notes)
        self.stdout.write(report)
        if options["write"]:
            write_between_markers(Path(options["write"]), report)
            self.stderr.write(f"Written to {options['write']}.")


# --- Machine -------------------------------------------------------------------------------


def machine_facts() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    return [
        f"run {timezone.now():%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs ({cpu}), "
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}, PostgreSQL {postgres} "
        f"({'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded pgserver'}), "
        + ", ".join(versions),
    ]


# --- Helpers -------------------------------------------------------------------------------


def empty_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') "
            "FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_migrations'"
        )
        cursor.execute(f"TRUNCATE {cursor.fetchone()[0]} RESTART IDENTITY CASCADE")


def analyze() -> None:
    """Gather planner statistics, as autovacuum does within a minute of a load this size
    in a running database; a freshly seeded one has none, and the planner then takes
    each table for a few rows (a nested loop over every resident per order, say)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def raw_connection() -> psycopg.Connection:
    """A plain psycopg connection to the benchmark database (no Django in between)."""
    params = connection.get_connection_params()  # what Django itself connects with
    for django_only in ("cursor_factory", "context", "server_side_binding"):
        params.pop(django_only, None)
    return psycopg.connect(**params)


def paired(ours: Callable[[], object], bare: Callable[[], object], *, n: int):
    """Time ``ours`` and ``bare`` alternately, after one untimed call each."""
    ours(), bare()
    ours_ms, bare_ms = [], []
    for _ in range(n):
        ours_ms += benchmarking.timed(ours, repeat=1)
        bare_ms += benchmarking.timed(bare, repeat=1)
    return benchmarking.summary(ours_ms), benchmarking.summary(bare_ms)


def get_ok(client: Client, url: str) -> bytes:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise CommandError(f"GET {url} answered {response.status_code}.")
    return response.content


def queries_of(call: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


# --- 1. Pages and charting, in process -----------------------------------------------------


def phase_pages(options: dict, rows: list[Row], notes: list[str]) -> None:
    import time_machine

    zone = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
    at = dt.datetime.combine(timezone.now().astimezone(zone).date(), PASS_CLOCK, tzinfo=zone)
    n = options["requests"]
    with time_machine.travel(at, tick=True):
        empty_tables()
        now = timezone.now()
        demo_community_seed(now=now, residents=options["residents"])
        doses_materialize(now=now)
        analyze()
        tech = User.objects.get(username="tech1")
        cart = MedCart.objects.select_related("facility").get(
            assignments__user=tech, assignments__ended_at__isnull=True
        )
        period, cart_rows = selectors.cart_residents(cart=cart, now=now)
        busiest = max(cart_rows, key=lambda row: row.due + row.late + row.given + row.upcoming)
        client = Client()
        client.force_login(tech)
        late_since = now - dt.timedelta(minutes=cart.facility.late_limit_minutes)
        window = urlencode(
            {
                "start": period.starts_at.isoformat(),
                "end": period.ends_at.isoformat(),
                "now": now.isoformat(),
                "late_since": late_since.isoformat(),
            }
        )
        pages = (
            (
                f"cart resident list ({len(cart_rows)} residents), server time",
                reverse("mar:pass_cart", args=[cart.public_id]),
                reverse("bench_cart", args=[cart.public_id]) + "?" + window,
            ),
            (
                "one resident's pass screen, server time",
                reverse("mar:pass_resident", args=[busiest.resident.public_id]),
                reverse("bench_pass", args=[busiest.resident.public_id]) + "?" + window,
            ),
        )
        bare_cart = get_ok(client, pages[0][2]).decode()
        if bare_cart.count("<li>") != len(cart_rows):
            raise CommandError("The bare cart view does not list the cart's residents.")
        for figure, url, bare_url in pages:
            ours, bare = paired(
                lambda url=url: get_ok(client, url),
                lambda bare_url=bare_url: get_ok(client, bare_url),
                n=n,
            )
            ours_q = queries_of(lambda url=url: get_ok(client, url))
            bare_q = queries_of(lambda bare_url=bare_url: get_ok(client, bare_url))
            ratio = ours["p50"] / bare["p50"]
            rows.append(
                Row(
                    figure,
                    f"{ms(ours)}; {ours_q} queries",
                    f"bare view, one hand-written query: {ms(bare)}; {bare_q} queries",
                    f"{ratio:.1f}x",
                    f"<= 3x and p95 < 150 ms: {verdict(ratio <= 3 and ours['p95'] < 150)}",
                )
            )
        notes.append(
            f"Pages: clock {now.astimezone(zone):%H:%M} ({period.name} pass), {cart.name}, "
            f"the busiest resident has {busiest.due + busiest.late + busiest.given} doses "
            f"due, late or given in it; {n} requests each, ours and bare interleaved; "
            "query counts include the session and user lookups both make."
        )

        doses = with_usable_stock(bench_medpass.chartable_doses(cart=cart, now=now), now=now)
        next_dose = itertools.cycle(doses).__next__
        service = bench_medpass.measure(
            "service",
            bench_medpass.chart_and_undo(
                lambda dose: bench_medpass.chart_by_service(tech, dose), tech, next_dose
            ),
            requests=n,
            goal=100,
        )
        raw = raw_chart_transactions(cart=cart, now=now, n=n)
        ratio = service["summary"]["p50"] / raw["p50"]
        rows.append(
            Row(
                "chart a dose: service call `administration_record`",
                f"{ms(service['summary'])}; {service['queries']} queries",
                f"one INSERT + one UPDATE in a transaction through psycopg: {ms(raw)}",
                f"{ratio:.1f}x",
                f"<= 3x: {verdict(ratio <= 3)}",
            )
        )
        notes.append(
            f"Charting (service): {len(doses)} due or late doses of {cart.name} round robin, "
            "each charted given and then (untimed) marked entered in error; the raw "
            "transaction writes a record built from the same model's fields and sets a "
            "dose of the other cart charted."
        )
        options["raw_chart"] = raw  # the baseline of the POST through gunicorn too


def with_usable_stock(doses: list[ScheduledDose], *, now: dt.datetime) -> list[ScheduledDose]:
    """The doses whose medication is on the cart for the resident, unexpired, enough for
    a few doses (the demo leaves some out of stock on purpose: those chart "not
    available", which is not what this measures)."""
    today = timezone.localdate(now)
    on_hand: dict[tuple[int, int], Decimal] = {}
    for resident_id, medication_id, quantity in StockItem.objects.filter(
        expires_on__gte=today
    ).values_list("resident_id", "medication_id", "quantity_on_hand"):
        key = (resident_id, medication_id)
        on_hand[key] = max(on_hand.get(key, Decimal(0)), quantity)
    return [
        dose
        for dose in doses
        if on_hand.get((dose.resident_id, dose.order.medication_id), 0)
        >= dose.order.dose_amount * 3
    ]


def raw_chart_transactions(*, cart: MedCart, now: dt.datetime, n: int) -> dict:
    """One INSERT of an administration and one UPDATE of its dose, committed, through a
    plain psycopg connection; on pending doses of another cart (each charted once)."""
    other = MedCart.objects.filter(facility=cart.facility).exclude(pk=cart.pk).first() or cart
    doses = list(
        ScheduledDose.objects.filter(
            status=ScheduledDose.Status.PENDING, resident__room__cart=other
        )
        .select_related("order")
        .order_by("-scheduled_at", "-id")[: n + 1]
    )
    if len(doses) < n + 1:
        raise CommandError("Not enough pending doses for the raw charting baseline.")
    user = User.objects.get(username="tech2")
    fields = [field for field in Administration._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    insert = (
        f"INSERT INTO {quote(Administration._meta.db_table)} "  # noqa: S608 - model's names
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    update = (
        f"UPDATE {quote(ScheduledDose._meta.db_table)} "  # noqa: S608 - model's names
        "SET status = %s, status_changed_at = %s WHERE id = %s"
    )
    samples = []
    with raw_connection() as raw:
        for dose in doses:
            record = Administration(
                scheduled_dose=dose,
                order_id=dose.order_id,
                resident_id=dose.resident_id,
                status=Administration.Status.GIVEN,
                dose_amount=dose.order.dose_amount,
                administered_at=now,
                documented_at=now,
                administered_by=user,
                vitals={},
                idempotency_key=str(uuid.uuid4()),
            )
            values = [
                field.get_db_prep_save(getattr(record, field.attname), connection)
                for field in fields
            ]
            started = time.perf_counter()
            with raw.transaction(), raw.cursor() as cursor:
                cursor.execute(insert, values)
                cursor.execute(update, [ScheduledDose.Status.CHARTED.value, now, dose.pk])
            samples.append((time.perf_counter() - started) * 1000)
    return benchmarking.summary(samples[1:])  # the first one warms the connection up


# --- 2. Through gunicorn -------------------------------------------------------------------


def phase_http(options: dict, rows: list[Row], notes: list[str], database_url: str) -> None:
    empty_tables()
    setup = bench_api.seed(residents=options["residents"])
    n, clients, concurrent = options["requests"], options["clients"], options["concurrent_doses"]
    workers, threads = bench_api.gunicorn_production_size()
    workers, threads = options["workers"] or workers, options["threads"] or threads
    warm_up = 4 * workers * threads
    needed = warm_up + n + concurrent + 1
    if len(setup.doses) < needed:
        raise CommandError(f"Only {len(setup.doses)} chartable doses; {needed} are needed.")
    queries = bench_api.count_queries(setup)
    doses = list(setup.doses)
    chart_url = bench_api.CHART_URL
    with bench_api.gunicorn(
        database_url=database_url,
        workers=workers,
        threads=threads,
        app=BENCH_WSGI,
        probe="/bench/trivial/",
    ) as port:
        one = bench_api.Connection(port=port, token=setup.tokens[0])
        for _ in range(warm_up):
            one.call("POST", chart_url, doses.pop(0))
        single, statuses = [], Counter()
        for _ in range(n):
            status, elapsed = one.call("POST", chart_url, doses.pop(0))
            single.append(elapsed)
            statuses[status] += 1
        listing, list_statuses = [], Counter()
        for _ in range(n):
            status, elapsed = one.call("GET", setup.cart_doses_path)
            listing.append(elapsed)
            list_statuses[status] += 1
        bodies = doses[:concurrent]
        trivial_seconds, trivial, trivial_statuses = bench_api.hammer(
            port=port, tokens=setup.tokens, path=reverse("bench_trivial"), bodies=bodies,
            clients=clients,
        )  # fmt: skip
        chart_seconds, charted, chart_statuses = bench_api.hammer(
            port=port, tokens=setup.tokens, path=chart_url, bodies=bodies, clients=clients
        )
    if statuses[201] != n or chart_statuses[201] != len(bodies) or list_statuses[200] != n:
        raise CommandError(
            f"Requests through gunicorn failed: {statuses}, {chart_statuses}, {list_statuses}."
        )
    single_summary = benchmarking.summary(single)
    if "raw_chart" not in options:  # the pages phase did not run
        cart = MedCart.objects.order_by("name", "id").first()
        options["raw_chart"] = raw_chart_transactions(cart=cart, now=timezone.now(), n=n)
    raw = options["raw_chart"]
    ratio = single_summary["p50"] / raw["p50"]
    rows.append(
        Row(
            "chart a dose: `POST /api/v1/administrations/` through gunicorn, 1 client",
            f"{ms(single_summary)}; {queries['chart']} queries",
            f"the same INSERT + UPDATE through psycopg: {ms(raw)}",
            f"{ratio:.1f}x",
            f"<= 3x: {verdict(ratio <= 3)}; p95 < 100 ms: {verdict(single_summary['p95'] < 100)}",
        )
    )
    listing_summary = benchmarking.summary(listing)
    rows.append(
        Row(
            f"a cart's doses: `GET /api/v1/doses/?cart=` through gunicorn, 1 client "
            f"({setup.cart_doses} doses, first page of 50)",
            f"{ms(listing_summary)}; {queries['doses']} queries",
            "none",
            "",
            f"p95 < 100 ms: {verdict(listing_summary['p95'] < 100)}",
        )
    )
    per_second = chart_statuses[201] / chart_seconds
    trivial_per_second = trivial_statuses[201] / trivial_seconds
    rows.append(
        Row(
            f"charting throughput, {clients} concurrent clients, gunicorn "
            f"{workers} workers x {threads} threads (gthread)",
            f"**{per_second:.0f} doses/s** ({len(bodies)} in {chart_seconds:.1f} s; "
            f"latency {ms(charted)})",
            f"the same clients POSTing to a trivial endpoint: {trivial_per_second:.0f} "
            f"requests/s (latency {ms(trivial)})",
            f"{trivial_per_second / per_second:.1f}x",
            f">= 100 doses/s: {verdict(per_second >= 100)}",
        )
    )
    notes.append(
        f"Through gunicorn: {setup.residents} residents, doses of the last 23 hours charted "
        f"given at their scheduled time (late entries, with a note), token authentication; "
        f"{warm_up} untimed warm-up requests first; ratio of throughput = trivial requests "
        "per second over charted doses per second."
    )


# --- 3. Schedule ---------------------------------------------------------------------------


def phase_schedule(options: dict, rows: list[Row], notes: list[str]) -> None:
    repeat = options["repeat"]
    quote = connection.ops.quote_name
    table = quote(ScheduledDose._meta.db_table)
    columns = ["order_id", "resident_id", "scheduled_at", "window_start", "window_end"]
    # The same job without the ORM or the schedule engine: the fill's rows, precomputed,
    # in one statement that also skips existing doses (COPY is faster still but cannot:
    # the fill must be safe to run twice).
    insert = (
        f"INSERT INTO {table} (public_id, status, {', '.join(columns)}) "  # noqa: S608
        "SELECT gen_random_uuid(), 'pending', * FROM unnest(%s::bigint[], %s::bigint[], "
        "%s::timestamptz[], %s::timestamptz[], %s::timestamptz[]) ON CONFLICT DO NOTHING"
    )
    per_dose = []
    for scale in [int(value) for value in options["scales"].split(",")]:
        empty_tables()
        residents = options["residents"] * scale
        now = timezone.now()
        demo_community_seed(now=now, residents=residents)
        doses_materialize(now=now)
        analyze()

        def truncate() -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table} CASCADE")

        # The rows the untimed fill above wrote are the baseline's; then fills and bare
        # inserts alternate, so a change in the machine's load hits both.
        values = list(ScheduledDose.objects.order_by("id").values_list(*columns))
        arrays = [list(column) for column in zip(*values, strict=True)]
        ours, bare = [], []
        with raw_connection() as raw:
            for _ in range(repeat):
                truncate()
                ours += benchmarking.timed(lambda now=now: doses_materialize(now=now), repeat=1)
                truncate()
                started = time.perf_counter()
                with raw.transaction(), raw.cursor() as cursor:
                    cursor.execute(insert, arrays)
                bare.append((time.perf_counter() - started) * 1000)
        # The table now holds the fill's rows (the last baseline insert): the tick reads them.
        ours_s, bare_s = benchmarking.summary(ours), benchmarking.summary(bare)
        per_dose.append((scale, len(values), ours_s["p50"] / len(values)))
        ratio = ours_s["p50"] / bare_s["p50"]
        rows.append(
            Row(
                f"schedule materialization, {residents} residents x 48 h ({len(values)} doses)",
                ms(ours_s),
                f"the same rows precomputed, one INSERT ... unnest through psycopg: {ms(bare_s)}",
                f"{ratio:.1f}x",
                f"<= 1.3x: {verdict(ratio <= 1.3)}",
            )
        )
        if scale == 1:
            ticks = []
            for minute in range(30):
                at = now + dt.timedelta(minutes=minute)

                def tick(at: dt.datetime = at) -> None:
                    reminders_dose_due(now=at)
                    doses_close_missed(now=at)

                ticks += benchmarking.timed(tick, repeat=1)
            tick_s = benchmarking.summary(ticks)
            rows.append(
                Row(
                    f"reminder tick at {residents} residents (reminders due + missed doses)",
                    ms(tick_s),
                    "none",
                    "",
                    f"p95 < 200 ms: {verdict(tick_s['p95'] < 200)}",
                )
            )
    base_scale, base_doses, base_cost = per_dose[0]
    growth = ", ".join(f"{scale}x: {cost / base_cost:.2f}" for scale, _, cost in per_dose[1:])
    notes.append(
        f"Materialization: {repeat} fills from empty per size (p50, p95 over them), after "
        "one untimed fill (as in a running worker, whose memo of wall-clock conversions "
        "is warm); the baseline writes the rows that fill wrote, precomputed, with the "
        "same one statement from arrays (unnest, existing doses skipped), one transaction; "
        "fills and baseline inserts alternate. "
        f"Time per dose against {base_scale}x ({base_doses} doses): {growth} "
        "(1.00 = linear). The tick: 30 ticks a minute apart from the fill's moment."
    )


# --- 4. Nurse lists and printing -----------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Last month's start until now: what ``fill_month`` charts (it reads ``bounds``)."""

    start: dt.datetime
    end: dt.datetime

    def bounds(self, zone) -> tuple[dt.datetime, dt.datetime]:
        return self.start, self.end


def phase_print(
    options: dict, rows: list[Row], notes: list[str], database_url: str, broker: str, media
) -> None:
    empty_tables()
    now = timezone.now()
    demo_community_seed(now=now, residents=options["residents"])
    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)
    month = Month.containing(now, facility.zone).previous()
    started = time.perf_counter()
    doses = bench_print.fill_month(
        facility=facility, month=Span(month.bounds(facility.zone)[0], now), now=now
    )
    # Without statistics the planner loops the review page's dose part over every
    # resident (2.4 s instead of 0.15 s).
    analyze()
    notes.append(
        f"Nurse lists and printing: {doses} doses charted in bulk from {month.label} to now "
        f"({time.perf_counter() - started:.0f} s to write), then ANALYZE, as autovacuum "
        "would have done by then in a running database."
    )
    # Fewer requests: these lists take up to a second each at this size.
    nurse_requests = min(options["requests"], 30)
    measure_nurse_pages(rows, now=now, n=nurse_requests, residents=options["residents"])
    measure_one_resident(rows, month=month, repeat=5)
    measure_community(
        rows, notes, month=month, database_url=database_url, broker=broker, media=media
    )


def measure_nurse_pages(rows: list[Row], *, now: dt.datetime, n: int, residents: int) -> None:
    """The nurse's lists, as ``NURSE_PAGES`` names them, read by nurse1. A page that does
    not answer 200 is reported in its row rather than stopping the whole run."""
    client = Client()
    client.force_login(User.objects.get(username="nurse1"))
    since = (now - dt.timedelta(days=30)).isoformat()
    for label, url_name, query in NURSE_PAGES:
        figure = f"{label}, {residents} residents x 30 days"
        params = {key: since if value is SINCE_30_DAYS else value for key, value in query.items()}
        try:
            url = reverse(url_name) + ("?" + urlencode(params) if params else "")
            samples = benchmarking.timed(lambda url=url: get_ok(client, url), repeat=n + 1)[1:]
            queries = queries_of(lambda url=url: get_ok(client, url))
        except (CommandError, NoReverseMatch) as error:
            rows.append(Row(figure, f"not measured: {error}", "none", "", ""))
            continue
        summary = benchmarking.summary(samples)
        rows.append(
            Row(
                figure,
                f"{ms(summary)}; {queries} queries",
                "none",
                "",
                f"p95 < 150 ms: {verdict(summary['p95'] < 150)}",
            )
        )


def measure_one_resident(rows: list[Row], *, month: Month, repeat: int) -> None:
    from weasyprint import HTML

    resident, orders = bench_print._median_resident(month)

    def ours() -> bytes:
        mar = monthly_mars(residents=[resident], month=month, now=timezone.now())[0]
        return render.render_monthly_mar(mar, rendered_at=timezone.now())

    mar = monthly_mars(residents=[resident], month=month, now=timezone.now())[0]
    html = render.monthly_mar_html(mar, rendered_at=timezone.now())

    def alone() -> bytes:
        return HTML(
            string=html, base_url=render.BASE_URL, url_fetcher=render.StaticFilesOnlyFetcher()
        ).write_pdf()

    ours_s, alone_s = paired(ours, alone, n=repeat)
    tracemalloc.start()
    pdf = ours()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    ratio = ours_s["p50"] / alone_s["p50"]
    rows.append(
        Row(
            f"monthly MAR, one resident ({orders} orders, {render.page_count(pdf)} pages)",
            f"{ms(ours_s)}; peak {traced:.1f} MB traced",
            f"WeasyPrint alone on the same prebuilt HTML: {ms(alone_s)}",
            f"{ratio:.2f}x",
            f"<= 1.3x: {verdict(ratio <= 1.3)}",
        )
    )


# Evaluated in a baseline process (``eval`` pickles, a function of this module would not:
# it imports models): import the renderer, pause so that each process takes one, and
# answer with the process id.
WARM_RENDERER = (
    "(__import__('printing.render'), __import__('time').sleep(0.3), __import__('os').getpid())[2]"
)


def measure_community(
    rows: list[Row], notes: list[str], *, month: Month, database_url: str, broker: str, media
) -> None:
    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)
    administrator = User.objects.get(username="admin1")
    residents = list(residents_for_month(facility=facility, month=month))
    # The baseline: the same residents' HTML built beforehand, rendered by WeasyPrint alone
    # in as many processes as the Celery pool has: the first half just before our print
    # and the second half just after it, so a change in the machine's load meets both.
    now = timezone.now()
    htmls = []
    for first in range(0, len(residents), 20):
        htmls += [
            render.monthly_mar_html(mar, rendered_at=now)
            for mar in monthly_mars(residents=residents[first : first + 20], month=month, now=now)
        ]
    halves = (htmls[: len(htmls) // 2], htmls[len(htmls) // 2 :])
    # Fresh interpreters (spawn) with Django set up and the renderer imported, as the
    # Celery pool's are when it answers the ping (the worker imports the tasks, so
    # WeasyPrint, before it forks): the clock starts once both are up, and the fonts
    # load on the first page in both (so their peak memory compares too).
    processes = bench_print.WORKER_PROCESSES
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(processes, initializer=benchmarking.django_setup) as pool:
        pool_pids: set[int] = set()
        while len(pool_pids) < processes:  # until both have imported it
            pool_pids = set(pool.map(eval, [WARM_RENDERER] * processes, chunksize=1))
        alone_cpu = bench_print.CpuMeter(list(pool_pids))
        started = time.perf_counter()
        results = pool.map(benchmarking.weasyprint_alone, halves[0], chunksize=1)
        alone = time.perf_counter() - started
        alone_cpu.sample(list(pool_pids))

        with bench_print.celery_workers(
            database_url=database_url, broker=broker, media=media
        ) as workers:
            # Ours in CPU time too: the worker's processes, the request in this process
            # and PostgreSQL's processes for the benchmark database (sampled while waiting,
            # since a worker's connection may close and reopen during the print).
            ours_cpu = bench_print.CpuMeter(bench_print.pool_pids(workers))
            database_cpu = bench_print.CpuMeter(bench_print.database_backend_pids())
            started, request_cpu = time.perf_counter(), time.process_time()
            asked = printing.community_month_request(
                facility=facility, month=month, user=administrator, now=timezone.now()
            )
            request_cpu = time.process_time() - request_cpu

            def sample() -> None:
                ours_cpu.sample(bench_print.pool_pids(workers))
                database_cpu.sample(bench_print.database_backend_pids())

            job = bench_print._wait(asked.job, every=sample)
            cold = time.perf_counter() - started
            sample()
            peaks = bench_print.pool_peak_rss_mb(workers)

        started = time.perf_counter()
        results += pool.map(benchmarking.weasyprint_alone, halves[1], chunksize=1)
        alone += time.perf_counter() - started
        alone_cpu.sample(list(pool_pids))
    cpu = ours_cpu.seconds + request_cpu + database_cpu.seconds
    pages = sum(result[0] for result in results)
    alone_peaks: dict[int, int] = {}
    for _, pid, peak in results:
        alone_peaks[pid] = max(alone_peaks.get(pid, 0), peak)
    ratio, cpu_ratio = cold / alone, cpu / alone_cpu.seconds
    rows.append(
        Row(
            f"monthly MAR, whole community ({len(residents)} residents, {job.page_count} "
            f"pages), cold, {bench_print.WORKER_PROCESSES} Celery worker processes",
            f"{cold:.1f} s ({job.page_count / cold:.2f} pages/s); CPU {cpu:.1f} s (workers "
            f"{ours_cpu.seconds:.1f}, request {request_cpu:.1f}, PostgreSQL "
            f"{database_cpu.seconds:.1f}); worker peak RSS "
            + " / ".join(f"{peak:.0f} MB" for peak in peaks),
            f"WeasyPrint alone, {bench_print.WORKER_PROCESSES} processes, same prebuilt HTML "
            f"({pages} pages): {alone:.1f} s ({pages / alone:.2f} pages/s); CPU "
            f"{alone_cpu.seconds:.1f} s; peak RSS "
            + " / ".join(f"{peak / 1024:.0f} MB" for peak in sorted(alone_peaks.values())),
            f"{ratio:.2f}x (CPU {cpu_ratio:.2f}x)",
            f"< 90 s: {verdict(cold < 90)}; <= 1.3x: {verdict(ratio <= 1.3)} "
            f"(CPU: {verdict(cpu_ratio <= 1.3)})",
        )
    )
    notes.append(
        "Community print: the administrator's request (every resident's month built and "
        "hashed, the job enqueued) until the merged PDF is ready, nothing pre-rendered; "
        "the baseline leaves out the queries, the template, storage and the merge, and "
        "renders half the residents just before our print and half just after it, in 2 "
        "fresh processes with Django set up and WeasyPrint imported, as the Celery pool's "
        "are. Both sides render the same 120 documents from the same data in "
        "2 processes, one resident at a time. Wall time moves with the other work on a "
        "shared machine (the two sides do not run at the same moment), so CPU time is "
        "shown too: ours counts the worker's processes, the request and PostgreSQL's "
        "processes for the benchmark database; the baseline its 2 processes."
    )


# --- The report ----------------------------------------------------------------------------


def render_table(*, facts: list[str], rows: list[Row], notes: list[str]) -> str:
    lines = [*(f"- {fact}" for fact in facts), ""]
    lines += [
        "| figure | ours | baseline measured in the same run | ratio | goal |",
        "| --- | --- | --- | ---: | --- |",
    ]
    lines += [
        f"| {row.figure} | {row.ours} | {row.baseline} | {row.ratio} | {row.goal} |" for row in rows
    ]
    lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def write_between_markers(path: Path, report: str) -> None:
    text = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{report}{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    path.write_text(text)
