"""The med pass without Wi-Fi, in Debian's Chromium at tablet size: load the cart online, go
offline (Playwright's offline emulation), chart 10 doses as two people (the second one
switched in with the PIN checked on the tablet) and a refusal, reload while offline,
come back online: every dose is recorded exactly once, as the right person, at the time
it was given. A second run has another tablet chart one of the doses meanwhile: exactly
one conflict, shown on the tablet and told to the nurses, and no duplicate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, Route, expect

from inventory.services import cart_assignment_start
from mar.models import Administration, Notification, Order
from mar.services import administrations as charting
from mar.services.doses import doses_sync_for_order
from staff import services as staff_services
from staff.models import User
from tests import clock
from tests.browser.conftest import (
    TABLET_VIEWPORTS,
    horizontal_overflow,
    new_context,
    screenshot,
    small_touch_targets,
)
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
MEDICATIONS = {
    "Mary Whitfield": ["metoprolol", "donepezil", "lisinopril", "atorvastatin"],
    "Harold Beck": ["levothyroxine", "amlodipine", "sertraline", "omeprazole"],
    "Ada Nguyen": ["furosemide", "potassium chloride", "memantine"],
}


class Floor:
    """One cart, three residents, eleven doses due right now, two med techs, a nurse."""

    def __init__(self) -> None:
        now = clock.now()
        self.facility = FacilityFactory(name="Maple Grove Assisted Living")
        self.cart = MedCartFactory(facility=self.facility, name="Cart A - Magnolia")
        self.rosa = self._tech("rosa.alvarez", "Rosa", "Alvarez", "RA", ROSA_PIN)
        self.sam = self._tech("sam.okafor", "Sam", "Okafor", "SO", SAM_PIN)
        self.other_tablet_user = self._tech("lee.park", "Lee", "Park", "LP", "482613")
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
        self.residents = {}
        self.doses = {}
        for number, (name, medications) in enumerate(MEDICATIONS.items(), start=110):
            first, last = name.split()
            room = RoomFactory(
                facility=self.facility, unit=self.cart.unit, number=str(number), cart=self.cart
            )
            resident = ResidentFactory(
                facility=self.facility, room=room, first_name=first, last_name=last
            )
            self.residents[name] = resident
            for medication in medications:
                order = self._order(resident, medication, due_now, now)
                self.doses[medication] = order.doses.order_by("scheduled_at", "id").first()
        # Rosa and Sam took the cart: its offline copy (and their PIN verifiers) is theirs.
        for tech in (self.rosa, self.sam):
            cart_assignment_start(cart=self.cart, user=tech, now=now)

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

    def _order(self, resident, name, at, now) -> Order:
        order = OrderFactory(
            resident=resident,
            medication=MedicationFactory(generic_name=name, strength="10 mg"),
            administration_times=[at],
        )
        StockItemFactory(
            cart=self.cart,
            resident=resident,
            medication=order.medication,
            order=order,
            quantity_on_hand=Decimal("30"),
        )
        doses_sync_for_order(order=order, now=now)
        return order

    def resident_page(self, name: str) -> str:
        return reverse("mar:pass_resident", args=[self.residents[name].public_id])


@pytest.fixture
def floor(db, settings) -> Floor:
    # Argon2id over 8 MiB, not production's 3 passes over 64 MiB: the same scheme, run by
    # hash-wasm in Chromium, less CPU on CI.
    settings.PIN_OFFLINE_ITERATIONS = 2
    settings.PIN_OFFLINE_MEMORY_KIB = 8 * 1024
    return Floor()


def tablet_context(
    browser, viewport: str = "landscape", zone: str = "America/Chicago"
) -> BrowserContext:
    context = new_context(
        browser,
        viewport=TABLET_VIEWPORTS[viewport],
        device_scale_factor=1,
        has_touch=True,
        timezone_id=zone,
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def tablet(browser) -> Iterator[BrowserContext]:
    context = tablet_context(browser)
    yield context
    context.close()


def _abort_worker_fetches(route: Route) -> None:
    # Chromium's offline emulation may let the service worker's own fetches through;
    # a tablet without Wi-Fi has no network anywhere.
    if route.request.service_worker is not None:
        route.abort("internetdisconnected")
    else:
        route.continue_()


def go_offline(context: BrowserContext) -> None:
    context.set_offline(True)
    context.route("**/*", _abort_worker_fetches)


def go_online(context: BrowserContext) -> None:
    context.unroute("**/*", _abort_worker_fetches)
    context.set_offline(False)


def wait_until_pages_kept(page: Page, count: int) -> None:
    """Until the service worker has kept ``count`` pages (evaluate awaits the promise)."""
    kept = 0
    for _ in range(100):
        kept = page.evaluate("caches.open('medtech-pages').then(c => c.keys()).then(k => k.length)")
        if kept >= count:
            return
        page.wait_for_timeout(150)
    pytest.fail(f"the service worker kept {kept} pages, not {count}")


def shot(page: Page, name: str) -> None:
    screenshot(page, f"offline-{name}")


def chart_given(page: Page, medication: str) -> None:
    card = page.locator(".dose-card", has_text=medication)
    card.get_by_role("link", name="Given", exact=True).tap()
    panel = card.locator(".offline-panel")
    expect(panel).to_contain_text("Offline: kept on this tablet")
    panel.get_by_role("button", name="Confirm given").tap()
    expect(card).to_contain_text("Waiting to send")


def chart_given_earlier(page: Page, medication: str, at: dt.datetime) -> None:
    """Given a while ago, charted now: the tablet's "Given earlier" time."""
    card = page.locator(".dose-card", has_text=medication)
    card.get_by_role("link", name="Given", exact=True).tap()
    panel = card.locator(".offline-panel")
    panel.get_by_text("Given earlier, or add a note").tap()
    panel.get_by_label("Given at").fill(f"{at:%H:%M}")
    shot(page, "offline-panel-given-earlier")
    panel.get_by_role("button", name="Confirm given").tap()
    expect(card).to_contain_text("Waiting to send")


def chart_refused(page: Page, medication: str) -> None:
    card = page.locator(".dose-card", has_text=medication)
    card.get_by_role("link", name="Not given", exact=True).tap()
    panel = card.locator(".offline-panel")
    panel.get_by_text("Refused", exact=True).tap()
    panel.get_by_role("button", name="Confirm not given").tap()
    expect(card).to_contain_text("Refused")
    expect(card).to_contain_text("Waiting to send")


def bar(page: Page):
    return page.get_by_role("status", name="Connection")


@pytest.mark.parametrize("other_tablet_charts_one", [False, True], ids=["clean", "conflict"])
def test_a_med_pass_charted_offline_is_recorded_once_when_the_wifi_returns(
    tablet, live_server, floor, other_tablet_charts_one
):
    page = tablet.new_page()
    run = "conflict" if other_tablet_charts_one else "clean"
    base = live_server.url

    # Online: both med techs sign in on the tablet; Rosa opens her cart.
    sign_in(page, base, floor.sam)
    sign_in(page, base, floor.rosa)
    page.goto(base + reverse("mar:pass_cart", args=[floor.cart.public_id]))
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    expect(bar(page)).to_contain_text("Ready for offline")
    # The worker has kept the cart's page and its three residents' pages.
    wait_until_pages_kept(page, 4)
    shot(page, f"{run}-01-online-cart")

    # The Wi-Fi drops.
    go_offline(tablet)
    started = clock.now()
    page.get_by_role("link", name="Whitfield, Mary").tap()
    expect(page.get_by_role("heading", name="Whitfield, Mary")).to_be_visible()
    expect(bar(page)).to_contain_text("Offline - 0 waiting")
    expect(bar(page)).to_contain_text("Doses charted by others since the last sync")
    expect(page.locator(".give-all")).to_be_hidden()  # offline: one by one, from kept panels
    for medication in MEDICATIONS["Mary Whitfield"]:
        chart_given(page, medication)
    expect(bar(page)).to_contain_text("Offline - 4 waiting")
    shot(page, f"{run}-02-offline-rosa-charted")

    page.goto(base + floor.resident_page("Harold Beck"))
    chart_given(page, "levothyroxine")

    # Sam takes over with his PIN, checked on the tablet.
    page.get_by_role("button", name="Lock", exact=True).tap()
    overlay = lock_overlay(page)
    expect(overlay).to_be_visible()
    overlay.get_by_role("radio", name="Sam Okafor").tap()
    type_pin(overlay, "000000")
    overlay.get_by_role("button", name="Unlock").tap()
    expect(overlay).to_contain_text("Wrong PIN for Sam Okafor")
    overlay.get_by_role("radio", name="Sam Okafor").tap()
    type_pin(overlay, SAM_PIN)
    shot(page, f"{run}-03-offline-pin-switch")
    overlay.get_by_role("button", name="Unlock").tap()
    expect(overlay).to_be_hidden()
    expect(page.locator(".topbar .who")).to_contain_text("Sam Okafor")
    expect(bar(page)).to_contain_text("Charting as Sam Okafor")
    for medication in ["amlodipine", "sertraline", "omeprazole"]:
        chart_given(page, medication)

    page.goto(base + floor.resident_page("Ada Nguyen"))
    given_earlier = clock.now() - dt.timedelta(minutes=40)
    chart_given_earlier(page, "furosemide", timezone.localtime(given_earlier, floor.facility.zone))
    chart_given(page, "potassium chloride")
    chart_refused(page, "memantine")
    expect(bar(page)).to_contain_text("Offline - 11 waiting")
    charted = clock.now()

    # A reload while offline: the worker serves the page, the queue is still there.
    page.reload()
    expect(bar(page)).to_contain_text("Offline - 11 waiting")
    expect(page.locator(".dose-card-queued")).to_have_count(3)
    expect(page.locator(".topbar .who")).to_contain_text("Sam Okafor")
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    shot(page, f"{run}-04-offline-reloaded")
    assert not Administration.objects.exists()

    if other_tablet_charts_one:
        # Meanwhile Lee, on another cart's tablet with Wi-Fi, gives Harold his sertraline.
        charting.administration_record(
            user=floor.other_tablet_user,
            idempotency_key="other-tablet-1",
            now=clock.now(),
            entry=charting.ChartEntry(
                status="given",
                administered_at=clock.now(),
                scheduled_dose=floor.doses["sertraline"],
            ),
        )

    # The Wi-Fi is back: the queue goes out in order.
    go_online(tablet)
    # Sam was switched in on the tablet only, over Rosa's session: once the queue is sent
    # the tablet locks, so that from now on he charts under his own session.
    overlay = lock_overlay(page)
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Sam Okafor: type your PIN to keep charting as yourself")
    expect(overlay.get_by_role("radio", name="Sam Okafor")).to_be_checked()
    shot(page, f"{run}-05-synced-and-locked")
    overlay.get_by_role("radio", name="Sam Okafor").tap()
    type_pin(overlay, SAM_PIN)
    overlay.get_by_role("button", name="Unlock").tap()
    expect(page.locator(".topbar .who")).to_contain_text("Sam Okafor")
    expect(bar(page)).to_contain_text("Online")
    results = page.get_by_role("region", name="Doses sent after the connection returned")
    if other_tablet_charts_one:
        expect(results).to_contain_text("10 recorded, 1 conflict")
        conflict = results.locator(".offline-result-conflict")
        expect(conflict).to_have_count(1)
        expect(conflict).to_contain_text("sertraline")
        expect(conflict).to_contain_text("Already charted by L.P.")
        expect(conflict).to_contain_text("The nurse has been notified")
    else:
        expect(results).to_contain_text("11 recorded")
        expect(results.locator(".offline-result-conflict")).to_have_count(0)
    late_entry = results.locator(".offline-result-recorded", has_text="furosemide")
    expect(late_entry).to_contain_text(
        f"Given {timezone.localtime(given_earlier, floor.facility.zone):%H:%M} by SO · documented "
    )
    expect(late_entry).to_contain_text("Late entry")
    shot(page, f"{run}-06-back-online")

    records = {
        record.scheduled_dose_id: record
        for record in Administration.objects.select_related("administered_by")
    }
    assert Administration.objects.count() == 11  # one per dose, never two
    assert set(records) == {dose.pk for dose in floor.doses.values()}
    by_rosa = [*MEDICATIONS["Mary Whitfield"], "levothyroxine"]
    for medication, dose in floor.doses.items():
        record = records[dose.pk]
        if other_tablet_charts_one and medication == "sertraline":
            assert record.administered_by == floor.other_tablet_user
            assert record.idempotency_key == "other-tablet-1"
            continue
        expected = floor.rosa if medication in by_rosa else floor.sam
        assert record.administered_by == expected, medication
        assert record.status == ("refused" if medication == "memantine" else "given")
        assert record.documented_at > charted
        if medication == "furosemide":
            # Given 40 minutes before it reached the server: a late entry, with both times.
            assert abs(record.administered_at - given_earlier) < dt.timedelta(minutes=1)
            assert record.is_late_entry
            assert not record.is_late  # inside its window: not a late dose
            continue
        assert started - dt.timedelta(minutes=1) <= record.administered_at <= charted
        assert not record.is_late_entry
        assert "Charted offline" in record.note
    conflicts = Notification.objects.filter(kind=Notification.Kind.CHARTING_CONFLICT)
    if other_tablet_charts_one:
        assert [n.recipient for n in conflicts] == [floor.nurse]
        assert "sertraline" in conflicts.get().body
    else:
        assert not conflicts.exists()


def acetaminophen_for_ada(floor: Floor) -> Order:
    """A PRN order, at least 4 hours apart and at most 4 in 24 hours, stocked on the cart."""
    ada = floor.residents["Ada Nguyen"]
    acetaminophen = OrderFactory(
        resident=ada,
        medication=MedicationFactory(generic_name="acetaminophen", strength="325 mg"),
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=4,
        indication="pain or fever",
    )
    StockItemFactory(
        cart=floor.cart,
        resident=ada,
        medication=acetaminophen.medication,
        order=acetaminophen,
        quantity_on_hand=Decimal("30"),
    )
    return acetaminophen


def open_ada_online(page: Page, live_server, floor: Floor) -> None:
    sign_in(page, live_server.url, floor.rosa)
    page.goto(live_server.url + floor.resident_page("Ada Nguyen"))
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    expect(bar(page)).to_contain_text("Ready for offline")


def test_offline_prn_limits_count_the_tablets_own_queue(tablet, live_server, floor):
    acetaminophen = acetaminophen_for_ada(floor)
    page = tablet.new_page()
    open_ada_online(page, live_server, floor)
    wait_until_pages_kept(page, 4)

    go_offline(tablet)
    prn_card = page.locator(".dose-card", has_text="acetaminophen")
    prn_card.get_by_role("link", name="Give PRN").tap()
    panel = prn_card.locator(".offline-panel")
    expect(panel).to_contain_text("doses charted by others since the last sync may be missing")
    panel.get_by_label("What is it for now").fill("Knee pain 6/10")
    panel.get_by_role("button", name="Confirm", exact=True).tap()
    expect(prn_card).to_contain_text("Waiting to send")
    page.reload()
    prn_card.get_by_role("link", name="Give PRN").tap()
    panel.get_by_label("What is it for now").fill("Still in pain")
    panel.get_by_role("button", name="Confirm", exact=True).tap()

    # The words of the server's refusal (mar/prn.py), for the dose the tablet queued itself.
    expect(panel.get_by_role("alert")).to_contain_text("Too soon: a dose was given at ")
    expect(panel.get_by_role("alert")).to_contain_text("needs 240 minutes between doses")
    expect(bar(page)).to_contain_text("Offline - 1 waiting")
    shot(page, "prn-too-soon-offline")
    go_online(tablet)
    expect(bar(page)).to_contain_text("Online")
    expect(
        page.get_by_role("region", name="Doses sent after the connection returned")
    ).to_contain_text("1 recorded")
    record = Administration.objects.get()
    assert (record.order, record.prn_reason, record.administered_by) == (
        acetaminophen,
        "Knee pain 6/10",
        floor.rosa,
    )


@pytest.mark.parametrize("viewport", list(TABLET_VIEWPORTS))
def test_offline_a_prn_before_the_bundles_allowed_at_is_refused_in_the_words_of_online(
    browser, live_server, floor, viewport
):
    """Another tablet gives the PRN after this page was drawn; the tablet learns it only from
    its bundle (refreshed every few minutes), then loses the Wi-Fi: the offline panel, the
    online one cloned, refuses with the server's own refusal."""
    context = tablet_context(browser, viewport)
    acetaminophen = acetaminophen_for_ada(floor)
    page = context.new_page()
    open_ada_online(page, live_server, floor)
    prn_card = page.locator(".dose-card", has_text="acetaminophen")
    dose_card = page.locator(".dose-card", has_text="furosemide")
    # The online panels, to set beside the offline ones.
    prn_card.get_by_role("link", name="Give PRN").tap()
    expect(prn_card.locator(".chart-panel")).to_be_visible()
    dose_card.get_by_role("link", name="Given", exact=True).tap()
    expect(dose_card.locator(".chart-panel")).to_be_visible()
    shot(page, "panels-online")
    page.reload()
    expect(bar(page)).to_contain_text("Ready for offline")

    # Lee gives Ada acetaminophen from another tablet; this page still offers it.
    charting.administration_record(
        user=floor.other_tablet_user,
        idempotency_key="other-tablet-prn",
        now=clock.now(),
        entry=charting.ChartEntry(
            status="given", administered_at=clock.now(), order=acetaminophen, prn_reason="Headache"
        ),
    )
    with pytest.raises(charting.PrnLimitReached) as online:
        charting.administration_record(
            user=floor.rosa,
            idempotency_key="rosa-online-prn",
            now=clock.now(),
            entry=charting.ChartEntry(
                status="given",
                administered_at=clock.now(),
                order=acetaminophen,
                prn_reason="Knee pain",
            ),
        )
    with page.expect_response(lambda response: "/api/v1/offline/carts/" in response.url):
        page.clock.fast_forward("03:05")  # the bundle's refresh
    go_offline(context)
    prn_card.get_by_role("link", name="Give PRN").tap()
    panel = prn_card.locator(".offline-panel")
    panel.get_by_label("What is it for now").fill("Knee pain 6/10")
    panel.get_by_role("button", name="Confirm", exact=True).tap()
    dose_card.get_by_role("link", name="Given", exact=True).tap()

    expect(panel.get_by_role("alert")).to_have_text(str(online.value))
    expect(dose_card.locator(".offline-panel")).to_contain_text("Offline: kept on this tablet")
    expect(bar(page)).to_contain_text("Offline - 0 waiting")
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    shot(page, "panels-offline")
    context.close()


def test_a_time_typed_offline_is_read_on_the_facilitys_clock_not_the_tablets(
    browser, live_server, floor
):
    """A tablet set to London time in a Chicago community: "given at 16:20" means 16:20 in
    Chicago offline too, as it does online (mar.forms.local_time_to_instant)."""
    context = tablet_context(browser, zone="Europe/London")
    page = context.new_page()
    open_ada_online(page, live_server, floor)
    given_earlier = clock.now() - dt.timedelta(minutes=40)

    go_offline(context)
    chart_given_earlier(page, "furosemide", timezone.localtime(given_earlier, floor.facility.zone))
    go_online(context)

    results = page.get_by_role("region", name="Doses sent after the connection returned")
    expect(results).to_contain_text("1 recorded")
    record = Administration.objects.get()
    assert abs(record.administered_at - given_earlier) < dt.timedelta(minutes=1)
    context.close()
