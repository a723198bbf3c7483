"""Shared pieces of the benchmark commands: a fresh database and percentiles.

Benchmarks never run against the development data: ``fresh_database()`` creates an
empty, migrated database beside it (``bench_<pid>_<name>`` on the same server, or on the
server named by DATABASE_URL), points Django at it, and drops it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db import connection


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})
    # One database per process, so two benchmark commands never drop each other's data.
    settings_dict["TEST"]["NAME"] = f"bench_{os.getpid()}_{settings_dict['NAME']}"
    old_name = settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def timed(function: Callable[[], object], *, repeat: int) -> list[float]:
    """Wall-clock milliseconds of each of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(fraction * 100) - 1]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "max": max(samples),
    }


# --- For worker processes of the benchmark (``multiprocessing`` spawn): this module
# imports no models, so a fresh interpreter can load it before Django is set up.


def django_setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtech.settings")
    django.setup()


def weasyprint_alone(html: str) -> tuple[int, int, int]:
    """WeasyPrint alone on prebuilt HTML, as the MAR's renderer calls it (same base URL,
    same fetcher): (pages, pid, peak resident memory of this process in kB)."""
    from weasyprint import HTML

    from printing import render

    document = HTML(
        string=html, base_url=render.BASE_URL, url_fetcher=render.StaticFilesOnlyFetcher()
    ).render()
    document.write_pdf()
    peak = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    return len(document.pages), os.getpid(), peak
