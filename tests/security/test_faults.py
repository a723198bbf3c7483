"""Faults, against real servers: Redis stopped under a working app, and the Celery
settings that make a lost worker or a late message harmless.

Each test runs on a Redis of its own (``ThrowawayRedis``) that it stops; the shared
development servers are never touched.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from mar.models import Administration, PrintJob
from medtech.celery import app
from printing import services as printing
from staff.services import PinIncorrect, user_set_pin, user_signature_verify
from tests.factories import DEMO_PASSWORD, api_token
from tests.security.conftest import AT, MONTH, World, stocked_order

pytestmark = pytest.mark.xdist_group("faults")

DELAYED = re.compile(r"\b(countdown|eta)\s*=")  # apply_async(countdown=...), (eta=...)


class Calls:
    """A client that keeps every status code it got, to count the server errors."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.statuses: list[tuple[str, int]] = []

    def __call__(self, method: str, url: str, **kwargs):
        response = getattr(self.client, method)(url, **kwargs)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        self.statuses.append((f"{method.upper()} {url}", response.status_code))
        return response

    @property
    def server_errors(self) -> list[tuple[str, int]]:
        return [(call, status) for call, status in self.statuses if status >= 500]


def test_with_redis_stopped_pages_charting_sessions_and_the_api_go_on(
    world: World, on_throwaway_redis, django_capture_on_commit_callbacks, caplog
):
    healthy = Client().get("/healthz")
    cache.set("proof", "cached")
    assert (healthy.status_code, cache.get("proof")) == (200, "cached")
    tech, nurse = world.users["med_tech"], world.users["nurse"]
    user_set_pin(user=tech, pin="482613", password=DEMO_PASSWORD)
    token = api_token(tech)
    second_dose = stocked_order(world.resident, world.cart).doses.order_by("scheduled_at").first()
    printing.community_month_fail(job_id=world.job.pk, error="paper jam", now=AT)

    on_throwaway_redis.stop()

    health = Client().get("/healthz")
    browser = Calls(Client())
    signed_in = browser(
        "post", reverse("login"), data={"username": tech.username, "password": DEMO_PASSWORD}
    )
    for page in [
        reverse("home"),
        reverse("mar:pass_cart", args=[world.cart.public_id]),
        reverse("mar:pass_resident", args=[world.resident.public_id]),
        reverse("mar:dose_chart", args=[world.dose.public_id]),
        reverse("mar:notifications"),
        reverse("mar:notification_bell"),
        reverse("inventory:index"),
        reverse("inventory:cart_stock", args=[world.cart.public_id]),
        reverse("printing:print_home"),
    ]:
        browser("get", page)
    with django_capture_on_commit_callbacks(execute=True):
        charted = browser(
            "post",
            reverse("mar:dose_chart", args=[world.dose.public_id]),
            data={"idempotency_key": "redis-down-page-1", "status": "given", "given_at": "07:30"},
        )
    browser("post", reverse("staff:lock"))
    unlocked = browser(
        "post", reverse("staff:unlock"), data={"user": str(tech.public_id), "pin": "482613"}
    )
    api = Calls(Client(HTTP_AUTHORIZATION=f"Token {token}"))
    with django_capture_on_commit_callbacks(execute=True):
        by_api = api(
            "post",
            "/api/v1/administrations/",
            data=json.dumps(
                {
                    "scheduled_dose": str(second_dose.public_id),
                    "status": "given",
                    "administered_at": AT.isoformat(),
                }
            ),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="redis-down-api-1",
        )
    api("get", "/api/v1/doses/")
    api("get", f"/fhir/r4/Patient/{world.resident.public_id}")
    nurse_browser = Calls(Client())
    nurse_browser.client.force_login(nurse)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        printed = nurse_browser(
            "post",
            reverse("printing:community_month_print", args=[world.facility.public_id, MONTH.key]),
        )
    print_seconds = time.monotonic() - started
    nurse_browser("get", reverse("nurse:concerns"))
    # A witness's wrong password is counted in the cache: with Redis down, still a clear no.
    with pytest.raises(PinIncorrect):
        user_signature_verify(user=nurse, secret="not-her-password", now=AT)
    nurse_browser("get", reverse("printing:print_job", args=[world.job.public_id]))

    assert (health.status_code, health.json()) == (
        503,
        {"status": "unavailable", "database": "ok", "redis": "unreachable"},
    )
    assert browser.server_errors + api.server_errors + nurse_browser.server_errors == []
    assert signed_in.status_code == 302
    assert all(status == 200 for call, status in browser.statuses if call.startswith("GET"))
    assert charted.status_code == 302
    assert unlocked.status_code == 302
    assert by_api.status_code == 201
    assert Administration.objects.filter(scheduled_dose__in=[world.dose, second_dose]).count() == 2
    # The print asked while the broker was down is kept, queued, and answered at once.
    assert printed.status_code == 302
    assert PrintJob.objects.filter(
        kind=PrintJob.Kind.COMMUNITY_MONTH, status=PrintJob.Status.QUEUED
    ).exists()
    assert print_seconds < 10
    # The paths that need Redis were taken, and degraded instead of failing.
    assert "could not enqueue printing.render_community_month" in caplog.text
    assert "cache unavailable" in caplog.text


def test_with_redis_back_the_health_check_says_so(on_throwaway_redis, db):
    on_throwaway_redis.stop()
    down = Client().get("/healthz")

    on_throwaway_redis.start()
    up = Client().get("/healthz")

    assert (down.status_code, up.status_code) == (503, 200)
    assert up.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_celery_redelivers_the_work_of_a_worker_that_died():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_no_task_is_scheduled_further_ahead_than_the_visibility_timeout():
    visibility = dt.timedelta(seconds=app.conf.broker_transport_options["visibility_timeout"])
    schedule = settings.CELERY_BEAT_SCHEDULE
    code = _project_source()

    # Beat sends each job when it is due, never ahead of time with an eta or a countdown.
    for name, entry in schedule.items():
        assert not {"eta", "countdown"} & set(entry.get("options", {})), name
    # No code asks for a delayed delivery (countdown/eta), which Redis would deliver twice
    # if it were longer than the visibility timeout.
    assert [path for path, text in code if DELAYED.search(text)] == []
    assert visibility >= dt.timedelta(minutes=30)  # longer than any task runs


def _project_source() -> list[tuple[str, str]]:
    base = settings.BASE_DIR
    return [
        (str(path.relative_to(base)), path.read_text())
        for app_dir in ("mar", "inventory", "staff", "residents", "medtech")
        for path in sorted((base / app_dir).rglob("*.py"))
        if "migrations" not in path.parts
    ]
