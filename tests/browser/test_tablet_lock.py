"""Switching people on the med cart's shared tablet, and its automatic lock."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from staff import services
from tests.browser.conftest import horizontal_overflow, screenshot, small_touch_targets
from tests.factories import DEMO_PASSWORD, FacilityFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

ROSA_PIN = "258031"
SAM_PIN = "135792"


@pytest.fixture
def community():
    return FacilityFactory(name="Maple Grove Assisted Living")


@pytest.fixture
def rosa(community):
    user = UserFactory(
        username="rosa.alvarez",
        first_name="Rosa",
        last_name="Alvarez",
        initials="RA",
        facility=community,
    )
    services.user_set_pin(user=user, pin=ROSA_PIN, password=DEMO_PASSWORD)
    return user


@pytest.fixture
def sam(community):
    user = UserFactory(
        username="sam.okafor",
        first_name="Sam",
        last_name="Okafor",
        initials="SO",
        facility=community,
    )
    services.user_set_pin(user=user, pin=SAM_PIN, password=DEMO_PASSWORD)
    return user


def sign_in(page: Page, base_url: str, user) -> None:
    page.goto(base_url + reverse("login"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    expect(page.locator(".topbar .who")).to_contain_text(user.get_full_name())


def lock_overlay(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Screen locked")


def type_pin(panel: Locator, pin: str) -> None:
    for digit in pin:
        panel.get_by_role("button", name=digit, exact=True).tap()


def assert_big_enough_for_gloves(panel: Locator) -> None:
    for person in panel.locator(".person").all():
        box = person.bounding_box()
        assert box and box["height"] >= 56, f"a person's button is {box}"
    keys = panel.locator(".pin-key")
    assert keys.count() == 12
    for key in keys.all():
        box = key.bounding_box()
        assert box and box["height"] >= 64 and box["width"] >= 64, f"a PIN key is {box}"


def focus_is_inside(page: Page, panel: Locator) -> bool:
    return panel.evaluate("el => el.contains(document.activeElement)")


def test_it_switches_to_someone_else_on_the_tablet_with_their_pin(
    tablet_page, live_server, rosa, sam
):
    page = tablet_page
    sign_in(page, live_server.url, rosa)
    sign_in(page, live_server.url, sam)

    page.get_by_role("button", name="Lock", exact=True).tap()
    overlay = lock_overlay(page)
    expect(overlay).to_be_visible()
    expect(overlay.get_by_role("radio", name="Rosa Alvarez")).to_be_visible()
    expect(overlay.get_by_role("radio", name="Sam Okafor")).to_be_checked()
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    assert_big_enough_for_gloves(overlay)
    screenshot(page, "lock-overlay")

    overlay.get_by_role("radio", name="Rosa Alvarez").tap()
    type_pin(overlay, ROSA_PIN)
    overlay.get_by_role("button", name="Unlock").tap()

    expect(page.locator(".topbar .who")).to_contain_text("Rosa Alvarez")
    expect(overlay).to_be_hidden()
    expect(page.get_by_role("heading", name="Good to see you, Rosa")).to_be_visible()


def test_it_locks_by_itself_and_keeps_what_was_typed(tablet_page, live_server, community, rosa):
    community.auto_lock_minutes = 1
    community.save()
    page = tablet_page
    sign_in(page, live_server.url, rosa)
    page.goto(live_server.url + reverse("staff:pin"))
    new_pin = page.get_by_label("New PIN", exact=True)
    new_pin.fill("864213")
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, "my-pin")

    with page.expect_response(
        lambda r: r.url.endswith(reverse("staff:lock")) and r.request.method == "POST"
    ):
        page.clock.fast_forward("01:05")

    overlay = lock_overlay(page)
    expect(overlay).to_be_visible()
    expect(overlay.get_by_role("radio", name="Rosa Alvarez")).to_be_checked()
    home = page.request.get(live_server.url + reverse("home"), max_redirects=0)
    assert home.status == 302
    assert home.headers["location"].startswith(reverse("staff:lock"))
    for _ in range(15):
        page.keyboard.press("Tab")
        assert focus_is_inside(page, overlay)
    page.keyboard.press("Shift+Tab")
    assert focus_is_inside(page, overlay)
    assert small_touch_targets(page) == []
    screenshot(page, "lock-auto")

    type_pin(overlay, "975312")
    overlay.get_by_role("button", name="Unlock").tap()
    expect(overlay.get_by_role("alert")).to_contain_text("Wrong PIN for Rosa Alvarez")
    expect(overlay).to_be_visible()
    screenshot(page, "lock-wrong-pin")
    type_pin(overlay, ROSA_PIN)
    overlay.get_by_role("button", name="Unlock").tap()

    expect(overlay).to_be_hidden()
    expect(new_pin).to_have_value("864213")
    expect(page).to_have_url(re.compile(re.escape(reverse("staff:pin")) + "$"))
    assert page.request.get(live_server.url + reverse("home"), max_redirects=0).status == 200


def test_a_locked_tablet_shows_the_lock_screen_for_any_page(tablet_page, live_server, rosa, sam):
    page = tablet_page
    sign_in(page, live_server.url, rosa)
    sign_in(page, live_server.url, sam)
    with page.expect_response(lambda r: r.url.endswith(reverse("staff:lock"))):
        page.get_by_role("button", name="Lock", exact=True).tap()
    expect(lock_overlay(page)).to_be_visible()

    page.goto(live_server.url + reverse("mar:notifications"))

    expect(page.get_by_role("heading", name="Screen locked")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(reverse("staff:lock")) + r"\?next="))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert small_touch_targets(page) == []
    assert horizontal_overflow(page) == 0
    assert_big_enough_for_gloves(page.locator("[data-lock-panel]"))
    screenshot(page, "lock-screen")

    type_pin(page.locator("[data-lock-panel]"), SAM_PIN)
    page.get_by_role("button", name="Unlock").tap()

    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.locator(".topbar .who")).to_contain_text("Sam Okafor")
