"""Issue 20, items 1-5, on the cart's tablet both ways up (1024x768 and 768x1024): the
taps a med pass costs, counted, with every control tapped already on the screen (no
scroll): a plain dose in 2 taps after opening the resident, six plain due doses in at most
3, a crossed hold parameter charted held in one tap, Not given with nothing preselected,
a dose before its window offering the nurse's override, and the header in one row."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from mar.models import Administration, Order, ScheduledDose
from mar.services.doses import doses_sync_for_order
from residents.models import MedPassTime
from tests import clock
from tests.browser.conftest import (
    SCREENSHOT_DIR,
    horizontal_overflow,
    screenshot,
    small_touch_targets,
)
from tests.browser.test_medpass import Floor, dose_card
from tests.browser.test_tablet_lock import sign_in
from tests.factories import MedicationFactory, OrderFactory, StockItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

PLAIN = ["metoprolol tartrate", "donepezil", "amlodipine", "atorvastatin", "sertraline", "senna"]


class NoonFloor(Floor):
    """Mary Whitfield's noon meds: six plain doses due now, a lisinopril held when the
    systolic is below 100 (vitals first), an oxycodone (controlled) and a levothyroxine
    due in three hours."""

    def __init__(self) -> None:
        super().__init__()
        now = clock.now()
        due_now = f"{timezone.localtime(now, self.facility.zone):%H:%M}"
        for name in PLAIN[2:]:
            self._order(name, "10 mg", due_now, now)
        self.lisinopril = self._order(
            "lisinopril",
            "10 mg",
            due_now,
            now,
            required_vitals=["systolic"],
            hold_parameters=[{"vital": "systolic", "comparator": "<", "limit": 100}],
        )
        self.oxycodone = self._order("oxycodone", "5 mg", due_now, now)
        self.oxycodone.medication.dea_schedule = "II"
        self.oxycodone.medication.save()
        # Twice a day (a window of an hour either side) at 90 minutes from now: its window
        # opens in half an hour, inside this pass (none set: two hours either side of now).
        MedPassTime.objects.filter(facility=self.facility).delete()
        later = timezone.localtime(now + dt.timedelta(minutes=90), self.facility.zone)
        evening = later + dt.timedelta(hours=12)
        self.levothyroxine = OrderFactory(
            resident=self.resident,
            medication=MedicationFactory(generic_name="levothyroxine", strength="50 mcg"),
            administration_times=sorted([f"{later:%H:%M}", f"{evening:%H:%M}"]),
        )
        StockItemFactory(
            cart=self.cart,
            resident=self.resident,
            medication=self.levothyroxine.medication,
            order=self.levothyroxine,
        )
        doses_sync_for_order(order=self.levothyroxine, now=now)


@pytest.fixture
def floor(db) -> Floor:
    return Floor()


@pytest.fixture
def noon(db) -> NoonFloor:
    return NoonFloor()


class Taps:
    """Every tap of a test, counted; each control must already be on the screen when it is
    tapped (Playwright would scroll to it: a person would have had to)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def tap(self, control: Locator) -> None:
        expect(control).to_be_visible()
        assert_on_screen(self.page, control)
        control.tap()
        self.count += 1


def assert_on_screen(page: Page, control: Locator) -> None:
    """Wholly inside the screen as it is (the page may bring a panel up by itself)."""
    expect(control).to_be_in_viewport(ratio=1)
    box, view = control.bounding_box(), page.viewport_size
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= view["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"]


def open_resident(page: Page, base: str, floor: Floor) -> None:
    sign_in(page, base, floor.rosa)
    page.goto(base + reverse("mar:pass_resident", args=[floor.resident.public_id]))
    expect(page.get_by_role("heading", name="Whitfield, Mary")).to_be_visible()
    assert page.evaluate("window.scrollY") == 0


def shots(page: Page, name: str) -> None:
    """The whole page (screenshot()) and what is on the screen at this moment, which the
    whole page cannot show: the sticky action bar sits at the screen's bottom edge."""
    screenshot(page, name)
    size = page.viewport_size
    page.screenshot(
        path=str(SCREENSHOT_DIR / f"{name}-screen-{size['width']}x{size['height']}.png")
    )


def button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True).first


def test_a_plain_dose_is_two_taps_with_the_confirm_on_screen(tablet_page, live_server, floor):
    page = tablet_page
    open_resident(page, live_server.url, floor)
    taps = Taps(page)

    taps.tap(dose_card(page, "metoprolol").get_by_role("link", name="Given", exact=True))
    expect(page.locator(".chart-panel")).to_contain_text("metoprolol tartrate")
    assert_on_screen(page, button(page, "Confirm given"))
    shots(page, "shift-dose-confirm")
    taps.tap(button(page, "Confirm given"))

    expect(page.locator(".flash")).to_contain_text("Given: metoprolol tartrate")
    assert taps.count == 2
    assert Administration.objects.get(order=floor.metoprolol).status == "given"


def test_six_plain_due_doses_take_two_taps_and_the_others_stay_on_their_cards(
    tablet_page, live_server, noon
):
    page = tablet_page
    open_resident(page, live_server.url, noon)
    shots(page, "shift-resident")
    taps = Taps(page)

    taps.tap(page.get_by_role("link", name="Give all due (6)"))
    panel = page.locator(".give-all-panel")
    expect(panel.locator(".give-all-dose")).to_have_count(6)
    for name in PLAIN:  # drug, dose, route and time of each, for this resident
        row = panel.locator(".give-all-dose", has_text=name)
        expect(row).to_contain_text("By mouth (PO)")
        expect(row.locator("input[type=checkbox]")).to_be_checked()
    expect(panel.locator(".give-all-who")).to_contain_text("Whitfield, Mary")
    expect(panel.locator(".photo")).to_be_visible()
    expect(panel.locator(".give-all-left")).to_contain_text("lisinopril 10 mg (it needs vitals")
    expect(panel.locator(".give-all-left")).to_contain_text("oxycodone 5 mg (a controlled drug")
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    shots(page, "shift-give-all-confirm")
    taps.tap(button(page, "Confirm all ticked given"))

    expect(page.locator(".flash")).to_contain_text("Given: 6 doses")
    assert taps.count <= 3
    shots(page, "shift-give-all-charted")
    records = Administration.objects.filter(resident=noon.resident)
    assert sorted(r.order.medication.generic_name for r in records) == sorted(PLAIN)
    assert len({r.idempotency_key for r in records}) == 6
    for name in ("lisinopril", "oxycodone"):
        expect(dose_card(page, name).get_by_role("link", name="Given", exact=True)).to_be_visible()


def test_a_dose_taken_out_of_the_batch_stays_due(tablet_page, live_server, noon):
    page = tablet_page
    open_resident(page, live_server.url, noon)
    taps = Taps(page)

    taps.tap(page.get_by_role("link", name="Give all due (6)"))
    taps.tap(page.locator(".give-all-dose", has_text="sertraline"))
    expect(
        page.locator(".give-all-dose", has_text="sertraline").locator("input")
    ).not_to_be_checked()
    shots(page, "shift-give-all-one-out")
    taps.tap(button(page, "Confirm all ticked given"))

    expect(page.locator(".flash")).to_contain_text("Given: 5 doses")
    assert taps.count == 3
    sertraline = Order.objects.get(medication__generic_name="sertraline")
    assert not Administration.objects.filter(order=sertraline).exists()
    assert ScheduledDose.objects.filter(order=sertraline, status="pending").exists()


def test_a_crossed_hold_parameter_is_charted_held_in_one_tap(tablet_page, live_server, noon):
    page = tablet_page
    open_resident(page, live_server.url, noon)
    taps = Taps(page)

    card = dose_card(page, "lisinopril")
    card.scroll_into_view_if_needed()  # the eighth card: the list is long
    taps.tap(card.get_by_role("link", name="Given", exact=True))
    page.get_by_label("Systolic").fill("92")
    page.get_by_label("Diastolic").fill("60")
    taps.tap(button(page, "Confirm given"))
    expect(page.locator(".chart-panel .alert-danger")).to_contain_text("systolic 92 < 100: hold")
    shots(page, "shift-held-panel")
    taps.tap(button(page, "Chart it held (systolic 92 < 100: hold)"))

    expect(page.locator(".flash")).to_contain_text("Held: lisinopril")
    record = Administration.objects.get(order=noon.lisinopril)
    assert (record.status, record.reason) == ("held", "systolic 92 < 100: hold")
    assert record.vitals["systolic"] == "92"
    assert taps.count == 3  # Given, Confirm, Chart it held


def test_not_given_preselects_nothing_and_needs_a_reason(tablet_page, live_server, floor):
    page = tablet_page
    open_resident(page, live_server.url, floor)
    taps = Taps(page)

    taps.tap(dose_card(page, "donepezil").get_by_role("link", name="Not given", exact=True))
    tiles = page.locator(".reason-tile input[type=radio]")
    expect(tiles.first).to_be_visible()
    assert tiles.evaluate_all("radios => radios.filter(r => r.checked).length") == 0
    shots(page, "shift-not-given")
    taps.tap(button(page, "Confirm not given"))  # the browser asks for the reason first
    expect(page.locator(".chart-panel-not-given")).to_be_visible()
    assert not Administration.objects.exists()

    taps.tap(page.locator(".reason-tile", has_text="Asleep"))
    taps.tap(button(page, "Confirm not given"))
    expect(page.locator(".flash")).to_contain_text("donepezil")
    assert Administration.objects.get(order=floor.donepezil).status == "asleep"


def test_a_dose_before_its_window_offers_the_nurse_override(tablet_page, live_server, noon):
    page = tablet_page
    open_resident(page, live_server.url, noon)
    card = dose_card(page, "levothyroxine")
    dose = noon.levothyroxine.doses.filter(scheduled_at__gt=clock.now()).order_by("scheduled_at")
    opens = timezone.localtime(dose.first().window_start, noon.facility.zone)

    expect(card).to_contain_text(f"Opens at {opens:%H:%M}")
    expect(card.get_by_role("link", name="Given", exact=True)).to_have_count(0)
    card.get_by_role("link", name="Early: nurse override").tap()
    override = page.locator(".override-box")
    expect(override).to_be_visible()
    expect(page.locator(".chart-panel .alert-danger")).to_contain_text(
        f"window opens at {opens:%H:%M}"
    )
    expect(page.get_by_role("button", name="Confirm given")).to_have_count(0)
    assert_on_screen(page, button(page, "Override and chart"))
    shots(page, "shift-early-override")


@pytest.mark.parametrize("who", ["rosa", "nurse"])
def test_the_header_is_one_row(tablet_page, live_server, floor, who):
    page = tablet_page
    sign_in(page, live_server.url, getattr(floor, who))
    page.goto(live_server.url + reverse("mar:pass_resident", args=[floor.resident.public_id]))

    height = page.locator(".topbar").evaluate("el => el.getBoundingClientRect().height")
    assert height <= 64, f"the header is {height:.0f} px high: it wrapped"
    assert horizontal_overflow(page) == 0
    assert small_touch_targets(page) == []
    shots(page, f"shift-header-{who}")
