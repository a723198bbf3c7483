"""A nurse's override on the cart's tablet, both ways up: a dose before its window stops
the med tech, who asks; the nurse overrides it from her own device; the tech charts it. A
nurse at the tablet overrides with her password. A PRN held for a crossed hold parameter in
one tap, with the readings taken."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from mar.models import Administration, Order
from tests import clock
from tests.browser.conftest import (
    TABLET_VIEWPORTS,
    horizontal_overflow,
    new_context,
    screenshot,
    small_touch_targets,
)
from tests.browser.test_medpass import Floor, tap_button
from tests.browser.test_tablet_lock import sign_in
from tests.factories import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]


class LaterFloor(Floor):
    """The Magnolia cart, with an amlodipine due in three hours (its window not yet open)
    and a PRN nitroglycerin held below a systolic of 90."""

    def __init__(self) -> None:
        super().__init__()
        now = clock.now()
        later = timezone.localtime(now + dt.timedelta(hours=3), self.facility.zone)
        self.amlodipine = self._order("amlodipine", "5 mg", f"{later:%H:%M}", now)
        self.window_opens = timezone.localtime(
            self.amlodipine.doses.order_by("scheduled_at").first().window_start,
            self.facility.zone,
        )
        self.nitroglycerin = self._order(
            "nitroglycerin",
            "0.4 mg",
            None,
            now,
            frequency=Order.Frequency.PRN,
            prn_min_interval_minutes=5,
            prn_max_per_24h=3,
            indication="chest pain",
            hold_parameters=[{"vital": "systolic", "comparator": "<", "limit": 90}],
        )


@pytest.fixture
def floor(db) -> LaterFloor:
    return LaterFloor()


def open_resident(page: Page, base: str, floor: LaterFloor) -> None:
    page.goto(base + reverse("mar:pass_resident", args=[floor.resident.public_id]))
    expect(page.get_by_role("heading", name="Whitfield, Mary")).to_be_visible()


def open_amlodipine(page: Page, base: str, floor: LaterFloor) -> None:
    """The confirm panel of the amlodipine dose (three hours ahead, maybe in the next pass)."""
    dose = floor.amlodipine.doses.order_by("scheduled_at").first()
    page.goto(base + reverse("mar:dose_chart", args=[dose.public_id]) + "?status=given")
    expect(page.locator(".chart-panel")).to_contain_text("amlodipine")


def test_the_tech_asks_the_nurse_overrides_from_her_device_and_the_tech_charts(
    tablet_page, browser, live_server, floor
):
    page = tablet_page
    sign_in(page, live_server.url, floor.rosa)
    open_amlodipine(page, live_server.url, floor)

    # Before its window the panel opens on the override: no Confirm given to be refused.
    expect(page.get_by_role("button", name="Confirm given")).to_have_count(0)
    alert = page.locator(".chart-panel .alert-danger")
    expect(alert).to_contain_text(f"window opens at {floor.window_opens:%H:%M}")
    override = page.locator(".override-box")
    expect(override).to_contain_text("A nurse overrides it here")
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, "override-1-tech-stopped")
    tap_button(page, "Ask a nurse")
    expect(page.locator(".messages")).to_contain_text("Asked 1 nurse for an override")

    nurse_context = new_context(browser, viewport=TABLET_VIEWPORTS["portrait"], has_touch=True)
    nurse = nurse_context.new_page()
    sign_in(nurse, live_server.url, floor.nurse)
    nurse.goto(live_server.url + reverse("mar:notifications"))
    asked = nurse.locator(".notification", has_text="Override asked: Room 112, Whitfield, Mary")
    asked.get_by_role("link", name="Open").tap()
    expect(nurse.get_by_role("heading", name="Override a dose")).to_be_visible()
    nurse.get_by_label("Why you override").fill("Leaving for her cardiology visit at noon")
    screenshot(nurse, "override-2-nurse-device")
    nurse.get_by_role("button", name="Override", exact=True).tap()
    expect(nurse.locator(".messages")).to_contain_text("Override given for amlodipine")
    nurse_context.close()

    open_amlodipine(page, live_server.url, floor)
    tap_button(page, "Confirm given")
    expect(page.locator(".messages")).to_contain_text("Given: amlodipine")
    screenshot(page, "override-3-charted")
    record = Administration.objects.select_related("override__granted_by").get(
        order=floor.amlodipine
    )
    assert record.override.granted_by == floor.nurse
    assert record.override.reason == "Leaving for her cardiology visit at noon"


def test_a_nurse_at_the_tablet_overrides_with_her_password(tablet_page, live_server, floor):
    page = tablet_page
    sign_in(page, live_server.url, floor.rosa)
    open_amlodipine(page, live_server.url, floor)

    page.get_by_label("Nurse", exact=True).select_option(label=floor.nurse.signature_name)
    page.get_by_label("Nurse's PIN or password").fill(DEMO_PASSWORD)
    page.get_by_label("Why the nurse overrides").fill("Resident leaving for dialysis now")
    screenshot(page, "override-at-tablet")
    tap_button(page, "Override and chart")

    expect(page.locator(".messages")).to_contain_text("Given: amlodipine")
    record = Administration.objects.get(order=floor.amlodipine)
    assert record.override.granted_by == floor.nurse
    assert record.override.requested_by == floor.rosa


def test_a_prn_is_held_in_one_tap_when_its_hold_parameter_is_crossed(
    tablet_page, live_server, floor
):
    page = tablet_page
    sign_in(page, live_server.url, floor.rosa)
    open_resident(page, live_server.url, floor)

    page.locator(f"#prn-{floor.nitroglycerin.public_id}").get_by_role("link").first.tap()
    page.get_by_label("What is it for now").fill("Chest pain 7/10")
    page.get_by_label("Systolic BP (mmHg)").fill("85")
    page.get_by_label("Diastolic BP (mmHg)").fill("50")
    tap_button(page, "Confirm")
    expect(page.locator(".chart-panel .alert-danger")).to_contain_text("systolic 85 < 90: hold")
    assert small_touch_targets(page) == []
    screenshot(page, "prn-held-panel")
    page.get_by_role("button", name="Chart it held (systolic 85 < 90: hold)").tap()

    expect(page.locator(".flash")).to_contain_text("PRN held: nitroglycerin")
    record = Administration.objects.get(order=floor.nitroglycerin)
    assert (record.status, record.reason) == ("held", "systolic 85 < 90: hold")
    assert record.prn_reason == "Chest pain 7/10"
    assert record.vitals == {"systolic": "85", "diastolic": "50"}
