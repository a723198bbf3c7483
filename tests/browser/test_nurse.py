"""The supervising nurse in Debian's Chromium, on a desktop (1280x800) and the tablet
(1024x768): enter an order with its 7-day preview, the allergy override, self-verification
refused and a second nurse's check; reviewing a missed dose; an amendment with its
history; the on-time chart. Screenshots go to test-artifacts/screenshots (and, when
NURSE_SHOTS_DIR is set, there too)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from mar.models import Amendment, ExceptionReview, Order
from residents.models import Allergy
from tests import clock
from tests.browser.conftest import horizontal_overflow, new_context, screenshot
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
