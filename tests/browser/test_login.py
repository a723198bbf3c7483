"""Signing in on the med cart's tablet."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.conftest import horizontal_overflow, screenshot, small_touch_targets
from tests.factories import DEMO_PASSWORD, FacilityFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]


@pytest.fixture
def med_tech():
    facility = FacilityFactory(name="Maple Grove Assisted Living")
    return UserFactory(username="rosa.alvarez", first_name="Rosa", facility=facility)


def _sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").tap()


def test_it_signs_a_med_tech_in_and_shows_their_community(tablet_page, live_server, med_tech):
    tablet_page.goto(live_server.url + reverse("login"))
    expect(tablet_page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(tablet_page, "login")

    _sign_in(tablet_page, med_tech.username, DEMO_PASSWORD)

    expect(tablet_page).to_have_url(live_server.url + reverse("home"))
    expect(tablet_page.get_by_role("heading", name="Good to see you, Rosa")).to_be_visible()
    expect(tablet_page.get_by_role("heading", name="Maple Grove Assisted Living")).to_be_visible()
    expect(tablet_page.get_by_role("button", name="Sign out")).to_be_visible()
    assert horizontal_overflow(tablet_page) == 0
    assert small_touch_targets(tablet_page) == []
    screenshot(tablet_page, "home")


def test_it_keeps_a_wrong_password_on_the_login_page(tablet_page, live_server, med_tech):
    tablet_page.goto(live_server.url + reverse("login"))

    _sign_in(tablet_page, med_tech.username, "not-the-password")

    expect(tablet_page.get_by_role("alert")).to_contain_text(
        "That username and password did not match"
    )
    expect(tablet_page).to_have_url(re.compile(re.escape(reverse("login")) + "$"))
    expect(tablet_page.get_by_label("Username")).to_have_value(med_tech.username)
    expect(tablet_page.get_by_label("Password")).to_have_value("")
    expect(tablet_page.get_by_label("Password")).to_be_focused()
    assert small_touch_targets(tablet_page) == []
    screenshot(tablet_page, "login-wrong-password")


def test_its_controls_are_big_enough_to_tap(tablet_page, live_server):
    tablet_page.goto(live_server.url + reverse("login"))

    expect(tablet_page.get_by_role("button", name="Sign in")).to_be_visible()
    assert tablet_page.locator("input:visible, button:visible").count() >= 3
    assert small_touch_targets(tablet_page) == []
    assert horizontal_overflow(tablet_page) == 0


def test_its_top_bar_wraps_a_long_name_instead_of_scrolling_sideways(tablet_page, live_server):
    facility = FacilityFactory(name="Maple Grove Assisted Living")
    user = UserFactory(
        username="mf.castellanos",
        first_name="Maria-Fernanda",
        last_name="Castellanos-Villavicencio de la Torre",
        facility=facility,
    )
    tablet_page.goto(live_server.url + reverse("login"))

    _sign_in(tablet_page, user.username, DEMO_PASSWORD)

    expect(tablet_page.get_by_role("button", name="Sign out")).to_be_visible()
    assert horizontal_overflow(tablet_page) == 0
    assert small_touch_targets(tablet_page) == []
    screenshot(tablet_page, "home-long-name")
