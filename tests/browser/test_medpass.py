"""A med pass end to end on the cart's tablet, both ways up, in Debian's Chromium:
sign in, PIN switch, take the cart, chart given, chart refused with a reason, a PRN
refused as too soon, a PRN follow-up, a concern report reaching the nurse, auto-lock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from inventory.models import StockItem
from mar.models import Administration, Order
from mar.services import administrations as charting
from mar.services.doses import doses_sync_for_order
from residents.models import Allergy
from staff import services as staff_services
from staff.models import User
from tests import clock
from tests.browser.conftest import horizontal_overflow, screenshot, small_touch_targets
from tests.browser.test_tablet_lock import lock_overlay, sign_in, type_pin
from tests.factories import (
    DEMO_PASSWORD,
    CertificationFactory,
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    StockItemFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

ROSA_PIN = "258031"
SAM_PIN = "135792"


class Floor:
    """Maple Grove's Magnolia cart with one resident whose doses are due right now."""

    def __init__(self) -> None:
        now = clock.now()
        self.facility = FacilityFactory(name="Maple Grove Assisted Living")
        self.cart = MedCartFactory(facility=self.facility, name="Cart A - Magnolia")
        room = RoomFactory(
            facility=self.facility, unit=self.cart.unit, number="112", cart=self.cart
        )
        self.resident = ResidentFactory(
            facility=self.facility,
            room=room,
            first_name="Mary",
            last_name="Whitfield",
            has_no_known_allergies=False,
        )
        Allergy.objects.create(resident=self.resident, allergen="Penicillin", reaction="Hives")
        self.rosa = self._tech("rosa.alvarez", "Rosa", "Alvarez", "RA", ROSA_PIN)
        self.sam = self._tech("sam.okafor", "Sam", "Okafor", "SO", SAM_PIN)
        self.nurse = UserFactory(
            username="nina.reyes",
            first_name="Nina",
            last_name="Reyes",
            initials="NR",
            role=User.Role.NURSE,
            title="RN",
            facility=self.facility,
        )
        due_now = f"{timezone.localtime(now, self.facility.zone):%H:%M}"
        self.metoprolol = self._order("metoprolol tartrate", "25 mg", due_now, now)
        self.donepezil = self._order("donepezil", "10 mg", due_now, now)
        self.acetaminophen = self._order(
            "acetaminophen",
            "325 mg",
            None,
            now,
            frequency=Order.Frequency.PRN,
            prn_min_interval_minutes=240,
            prn_max_per_24h=4,
            indication="pain or fever",
            followup_minutes=60,
        )

    def _tech(self, username, first, last, initials, pin) -> User:
        user = UserFactory(
            username=username,
            first_name=first,
            last_name=last,
            initials=initials,
            facility=self.facility,
        )
        CertificationFactory(user=user)
        staff_services.user_set_pin(user=user, pin=pin, password=DEMO_PASSWORD)
        return user

    def _order(self, name, strength, at, now, **fields) -> Order:
        times = {"administration_times": [at]} if at else {"administration_times": []}
        order = OrderFactory(
            resident=self.resident,
            medication=MedicationFactory(generic_name=name, strength=strength),
            **times,
            **fields,
        )
        StockItemFactory(
            cart=self.cart,
            resident=self.resident,
            medication=order.medication,
            order=order,
            quantity_on_hand=Decimal("30"),
        )
        doses_sync_for_order(order=order, now=now)
        return order


@pytest.fixture
def floor(db) -> Floor:
    return Floor()


def tap_button(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).first.tap()


def dose_card(page: Page, medication: str):
    return page.locator(".dose-card", has_text=medication).first


def test_a_med_pass_from_sign_in_to_auto_lock(tablet_page, live_server, floor):
    floor.facility.auto_lock_minutes = 1
    floor.facility.save()
    page = tablet_page

    # Two med techs sign in on the shared tablet; Rosa takes over with her PIN.
    sign_in(page, live_server.url, floor.rosa)
    sign_in(page, live_server.url, floor.sam)
    tap_button(page, "Lock")
    overlay = lock_overlay(page)
    overlay.get_by_role("radio", name="Rosa Alvarez").tap()
    type_pin(overlay, ROSA_PIN)
    overlay.get_by_role("button", name="Unlock").tap()
    expect(page.locator(".topbar .who")).to_contain_text("Rosa Alvarez")

    # Take the cart: the resident list shows what is due.
    page.get_by_role("link", name="Med pass").tap()
    screenshot(page, "medpass-carts")
    tap_button(page, "Take Cart A - Magnolia")
    row = page.locator(".resident-row", has_text="Whitfield, Mary")
    expect(row).to_contain_text("112")
    expect(row).to_contain_text("2 due")
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, "medpass-residents")

    # The resident's screen: allergies first, then the doses.
    row.tap()
    expect(page.locator(".allergies-present")).to_contain_text("Penicillin")
    expect(page.get_by_role("heading", name="Due now")).to_be_visible()
    screenshot(page, "medpass-resident")

    # Given: two taps.
    dose_card(page, "metoprolol").get_by_role("link", name="Given", exact=True).tap()
    expect(page.locator(".chart-panel")).to_contain_text("Whitfield, Mary")
    assert small_touch_targets(page) == []
    screenshot(page, "medpass-confirm-given")
    tap_button(page, "Confirm given")
    expect(page.locator(".flash")).to_contain_text("Given: metoprolol tartrate")
    expect(dose_card(page, "metoprolol")).to_contain_text("Given")
    expect(dose_card(page, "metoprolol")).to_contain_text("by RA")

    # Not given: refused, with the reason code.
    dose_card(page, "donepezil").get_by_role("link", name="Not given", exact=True).tap()
    page.locator(".reason-tile", has_text="Refused").tap()
    assert small_touch_targets(page) == []
    screenshot(page, "medpass-not-given")
    tap_button(page, "Confirm not given")
    expect(page.locator(".flash")).to_contain_text("Refused: donepezil")
    screenshot(page, "medpass-charted")

    # Sam gave acetaminophen 61 minutes ago from another tablet and documented it late.
    given_at = clock.now() - dt.timedelta(minutes=61)
    charting.administration_record(
        user=floor.sam,
        idempotency_key="other-tablet-1",
        now=clock.now(),
        entry=charting.ChartEntry(
            status="given",
            administered_at=given_at,
            order=floor.acetaminophen,
            prn_reason="Headache 5/10",
            note="Charted from the other cart's tablet",
        ),
    )
    page.reload()
    prn_card = page.locator("#prn-" + str(floor.acetaminophen.public_id))
    expect(prn_card).to_contain_text("Next allowed at")

    # A page opened before Sam's dose still offers the form: the server refuses it.
    page.goto(live_server.url + reverse("mar:prn_give", args=[floor.acetaminophen.public_id]))
    page.get_by_label("What is it for now").fill("Knee pain 6/10")
    tap_button(page, "Confirm")
    expect(page.get_by_role("alert")).to_contain_text("Too soon")
    expect(page.get_by_role("alert")).to_contain_text("Allowed again at")
    screenshot(page, "medpass-prn-too-soon")

    # The follow-up on Sam's dose is due: Rosa charts it.
    page.goto(live_server.url + reverse("mar:pass_resident", args=[floor.resident.public_id]))
    followup = page.locator(".dose-group-followup")
    expect(followup).to_contain_text("Headache 5/10")
    followup.get_by_label("Note").fill("Resting comfortably, says headache is gone")
    followup.get_by_role("button", name="Effective", exact=True).tap()
    expect(page.locator(".flash")).to_contain_text("Follow-up charted")

    # A concern after the dose goes to the nurses.
    page.get_by_role("link", name="Report a concern").tap()
    page.locator(".reason-tile", has_text="Suspected adverse reaction").tap()
    page.get_by_label("What did you see?").fill("Dizzy and pale 20 minutes after metoprolol")
    screenshot(page, "medpass-concern")
    tap_button(page, "Send to the nurses")
    expect(page.locator(".messages")).to_contain_text("The nurses have been notified")

    # Left alone, the tablet locks itself; Rosa's PIN brings the page back as it was.
    with page.expect_response(
        lambda r: r.url.endswith(reverse("staff:lock")) and r.request.method == "POST"
    ):
        page.clock.fast_forward("01:05")
    expect(lock_overlay(page)).to_be_visible()
    screenshot(page, "medpass-auto-locked")
    type_pin(lock_overlay(page), ROSA_PIN)
    lock_overlay(page).get_by_role("button", name="Unlock").tap()
    expect(lock_overlay(page)).to_be_hidden()
    expect(page.get_by_role("heading", name="Whitfield, Mary")).to_be_visible()

    records = Administration.objects.filter(resident=floor.resident).order_by("documented_at")
    assert [
        (r.order.medication.generic_name, r.status, r.administered_by.username) for r in records
    ] == [
        ("metoprolol tartrate", "given", "rosa.alvarez"),
        ("donepezil", "refused", "rosa.alvarez"),
        ("acetaminophen", "given", "sam.okafor"),
    ]
    assert StockItem.objects.get(order=floor.metoprolol).quantity_on_hand == 29
    assert StockItem.objects.get(order=floor.donepezil).quantity_on_hand == 30


def test_the_concern_reaches_the_nurses_list(tablet_page, live_server, floor):
    from mar.services import concerns

    concerns.concern_report(
        resident=floor.resident,
        user=floor.rosa,
        kind="adverse_reaction",
        description="Dizzy and pale 20 minutes after metoprolol",
        observed_at=clock.now(),
        now=clock.now(),
    )
    page = tablet_page

    sign_in(page, live_server.url, floor.nurse)
    expect(page.locator("#notification-bell")).to_contain_text("1")
    page.get_by_role("link", name="Concern reports").tap()

    expect(page.locator(".concern-open")).to_contain_text("Dizzy and pale")
    assert small_touch_targets(page) == []
    screenshot(page, "nurse-concerns")
    page.get_by_label("What you did").fill("Assessed: BP 96/60, held next dose, called Dr. Ortiz")
    tap_button(page, "Acknowledge")
    expect(page.locator(".concern-open")).to_have_count(0)
