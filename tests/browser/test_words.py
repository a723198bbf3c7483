"""Words and small things a nurse notices over a shift, in Debian's Chromium at 1024x768: the
med pass card's dose and route in words, an htmx swap that logs no CSP error, the favicon,
and the review page that a long word in a concern does not stretch."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from inventory.models import CartAssignment
from mar.services import concerns
from residents.models import ConcernReport
from staff.models import User
from tests import clock
from tests.browser import test_csp
from tests.browser.conftest import screenshot
from tests.browser.test_medpass import Floor
from tests.browser.test_tablet_lock import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

# The page that collects CSP violations and console errors, watched as the CSP test does.
watched_page = test_csp.watched_page


@pytest.fixture
def floor(db) -> Floor:
    return Floor()


def test_an_htmx_swap_on_the_med_pass_logs_no_console_error(live_server, watched_page, floor):
    page, console = watched_page
    base = live_server.url
    CartAssignment.objects.create(cart=floor.cart, user=floor.rosa, started_at=clock.now())
    sign_in(page, base, floor.rosa)
    page.goto(base + reverse("mar:pass_resident", args=[floor.resident.public_id]))

    card = page.locator("article.dose-card", has_text="metoprolol")
    expect(card).to_contain_text("1 tablet by mouth")
    screenshot(page, "words-med-pass")
    card.get_by_role("link", name="Given", exact=True).tap()  # htmx swaps the panel in
    expect(page.locator(".chart-panel")).to_contain_text("by mouth")
    page.get_by_role("button", name="Confirm given").tap()  # and the pass back
    expect(page.locator(".flash")).to_contain_text("Given: metoprolol tartrate")
    page.wait_for_timeout(300)
    screenshot(page, "words-med-pass-charted")

    assert page.evaluate("window.__cspViolations") == []
    assert console == []


def test_the_favicon_is_served_and_linked(live_server, watched_page, floor):
    page, console = watched_page
    base = live_server.url

    icon = page.request.get(base + "/favicon.ico")
    page.goto(base + reverse("login"))

    assert icon.status == 200
    assert icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert page.locator('link[rel="icon"]').count() == 1
    assert console == []


def test_one_long_word_in_a_concern_does_not_stretch_the_review_page(
    live_server, watched_page, floor
):
    page, console = watched_page
    concerns.concern_report(
        resident=floor.resident,
        user=floor.rosa,
        kind=ConcernReport.Kind.CHANGE_OF_CONDITION,
        description="Rash after lunch, photo at " + "https://example.test/" + "a" * 300,
        observed_at=clock.now(),
        now=clock.now(),
    )
    sign_in(page, live_server.url, floor.nurse)

    page.goto(live_server.url + reverse("nurse:review"))
    expect(page.locator("[data-testid=exception-row]").first).to_be_visible()
    screenshot(page, "words-review-long-word")
    page.goto(live_server.url + reverse("nurse:reports"))
    screenshot(page, "words-reports")

    page.goto(live_server.url + reverse("nurse:review"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    assert console == []


def test_the_record_and_the_audit_trail_read_in_words(live_server, watched_page, floor):
    page, console = watched_page
    admin = UserFactory(username="ada.admin", role=User.Role.ADMINISTRATOR, facility=floor.facility)
    sign_in(page, live_server.url, floor.nurse)
    page.goto(live_server.url + reverse("nurse:resident_record", args=[floor.resident.public_id]))
    expect(page.locator("body")).to_contain_text("by mouth")
    screenshot(page, "words-record")

    page.context.clear_cookies()
    sign_in(page, live_server.url, admin)
    page.goto(live_server.url + reverse("audit_search"))
    expect(page.locator(".audit-row").first).to_be_visible()
    screenshot(page, "words-audit")

    text = page.locator("tbody").inner_text()
    assert "Read the record of Whitfield, Mary" in text
    assert "auth.signed_in" not in text and "nurse:resident_record" not in text
    assert console == []
