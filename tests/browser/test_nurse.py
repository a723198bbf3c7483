"""The supervising nurse in Debian's Chromium, on a desktop (1280x800) and the tablet
(1024x768): enter an order with its 7-day preview, the allergy override, self-verification
refused and a second nurse's check; reviewing a missed dose; an amendment with its
history; the on-time chart. Screenshots go to test-artifacts/screenshots (and, when
NURSE_SHOTS_DIR is set, there too)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from mar.models import Amendment, ExceptionReview, Order
from residents.models import Allergy
from tests import clock
from tests.browser.conftest import (
    horizontal_overflow,
    new_context,
    screenshot,
    small_touch_targets,
)
from tests.browser.test_tablet_lock import sign_in
from tests.factories import MedicationFactory
from tests.nurse.conftest import Ward

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 1024, "height": 768}


def new_page(browser: Browser, viewport: dict) -> Page:
    context = new_context(
        browser,
        viewport=viewport,
        device_scale_factor=1,
        has_touch=True,
        timezone_id="America/Chicago",
    )
    return context.new_page()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    page = new_page(browser, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def tablet(browser: Browser) -> Iterator[Page]:
    page = new_page(browser, TABLET)
    yield page
    page.context.close()


def shot(page: Page, name: str) -> None:
    path = screenshot(page, f"nurse-{name}")
    if target := os.environ.get("NURSE_SHOTS_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        Path(target, path.name).write_bytes(path.read_bytes())


@pytest.fixture
def ward(db) -> Ward:
    ward = Ward(residents=2)
    ward.history(days=3, now=clock.now())
    return ward


def fill_new_order(page: Page, *, medication: str, dose: str, times: str) -> None:
    """Fill the new order form's medication, dose (in tablets) and times, as a nurse would."""
    page.get_by_label("Medication from the catalog").select_option(label=medication)
    page.get_by_label("Dose", exact=True).fill(dose)
    page.get_by_label("Unit (tablet, mL, units...)").fill("tablet")
    page.get_by_label("Times (08:00, 20:00 or pass names AM, HS)").fill(times)
    page.get_by_label("Times (08:00, 20:00 or pass names AM, HS)").press("Tab")


def test_a_nurse_enters_an_order_and_a_second_nurse_verifies_it(
    browser, desktop, live_server, ward
):
    resident = ward.residents[0]
    resident.has_no_known_allergies = False
    resident.save()
    Allergy.objects.create(resident=resident, allergen="Penicillin", reaction="Hives")
    MedicationFactory(generic_name="penicillin V potassium", strength="250 mg")
    page = desktop
    sign_in(page, live_server.url, ward.nurse)

    page.goto(live_server.url + reverse("nurse:resident_record", args=[resident.public_id]))
    shot(page, "record")
    page.get_by_role("link", name="New order").click()
    fill_new_order(page, medication="penicillin V potassium 250 mg", dose="1", times="08:00, 20:00")
    preview = page.get_by_test_id("schedule-preview")
    expect(preview.locator("tr")).to_have_count(7)
    expect(preview).to_contain_text("08:00")
    expect(page.get_by_test_id("allergy-flag")).to_contain_text("Penicillin")
    shot(page, "order-new")

    # Submit buttons are pressed with the keyboard: a click's coordinates can miss when
    # the page shifts under them (the preview's swap, the offline bar).
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("order-submit").press("Enter")
    expect(page.get_by_test_id("order-error")).to_contain_text("allergy to Penicillin")
    assert not Order.objects.filter(medication__generic_name="penicillin V potassium").exists()
    page.get_by_label("I override the allergy warning, for the reason below").check()
    page.get_by_label("In your words (a sentence; required for Other)").fill(
        "Tolerated in hospital; Dr. Ortiz confirmed"
    )
    page.get_by_test_id("order-submit").press("Enter")

    expect(page.get_by_test_id("order-status")).to_have_text("Pending verification")
    expect(page.get_by_test_id("allergy-flag")).to_contain_text("Tolerated in hospital")
    expect(page.get_by_test_id("self-verify-note")).to_be_visible()
    page.get_by_label("I checked this order against the prescription").check()
    page.get_by_label("I reviewed the allergy warning and the override reason").check()
    page.get_by_test_id("verify").press("Enter")
    expect(page.get_by_test_id("order-error")).to_contain_text("a second nurse must verify")
    order = Order.objects.get(medication__generic_name="penicillin V potassium")
    assert order.status == Order.Status.PENDING_VERIFICATION
    shot(page, "order-self-verify")

    second = new_page(browser, DESKTOP)
    sign_in(second, live_server.url, ward.second_nurse)
    second.goto(live_server.url + reverse("nurse:orders_pending"))
    second.get_by_role("link", name="Review and verify").click()
    second.get_by_label("I checked this order against the prescription").check()
    second.get_by_test_id("verify").press("Enter")
    expect(second.get_by_test_id("allergy-flag")).to_be_visible()
    expect(second.get_by_test_id("order-error")).to_contain_text("allergy")
    second.get_by_label("I checked this order against the prescription").check()
    second.get_by_label("I reviewed the allergy warning and the override reason").check()
    second.get_by_test_id("verify").press("Enter")
    expect(second.get_by_test_id("order-status")).to_have_text("Active")
    shot(second, "order-verified")
    second.context.close()
    order.refresh_from_db()
    assert order.verified_by == ward.second_nurse
    assert order.doses.exists()


def test_a_nurse_reviews_a_missed_dose_and_amends_a_record(tablet, live_server, ward):
    page = tablet
    sign_in(page, live_server.url, ward.nurse)

    page.goto(live_server.url + reverse("nurse:review"))
    shot(page, "review")
    assert horizontal_overflow(page) <= 0
    # A note typed before filtering survives the filter's swap of the list.
    page.get_by_label("Follow-up note").fill("Resident asleep; offered at breakfast")
    page.get_by_label("Kind").select_option("missed")
    expect(page.locator('#exception-list[data-kind="missed"]')).to_be_attached()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Follow-up note")).to_have_value(
        "Resident asleep; offered at breakfast"
    )
    rows = page.get_by_test_id("exception-row")
    expect(rows.first).to_contain_text("Missed")
    count_before = rows.count()
    rows.first.get_by_test_id("acknowledge-one").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Acknowledged 1.")
    expect(page.get_by_test_id("exception-row")).to_have_count(count_before - 1)
    review = ExceptionReview.objects.get()
    assert review.kind == "missed"
    assert review.reviewed_by == ward.nurse

    page.goto(live_server.url + reverse("nurse:review") + "?kind=refused")
    page.get_by_test_id("exception-row").first.get_by_role("link", name="record").click()
    page.get_by_label("What to correct").select_option("reason")
    page.get_by_label("Corrected reason, note or amount").fill("Refused: felt nauseated")
    page.get_by_label("Why is it corrected?").fill("Clarified with the med tech")
    page.get_by_test_id("amend-submit").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Correction recorded")
    history = page.get_by_test_id("history")
    expect(history.get_by_test_id("amendment")).to_have_count(1)
    expect(history).to_contain_text("Said no")
    expect(history).to_contain_text("Refused: felt nauseated")
    expect(history).to_contain_text(ward.nurse.signature_name)
    shot(page, "amendment")
    assert Amendment.objects.get().old_value == "Said no"


@pytest.mark.parametrize("size", ["desktop", "tablet"])
def test_the_on_time_chart_renders(size, request, live_server, ward):
    page = request.getfixturevalue(size)
    sign_in(page, live_server.url, ward.nurse)

    page.goto(live_server.url + reverse("nurse:reports"))

    chart = page.get_by_test_id("chart-on-time")
    expect(chart.locator("svg polyline").first).to_be_visible()
    box = chart.locator("svg").bounding_box()
    assert box and box["width"] > 600 and box["height"] > 150
    expect(page.get_by_test_id("chart-by-unit").locator("svg polyline")).not_to_have_count(0)
    assert horizontal_overflow(page) <= 0
    shot(page, "reports")


TAP_TARGETS_JS = """els => els.filter(e => e.offsetParent !== null).map(e => {
    const r = e.getBoundingClientRect();
    return {what: e.outerHTML.slice(0, 70), width: r.width, height: r.height};
})"""


@pytest.fixture
def busy_ward(db) -> Ward:
    """Enough exceptions that the review list is longer than the tablet's screen."""
    ward = Ward(residents=4)
    ward.history(days=3, now=clock.now())
    return ward


def test_the_review_page_is_made_for_a_finger_on_the_tablet(tablet_page, live_server, busy_ward):
    page = tablet_page
    viewport = page.viewport_size
    sign_in(page, live_server.url, busy_ward.nurse)
    page.goto(live_server.url + reverse("nurse:review"))
    rows = page.get_by_test_id("exception-row")
    expect(rows.first).to_be_visible()

    targets = page.locator(
        ".exceptions-table .row-check, .exceptions-table td a, .exceptions-table .button"
    ).evaluate_all(TAP_TARGETS_JS)
    assert targets
    assert [t for t in targets if t["width"] < 44 or t["height"] < 44] == []
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) <= 0
    page.locator(".exceptions-table").evaluate("table => table.scrollIntoView()")
    table = page.locator(".exceptions-table").bounding_box()
    panel = page.locator(".ack-dock").bounding_box()
    assert table["y"] + table["height"] > viewport["height"]  # the list is longer than a screen
    assert panel["y"] + panel["height"] <= viewport["height"]  # its note is on the screen
    assert panel["y"] > table["y"]  # below the rows it applies to, not above them
    page.screenshot(
        path=str(
            screenshot(page, "nurse-review-tablet").with_name(
                f"nurse-review-tablet-rows-{viewport['width']}x{viewport['height']}.png"
            )
        )
    )

    rows.nth(2).locator(".row-check").tap()
    rows.nth(3).locator(".row-check").tap()
    expect(page.locator(".ack-panel")).to_be_in_viewport()
    page.get_by_label("Follow-up note").fill("Reviewed with the day team")
    page.get_by_test_id("acknowledge-ticked").tap()
    expect(page.locator(".messages")).to_contain_text("Acknowledged 2.")
    page.mouse.wheel(0, 100_000)
    page.wait_for_timeout(200)
    table = page.locator(".exceptions-table").bounding_box()
    panel = page.locator(".ack-dock").bounding_box()
    assert 0 <= panel["y"] - (table["y"] + table["height"]) <= 24  # at the end: right below
    screenshot(page, "nurse-review-tablet-end")


def test_a_nurse_looks_at_a_carts_board_read_only_on_the_tablet(tablet_page, live_server, ward):
    page = tablet_page
    sign_in(page, live_server.url, ward.nurse)
    page.goto(live_server.url + reverse("mar:pass_start"))
    screenshot(page, "nurse-pass-carts")
    page.get_by_role("link", name="View board (read only)").first.tap()

    expect(page.get_by_role("status").filter(has_text="Read only.")).to_be_visible()
    rows = page.locator(".resident-row")
    expect(rows.first).to_be_visible()
    assert page.locator("a[href*='/pass/residents/']").count() == 0
    assert page.get_by_role("button", name="Given").count() == 0
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) <= 0
    screenshot(page, "nurse-cart-board-read-only")
    rows.first.tap()
    expect(page).to_have_url(re.compile(r"/record/"))
