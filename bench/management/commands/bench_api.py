"""Benchmark the REST API through gunicorn: charting a dose, a cart's doses, and how many
doses 20 clients chart a second.

    python manage.py bench_api [--residents 120] [--requests 200] [--clients 20]
                               [--concurrent-doses 500] [--workers 5] [--threads 1]

In a fresh benchmark database (``bench.benchmarking.fresh_database``) it builds the
demo community at ``--residents`` residents and materializes the doses of the last 23
hours and the next 7 (so there are past doses to chart whatever the time of day: each is
charted given at its scheduled time, with a note, as a late entry would be). Then it
starts gunicorn as a subprocess on a free localhost port, pointed at that database
through ``DATABASE_URL``, and talks to it over HTTP with ``http.client`` as tech1 and
tech2 (token authentication):

(a) ``POST /api/v1/administrations/``, one client, ``--requests`` times: each charts the
    next dose given, with the vitals its order requires (normal readings) and a new
    ``Idempotency-Key``: a record, the dose's status and a stock movement each time;
(b) ``GET /api/v1/doses/?cart=<Cart A>``, one client, ``--requests`` times (the first page
    of 50, with its count);
(c) ``--clients`` threads, each with its own connection, chart ``--concurrent-doses``
    more doses between them as fast as they can: charted doses a second over the wall
    time, and the latency each request saw.

For scale, the charting service itself (``administration_record``) is also timed alone,
in this process, on 50 other doses: the floor under (a).

Untimed warm-up requests (four per gunicorn thread) precede (a) and (b); gunicorn runs
with ``--preload``, so its workers fork with the application already imported. The SQL
query count of each request is taken in this process with Django's test client. Prints
the machine's facts and a table; times are milliseconds. Only localhost is contacted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import runpy
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Exists, F, OuterRef
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import benchmarking
from demo.community import DEMO_FACILITY_NAME, demo_community_seed
from inventory.models import MedCart, StockItem
from mar.models import Order, ScheduledDose
from mar.services import administrations as charting
from mar.services.doses import doses_materialize
from residents.models import Resident
from staff.models import User
from staff.tokens import api_token_issue

NORMAL_VITALS = {
    "systolic": 128,
    "diastolic": 78,
    "pulse": 72,
    "temperature": 98.2,
    "respirations": 16,
    "spo2": 97,
    "blood_glucose": 132,
    "pain": 2,
    "weight": 152,
}
HISTORY = dt.timedelta(hours=23)
AHEAD = dt.timedelta(hours=7)
CHART_URL = "/api/v1/administrations/"
SERVICE_ALONE = 50


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--residents", type=int, default=120)
        parser.add_argument("--requests", type=int, default=200)
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument("--concurrent-doses", type=int, default=500)
        parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
        parser.add_argument("--threads", type=int, default=1)

    def handle(self, *args, **options) -> None:
        with benchmarking.fresh_database() as name:
            self.stderr.write(f"Seeding {options['residents']} residents...")
            setup = seed(residents=options["residents"])
            warm_up = 4 * options["workers"] * options["threads"]
            needed = options["requests"] + options["concurrent_doses"] + SERVICE_ALONE + warm_up + 1
            if len(setup.doses) < needed:
                raise SystemExit(
                    f"Only {len(setup.doses)} chartable doses; lower --requests or "
                    "--concurrent-doses, or raise --residents."
                )
            queries = count_queries(setup)
            floor = service_alone(setup, repeat=SERVICE_ALONE)
            with gunicorn(
                database_url=database_url(name),
                workers=options["workers"],
                threads=options["threads"],
            ) as port:
                self.stderr.write("Measuring...")
                result = measure(
                    port=port,
                    setup=setup,
                    requests=options["requests"],
                    clients=options["clients"],
                    concurrent_doses=options["concurrent_doses"],
                    warm_up=warm_up,
                )
        self.stdout.write(
            render(result=result, floor=floor, queries=queries, options=options, setup=setup)
        )


# --- The community -------------------------------------------------------------------------


@dataclass
class Setup:
    tokens: list[str]
    cart_id: str
    doses: list[dict]  # request bodies, one per chartable dose, oldest first
    residents: int
    cart_doses: int

    @property
    def cart_doses_path(self) -> str:
        """The cart's dose list through the API, as a tablet asks for it."""
        return f"/api/v1/doses/?cart={self.cart_id}"


def seed(*, residents: int) -> Setup:
    now = timezone.now()
    demo_community_seed(now=now, residents=residents)
    doses_materialize(now=now - HISTORY, horizon=HISTORY + AHEAD)
    facility_zone = Resident.objects.select_related("facility").first().facility.zone
    today = now.astimezone(facility_zone).date()
    usable_stock = StockItem.objects.filter(
        resident=OuterRef("resident"),
        medication=OuterRef("order__medication"),
        expires_on__gte=today,
        quantity_on_hand__gte=F("order__dose_amount") * 3,
    )
    chartable = (
        ScheduledDose.objects.filter(
            status=ScheduledDose.Status.PENDING,
            scheduled_at__gte=now - HISTORY + dt.timedelta(minutes=30),
            scheduled_at__lte=now,
            resident__status=Resident.Status.ACTIVE,
            order__status=Order.Status.ACTIVE,
        )
        .filter(Exists(usable_stock))
        .order_by("scheduled_at", "id")
        .values_list("public_id", "scheduled_at", "order__required_vitals")
    )
    bodies = [
        {
            "scheduled_dose": str(public_id),
            "status": "given",
            "administered_at": scheduled_at.isoformat(),
            "note": "Benchmark: charted through the API after the pass.",
            "vitals": {name: NORMAL_VITALS[name] for name in required},
        }
        for public_id, scheduled_at, required in chartable
    ]
    techs = User.objects.filter(username__in=["tech1", "tech2"]).order_by("username")
    cart = MedCart.objects.filter(facility__name=DEMO_FACILITY_NAME).order_by("name", "id")[0]
    return Setup(
        tokens=[api_token_issue(user=tech, now=timezone.now())[1] for tech in techs],
        cart_id=str(cart.public_id),
        doses=bodies,
        residents=Resident.objects.count(),
        cart_doses=ScheduledDose.objects.filter(resident__room__cart=cart).count(),
    )


def service_alone(setup: Setup, *, repeat: int) -> dict:
    """The floor under the POST: ``administration_record`` called in this process, on the
    newest doses (which the HTTP runs then leave alone)."""
    tech = User.objects.filter(username__in=["tech1", "tech2"]).order_by("username")[0]
    samples = []
    for _ in range(repeat):
        body = setup.doses.pop()
        dose = ScheduledDose.objects.get(public_id=body["scheduled_dose"])
        now = timezone.now()
        started = time.perf_counter()
        charting.administration_record(
            user=tech,
            idempotency_key=str(uuid.uuid4()),
            now=now,
            entry=charting.ChartEntry(
                status="given",
                administered_at=dt.datetime.fromisoformat(body["administered_at"]),
                scheduled_dose=dose,
                note=body["note"],
                vitals=body["vitals"],
            ),
        )
        samples.append((time.perf_counter() - started) * 1000)
    return benchmarking.summary(samples)


def count_queries(setup: Setup) -> dict[str, int]:
    """SQL queries of one chart and one cart list, through Django's test client here."""
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {setup.tokens[0]}")
    body = setup.doses.pop()  # the newest dose: charted here, not in the runs
    with CaptureQueriesContext(connection) as chart:
        response = client.post(
            CHART_URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="count"
        )
    assert response.status_code == 201, response.content  # noqa: S101 - a broken setup
    with CaptureQueriesContext(connection) as listing:
        client.get("/api/v1/doses/", {"cart": setup.cart_id})
    return {"chart": len(chart), "doses": len(listing)}


# --- gunicorn ------------------------------------------------------------------------------


def database_url(name: str) -> str:
    """The development database's URL, naming the benchmark database instead."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        from medtech import devservices

        base = devservices.postgres_url()
    return urlsplit(base)._replace(path=f"/{name}").geturl()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


GUNICORN_CONFIG = Path(settings.BASE_DIR) / "gunicorn.conf.py"


def gunicorn_production_size() -> tuple[int, int]:
    """Workers and threads per worker of the production web service (gunicorn.conf.py)."""
    config = runpy.run_path(str(GUNICORN_CONFIG))
    return config["workers"], config["threads"]


@contextlib.contextmanager
def gunicorn(
    *,
    database_url: str,
    workers: int | None = None,
    threads: int | None = None,
    app: str = "medtech.wsgi:application",
    probe: str = "/healthz",
) -> Iterator[int]:
    """gunicorn serving ``app`` with production's settings (gunicorn.conf.py: worker
    class, workers, threads, keep-alive...), on a free localhost port; ``workers`` and
    ``threads`` override the file's. Ready once ``probe`` answers 2xx to a GET."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "ERROR", "DEBUG": "0"}
    command = [
        sys.executable, "-m", "gunicorn", app, "--config", str(GUNICORN_CONFIG),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--preload",
    ]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", probe)
                if 200 <= connection.getresponse().status < 300:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start; run it by hand to see why")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# --- Measuring -----------------------------------------------------------------------------


@dataclass
class Connection:
    """One keep-alive connection to gunicorn (reopened when the server closes it)."""

    port: int
    token: str
    connection: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, float]:
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers |= {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        try:
            self.connection.request(method, path, payload, headers)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the server closed a kept-alive connection: once more
            self.connection.request(method, path, payload, headers)
            response = self.connection.getresponse()
            response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, elapsed


@dataclass
class Result:
    chart: dict
    chart_statuses: Counter
    doses: dict
    concurrent: dict
    concurrent_statuses: Counter
    seconds: float
    per_second: float
    load_before: float
    load_after: float


def hammer(*, port: int, tokens: list[str], path: str, bodies: list[dict], clients: int):
    """``clients`` threads, one keep-alive connection each, POST the bodies between them
    as fast as they can. Returns (seconds, latency summary, status counts)."""
    queue = list(bodies)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    samples: list[float] = []
    statuses: Counter = Counter()

    def work(index: int) -> None:
        client = Connection(port=port, token=tokens[index % len(tokens)])
        barrier.wait()
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop(0)
            status, elapsed = client.call("POST", path, body)
            with lock:
                samples.append(elapsed)
                statuses[status] += 1

    threads = [threading.Thread(target=work, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, benchmarking.summary(samples), statuses


def measure(
    *, port: int, setup: Setup, requests: int, clients: int, concurrent_doses: int, warm_up: int
) -> Result:
    load_before = os.getloadavg()[0]
    doses = list(setup.doses)
    one = Connection(port=port, token=setup.tokens[0])

    for _ in range(warm_up):  # every worker has answered before the clock starts
        one.call("POST", CHART_URL, doses.pop(0))
    chart_samples, chart_statuses = [], Counter()
    for _ in range(requests):
        status, elapsed = one.call("POST", CHART_URL, doses.pop(0))
        chart_samples.append(elapsed)
        chart_statuses[status] += 1

    cart_path = setup.cart_doses_path
    for _ in range(warm_up):
        one.call("GET", cart_path)
    list_samples = [one.call("GET", cart_path)[1] for _ in range(requests)]

    seconds, concurrent, statuses = hammer(
        port=port,
        tokens=setup.tokens,
        path=CHART_URL,
        bodies=doses[:concurrent_doses],
        clients=clients,
    )
    return Result(
        chart=benchmarking.summary(chart_samples),
        chart_statuses=chart_statuses,
        doses=benchmarking.summary(list_samples),
        concurrent=concurrent,
        concurrent_statuses=statuses,
        seconds=seconds,
        per_second=statuses[201] / seconds,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def render(*, result: Result, floor: dict, queries: dict, options: dict, setup: Setup) -> str:
    def row(label: str, summary: dict, extra: str) -> str:
        return (
            f"| {label} | {summary['n']} | {summary['p50']:.1f} | {summary['p95']:.1f} "
            f"| {summary['max']:.1f} | {extra} |"
        )

    def codes(counter: Counter) -> str:
        return ", ".join(f"{count}x {status}" for status, count in sorted(counter.items()))

    facts = (
        f"{setup.residents} residents, {setup.cart_doses} doses on Cart A; gunicorn "
        f"{options['workers']} workers x {options['threads']} threads on 127.0.0.1; "
        f"{os.cpu_count()} CPUs; load average {result.load_before:.1f} before, "
        f"{result.load_after:.1f} after; Python {sys.version.split()[0]}."
    )
    return "\n".join(
        [
            facts,
            "",
            "| request | n | p50 ms | p95 ms | max ms | notes |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
            row(
                "POST /api/v1/administrations/ (1 client)",
                result.chart,
                f"{queries['chart']} SQL queries; {codes(result.chart_statuses)}",
            ),
            row(
                "(the charting service alone, in process)",
                floor,
                "`administration_record`: what the POST costs before HTTP, auth and JSON",
            ),
            row(
                "GET /api/v1/doses/?cart= (1 client, page of 50)",
                result.doses,
                f"{queries['doses']} SQL queries",
            ),
            row(
                f"POST /api/v1/administrations/ ({options['clients']} clients)",
                result.concurrent,
                f"**{result.per_second:.0f} charted doses/s** "
                f"({result.concurrent_statuses[201]} in {result.seconds:.1f} s; "
                f"{codes(result.concurrent_statuses)})",
            ),
            "",
        ]
    )
