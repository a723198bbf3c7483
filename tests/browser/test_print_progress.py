"""The whole-community print's progress page in Chromium: htmx polls it until the
merged PDF is ready, without reloading the page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, expect

from printing import services as printing
from staff.models import User
from tests.browser.conftest import new_context, screenshot
from tests.factories import DEMO_PASSWORD, FacilityFactory, UserFactory
from tests.printing.test_pdf import MONTH, build_charted_month, local

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]


@pytest.fixture
def no_dispatch(monkeypatch) -> list[int]:
    """The test plays the workers itself: nothing goes to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(printing, "_enqueue_community", sent.append)
    monkeypatch.setattr(printing, "_enqueue_merge", sent.append)
    return sent


def test_the_progress_page_shows_the_pdf_when_the_print_is_done(
    browser: Browser, live_server, settings, tmp_path, no_dispatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    facility = FacilityFactory(name="Cedar Court")
    build_charted_month(facility=facility)
    administrator = UserFactory(
        username="linda.park",
        first_name="Linda",
        last_name="Park",
        role=User.Role.ADMINISTRATOR,
        facility=facility,
    )
    job = printing.community_month_request(
        facility=facility, month=MONTH, user=administrator, now=local(20, 12)
    ).job
    context = new_context(browser, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(administrator.username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + reverse("printing:print_job", args=[job.public_id]))
    expect(page.get_by_text("Waiting for a print worker")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    screenshot(page, "print-progress-waiting")

    for part_id in printing.community_month_start(job_id=job.pk, now=local(20, 12)):
        printing.community_part_render(part_id=part_id, now=local(20, 12))
    printing.community_month_merge(job_id=job.pk, now=local(20, 12))

    expect(page.get_by_role("link", name="Open the PDF")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Ready: 2 pages")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "print-progress-ready")
    context.close()
