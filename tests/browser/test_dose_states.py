"""Doses of a resident away and doses overdue, as a med tech and a nurse see them in
Debian's Chromium on the tablet (issue 17, items 1 and 11): the away resident's pass
screen has no charting buttons and says since when they are away; the nurse's overdue
board counts what is unrecorded now on every cart. Screenshots go to
test-artifacts/screenshots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from mar.models import Order
from mar.services.doses import doses_sync_for_order
from residents import services as resident_services
from staff.models import User
from tests import clock
from tests.browser.conftest import horizontal_overflow, screenshot
from tests.browser.test_medpass import Floor
from tests.browser.test_nurse import TABLET, new_page
from tests.browser.test_tablet_lock import sign_in
from tests.factories import (
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]


@pytest.fixture
def floor(db) -> Floor:
    floor = Floor()
    floor.admin = UserFactory(
        role=User.Role.ADMINISTRATOR, title="Administrator", facility=floor.facility
    )
    return floor


def test_an_away_residents_pass_screen_says_since_when_and_offers_no_charting(
    tablet_page: Page, live_server, floor
):
    resident_services.resident_leave(
        resident=floor.resident,
        kind="hospital",
        started_at=clock.now() - dt.timedelta(days=1, hours=2),
        by=floor.admin,
        now=clock.now(),
    )
    page = tablet_page
    sign_in(page, live_server.url, floor.rosa)

    page.goto(live_server.url + reverse("mar:pass_cart", args=[floor.cart.public_id]))
    expect(page.locator(".resident-row", has_text="Whitfield")).to_contain_text("2 away")
    page.locator(".resident-row", has_text="Whitfield").click()

    notice = page.get_by_test_id("away-notice")
    expect(notice).to_contain_text("Whitfield, Mary is in hospital since")
    expect(notice).to_contain_text("nothing can be charted")
    expect(page.locator(".dose-group-away")).to_contain_text("Away: not due")
    expect(page.locator(".dose-card-away")).to_have_count(2)
    expect(page.locator(".dose-card-away .button")).to_have_count(0)
    expect(page.get_by_role("link", name="Give PRN")).to_have_count(0)
    assert horizontal_overflow(page) == 0
    screenshot(page, "pass-resident-away")


def late_order(floor: Floor, resident, *, minutes_ago: int) -> Order:
    """An order whose dose was due ``minutes_ago`` minutes ago, with a 30-minute window:
    late now, whatever the time of day."""
    now = clock.now()
    local = (now - dt.timedelta(minutes=minutes_ago)).astimezone(floor.facility.zone)
    order = OrderFactory(
        resident=resident,
        medication=MedicationFactory(),
        administration_times=[f"{local:%H:%M}"],
        window_minutes=30,
        starts_at=now - dt.timedelta(days=2),
    )
    doses_sync_for_order(order=order, now=now - dt.timedelta(minutes=minutes_ago + 10))
    return order


def test_the_nurse_sees_every_carts_overdue_doses_on_one_board(browser, live_server, floor):
    other_cart = MedCartFactory(facility=floor.facility, name="Cart B - Dogwood")
    room = RoomFactory(facility=floor.facility, unit=other_cart.unit, number="204", cart=other_cart)
    neighbour = ResidentFactory(
        facility=floor.facility, room=room, first_name="Harold", last_name="Jensen"
    )
    late_order(floor, floor.resident, minutes_ago=75)
    late_order(floor, neighbour, minutes_ago=90)
    late_order(floor, neighbour, minutes_ago=100)
    page = new_page(browser, TABLET)
    sign_in(page, live_server.url, floor.nurse)

    page.goto(live_server.url + reverse("nurse:overdue_board"))

    expect(page.get_by_test_id("overdue-total")).to_have_text("3 not charted")
    carts = page.get_by_test_id("overdue-cart")
    expect(carts).to_have_count(2)
    expect(carts.filter(has_text="Cart B - Dogwood")).to_contain_text("Jensen, Harold")
    expect(carts.filter(has_text="Cart A - Magnolia")).to_contain_text("Whitfield, Mary")
    assert horizontal_overflow(page) == 0
    screenshot(page, "nurse-overdue-board")
    page.context.close()
