"""Benchmark the schedule engine's materialization and one reminder tick.

    python manage.py bench_schedule [--repeat 5] [--ticks 30]

Builds the demo community at 120, 240 and 480 residents in a fresh benchmark
database, then times (a) filling the 48-hour horizon from empty and (b) one
reminder tick (dose-due reminders plus missed-dose detection) with both carts
staffed (tech1 and tech2 are on duty in the demo). Prints a table; times are milliseconds.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from bench import benchmarking
from demo.community import demo_community_seed
from mar.models import Notification, Order, ScheduledDose
from mar.services.doses import doses_close_missed, doses_materialize
from mar.services.reminders import reminders_dose_due

SIZES = (120, 240, 480)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--ticks", type=int, default=30)

    def handle(self, *args, repeat: int, ticks: int, **options) -> None:
        rows = []
        with benchmarking.fresh_database():
            for residents in SIZES:
                rows.append(self._measure(residents=residents, repeat=repeat, ticks=ticks))
                self._empty()
        self.stdout.write(render_table(rows))

    def _measure(self, *, residents: int, repeat: int, ticks: int) -> dict:
        now = timezone.now()
        demo_community_seed(now=now, residents=residents)  # both carts staffed
        scheduled_orders = (
            Order.objects.filter(status=Order.Status.ACTIVE)
            .exclude(frequency=Order.Frequency.PRN)
            .count()
        )

        fill = []
        for _ in range(repeat):
            ScheduledDose.objects.all().delete()
            fill += benchmarking.timed(lambda: doses_materialize(now=now), repeat=1)
        doses = ScheduledDose.objects.count()
        refill = benchmarking.timed(lambda: doses_materialize(now=now), repeat=repeat)

        def tick(at: dt.datetime) -> None:
            reminders_dose_due(now=at)
            doses_close_missed(now=at)

        moments = [now + dt.timedelta(minutes=minute) for minute in range(ticks)]
        tick_samples = [benchmarking.timed(lambda at=at: tick(at), repeat=1)[0] for at in moments]
        return {
            "residents": residents,
            "orders": scheduled_orders,
            "doses": doses,
            "fill": benchmarking.summary(fill),
            "refill": benchmarking.summary(refill),
            "tick": benchmarking.summary(tick_samples),
            "notifications": Notification.objects.count(),
        }

    def _empty(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') "
                "FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_migrations'"
            )
            tables = cursor.fetchone()[0]
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def render_table(rows: list[dict]) -> str:
    header = (
        "| residents | scheduled orders | doses (48 h) | fill from empty p50 / p95 ms "
        "| refill (nothing new) p50 ms | reminder tick p50 / p95 ms |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    lines = [
        f"| {row['residents']} | {row['orders']} | {row['doses']} "
        f"| {row['fill']['p50']:.0f} / {row['fill']['p95']:.0f} "
        f"| {row['refill']['p50']:.0f} "
        f"| {row['tick']['p50']:.1f} / {row['tick']['p95']:.1f} |"
        for row in rows
    ]
    return header + "\n".join(lines) + "\n"
