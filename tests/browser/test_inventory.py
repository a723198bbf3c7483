"""Cart stock on the tablet: the controlled-substance shift count with a discrepancy that
reaches the nurse, and the stock screens at both tablet sizes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from inventory import services
from inventory.models import ControlledCount
from mar.models import Medication
from staff.models import User
from staff.services import user_set_pin
from tests import clock
from tests.browser.conftest import horizontal_overflow, screenshot, small_touch_targets
from tests.factories import (
    DEMO_PASSWORD,
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

MARIA_PIN, DARNELL_PIN, REBECCA_PIN = "258031", "369140", "482613"


class Floor:
    """Maple Grove's Cart A with two residents' controlled and ordinary stock."""

    def __init__(self) -> None:
        facility = FacilityFactory(name="Maple Grove Assisted Living")
        self.cart = MedCartFactory(facility=facility, name="Cart A - Magnolia")
        MedCartFactory(facility=facility, name="Cart B - Willow")
        self.maria = self.person(facility, "maria", "Maria", "Santos", "MS", "med_tech", MARIA_PIN)
        self.darnell = self.person(
            facility, "darnell", "Darnell", "Brooks", "DB", "med_tech", DARNELL_PIN
        )
        self.rebecca = self.person(
            facility, "rebecca", "Rebecca", "Hall", "RH", "nurse", REBECCA_PIN
        )
        hydrocodone = MedicationFactory(
            generic_name="hydrocodone/acetaminophen",
            brand_name="Norco",
            strength="5 mg-325 mg",
            dea_schedule=Medication.DeaSchedule.II,
        )
        lorazepam = MedicationFactory(
            generic_name="lorazepam",
            brand_name="Ativan",
            strength="0.5 mg",
            dea_schedule=Medication.DeaSchedule.IV,
        )
        lisinopril = MedicationFactory(generic_name="lisinopril", brand_name="Zestril")
        now = clock.now()
        today = clock.today()
        stock = (
            ("101", "Dorothy", "Abbott", hydrocodone, "20", 200, "HQK7"),
            ("101", "Dorothy", "Abbott", lisinopril, "5", 18, "ZMA4"),
            ("104", "Harold", "Bennett", lorazepam, "12", 300, "LRB9"),
            ("104", "Harold", "Bennett", lisinopril, "28", 400, "TTC3"),
        )
        residents = {}
        for number, first, last, medication, quantity, days, lot in stock:
            if number not in residents:
                room = RoomFactory(
                    facility=facility, unit=self.cart.unit, cart=self.cart, number=number
                )
                residents[number] = ResidentFactory(
                    facility=facility, room=room, first_name=first, last_name=last
                )
            order = OrderFactory(resident=residents[number], medication=medication)
            witness = {"witness": self.rebecca, "witness_secret": REBECCA_PIN}
            services.stock_receive(
                by=self.maria,
                quantity=Decimal(quantity),
                now=now - dt.timedelta(days=3),
                order=order,
                lot=lot,
                expires_on=today + dt.timedelta(days=days),
                **(witness if medication.is_controlled else {}),
            )

    @staticmethod
    def person(facility, username, first, last, initials, role, pin) -> User:
        user = UserFactory(
            username=username,
            first_name=first,
            last_name=last,
            initials=initials,
            role=role,
            title="RN" if role == "nurse" else "CMA",
            facility=facility,
        )
        user_set_pin(user=user, pin=pin, password=DEMO_PASSWORD)
        return user


@pytest.fixture
def floor() -> Floor:
    return Floor()


def sign_in(page: Page, base_url: str, user: User) -> None:
    page.goto(base_url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    expect(page.locator(".topbar .who")).to_contain_text(user.get_full_name())


def fits_the_tablet(page: Page) -> None:
    assert horizontal_overflow(page) == 0
    assert small_touch_targets(page) == []


def enter_count(page: Page, counts: dict[str, str], pin: str) -> None:
    for label, quantity in counts.items():
        page.get_by_label(label).fill(quantity)
    page.get_by_label("Your PIN or password").fill(pin)


def test_a_shift_count_with_a_discrepancy_reaches_the_nurse(tablet_page, live_server, floor):
    page = tablet_page
    sign_in(page, live_server.url, floor.maria)
    page.get_by_role("link", name="Cart stock and counts").tap()
    page.get_by_role("link", name="Shift count").first.tap()
    page.get_by_label("Incoming (taking over)").select_option(label="Darnell Brooks, CMA")
    fits_the_tablet(page)
    screenshot(page, "inventory-count-start")
    page.get_by_role("button", name="Start count").tap()

    expect(page.get_by_text("In progress")).to_be_visible()
    page.get_by_role("link", name="Maria: enter my count").tap()
    expect(page.get_by_role("heading", name="Maria Santos: your count")).to_be_visible()
    assert "20" not in page.locator("main").inner_text()
    enter_count(
        page,
        {"hydrocodone/acetaminophen (Norco)": "20", "lorazepam (Ativan)": "12"},
        MARIA_PIN,
    )
    fits_the_tablet(page)
    screenshot(page, "inventory-count-blind")
    page.get_by_role("button", name="Sign my count").tap()
    expect(page.get_by_text("✓ Signed")).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-count-half-signed")
    page.get_by_role("link", name="Darnell: enter my count").tap()
    enter_count(
        page,
        {"hydrocodone/acetaminophen (Norco)": "19", "lorazepam (Ativan)": "12"},
        DARNELL_PIN,
    )
    page.get_by_role("button", name="Sign my count").tap()

    expect(page.get_by_text("Discrepancy: open")).to_be_visible()
    expect(page.get_by_role("alert").first).to_contain_text("does not match the record")
    fits_the_tablet(page)
    screenshot(page, "inventory-count-discrepancy")

    page.get_by_role("button", name="Sign out").tap()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    sign_in(page, live_server.url, floor.rebecca)
    expect(page.locator("#notification-bell")).to_contain_text("1")
    page.locator("#notification-bell").tap()
    expect(page.get_by_text("Count discrepancy on Cart A - Magnolia")).to_be_visible()
    expect(page.get_by_text("ledger 20, counted 20 (outgoing) and 19 (incoming)")).to_be_visible()
    screenshot(page, "inventory-notifications-nurse")
    page.get_by_role("link", name="MedTech eMAR").tap()
    page.get_by_role("link", name="Cart stock and counts").tap()
    expect(page.get_by_text("Count discrepancies waiting for a nurse")).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-index-nurse")
    page.locator("main").get_by_role("link", name="Review").tap()
    page.get_by_label("What you found and what was done").fill(
        "Recounted with Darnell: 20 tablets, one was stuck under the blister flap."
    )
    fits_the_tablet(page)
    page.get_by_role("button", name="Resolve").tap()

    expect(page.get_by_text("Discrepancy resolved").first).to_be_visible()
    expect(page.get_by_text("stuck under the blister flap")).to_be_visible()
    screenshot(page, "inventory-count-resolved")
    page.get_by_role("link", name="Print count sheet").tap()
    expect(page.get_by_role("heading", name="Controlled-substance shift count")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    screenshot(page, "inventory-count-sheet-print")
    count = ControlledCount.objects.get()
    assert count.status == ControlledCount.Status.RESOLVED
    assert count.resolved_by == floor.rebecca


def test_the_stock_screens_fit_the_tablet(tablet_page, live_server, floor):
    page = tablet_page
    sign_in(page, live_server.url, floor.rebecca)

    page.goto(live_server.url + reverse("inventory:cart_stock", args=[floor.cart.public_id]))
    expect(page.get_by_text("Low: 2 days left")).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-cart-stock")
    page.get_by_role("checkbox", name="Controlled").tap()
    expect(page.locator(".stock-row")).to_have_count(2)
    page.locator(".stock-row").first.tap()
    expect(page.get_by_role("heading", name="Running log")).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-item")
    page.get_by_role("link", name="Print running log").tap()
    page.emulate_media(media="print")
    expect(page.get_by_role("heading", name="Medication running log")).to_be_visible()
    screenshot(page, "inventory-running-log-print")
    page.emulate_media(media="screen")
    page.go_back()
    page.get_by_role("link", name="Waste").tap()
    expect(page.get_by_role("heading", name="Record waste")).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-waste")
    page.goto(live_server.url + reverse("inventory:receive", args=[floor.cart.public_id]))
    page.get_by_label("or pick the resident").select_option(label="101 · Abbott, Dorothy")
    expect(page.get_by_text("Which order is it for?")).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-receive")
    page.goto(live_server.url + reverse("inventory:reorders"))
    expect(page.get_by_role("button", name="Mark requested").first).to_be_visible()
    fits_the_tablet(page)
    screenshot(page, "inventory-reorders")


def test_the_cart_stock_is_searched_grouped_by_resident_and_paged_on_the_tablet(
    tablet_page, live_server, floor, monkeypatch
):
    monkeypatch.setattr("inventory.views.STOCK_PAGE_SIZE", 3)  # four packages: two pages
    page = tablet_page
    sign_in(page, live_server.url, floor.maria)
    page.goto(live_server.url + reverse("inventory:cart_stock", args=[floor.cart.public_id]))

    expect(page.get_by_role("status").first).to_contain_text("page 1 of 2")
    headings = page.locator(".stock-group-heading")
    expect(headings).to_have_count(2)
    expect(headings.first).to_contain_text("Abbott, Dorothy")
    fits_the_tablet(page)
    screenshot(page, "inventory-cart-stock-paged")
    page.get_by_role("link", name="Next page").tap()
    expect(page.locator(".stock-row")).to_have_count(1)
    expect(headings).to_have_count(1)
    expect(headings.first).to_contain_text("Bennett, Harold")
    fits_the_tablet(page)

    page.get_by_label("Find by resident, room, drug, Rx number or lot").fill("Norco")
    expect(page.locator(".stock-row")).to_have_count(1)
    expect(page.locator(".stock-row")).to_contain_text("hydrocodone")
    assert "q=Norco" in page.url and "page=" not in page.url
    page.get_by_label("Find by resident, room, drug, Rx number or lot").fill("LRB9")
    expect(page.locator(".stock-row")).to_contain_text("lorazepam")
    fits_the_tablet(page)
    screenshot(page, "inventory-cart-stock-search")


def test_a_count_open_on_the_cart_hides_the_controlled_quantities(tablet_page, live_server, floor):
    services.count_start(
        cart=floor.cart,
        outgoing_user=floor.maria,
        incoming_user=floor.darnell,
        by=floor.maria,
        now=clock.now(),
    )
    page = tablet_page
    sign_in(page, live_server.url, floor.darnell)
    page.goto(live_server.url + reverse("inventory:cart_stock", args=[floor.cart.public_id]))

    expect(page.get_by_text("quantities are hidden until it closes")).to_be_visible()
    hydrocodone = page.locator(".stock-row", has_text="hydrocodone")
    expect(hydrocodone).to_contain_text("hidden: count open")
    expect(hydrocodone).not_to_contain_text(re.compile(r"\b20\b"))  # 20 on hand
    fits_the_tablet(page)
    screenshot(page, "inventory-cart-stock-count-open")
    hydrocodone.tap()
    expect(page.get_by_text("On hand hidden until the shift count")).to_be_visible()
    assert "Running log" in page.locator("main").inner_text()
    assert page.locator(".ledger").count() == 0
    fits_the_tablet(page)
    screenshot(page, "inventory-item-count-open")
