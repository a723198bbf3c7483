"""The Content Security Policy in Debian's Chromium: the main pages (sign-in, home, the med
pass, the lock, inventory, printing, the nurse's lists) load and run their scripts with
not one violation (no inline script, style or handler, nothing from elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from inventory.models import StockItem
from tests.browser.conftest import new_context
from tests.browser.test_medpass import Floor
from tests.browser.test_tablet_lock import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

# Collects violations in the page itself (an init script is not subject to the policy).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def floor(db) -> Floor:
    return Floor()


@pytest.fixture
def watched_page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = new_context(browser, viewport={"width": 1024, "height": 768}, has_touch=True)
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda message: console.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    yield page, console
    context.close()


def visit(page: Page, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # let deferred scripts and htmx run
    return page.evaluate("window.__cspViolations")


def csp_errors(console: list[str]) -> list[str]:
    return [text for text in console if "Content Security Policy" in text or "page error" in text]


def test_the_main_pages_load_without_a_single_csp_violation(live_server, watched_page, floor):
    page, console = watched_page
    base = live_server.url
    item = StockItem.objects.filter(cart=floor.cart).order_by("id").first()
    violations: dict[str, list[str]] = {}

    policy = page.goto(base + reverse("login")).headers["content-security-policy"]
    violations["login"] = visit(page, base + reverse("login"))
    sign_in(page, base, floor.rosa)
    tech_pages = {
        "home": reverse("home"),
        "med pass": reverse("mar:pass_start"),
        "cart": reverse("mar:pass_cart", args=[floor.cart.public_id]),
        "resident's pass": reverse("mar:pass_resident", args=[floor.resident.public_id]),
        "notifications": reverse("mar:notifications"),
        "my PIN": reverse("staff:pin"),
        "inventory": reverse("inventory:index"),
        "cart stock": reverse("inventory:cart_stock", args=[floor.cart.public_id]),
        "stock item": reverse("inventory:item", args=[item.public_id]),
        "controlled counts": reverse("inventory:counts", args=[floor.cart.public_id]),
    }
    for name, path in tech_pages.items():
        violations[name] = visit(page, base + path)

    page.get_by_role("button", name="Lock").first.tap()  # tablet.js swaps the lock panel in
    expect(page.locator("#tablet-lock")).to_be_visible()
    page.wait_for_timeout(300)
    violations["lock overlay"] = page.evaluate("window.__cspViolations")
    violations["lock screen"] = visit(page, base + reverse("staff:lock"))

    page.context.clear_cookies()
    sign_in(page, base, floor.nurse)
    nurse_pages = {
        "print": reverse("printing:print_home"),
        "concerns": reverse("nurse:concerns"),
        "review": reverse("nurse:review"),
        "orders to verify": reverse("nurse:orders_pending"),
        "reorders": reverse("inventory:reorders"),
        "expiry": reverse("inventory:expiry"),
    }
    for name, path in nurse_pages.items():
        violations[name] = visit(page, base + path)
    visit(page, base + reverse("api:docs"))  # Swagger UI, from the app's static files
    expect(page.locator(".swagger-ui .info")).to_be_visible()  # the schema came and drew
    violations["API docs"] = page.evaluate("window.__cspViolations")

    assert "script-src 'self'" in policy
    assert {name: found for name, found in violations.items() if found} == {}
    assert csp_errors(console) == []


def test_the_watch_sees_a_violation_when_there_is_one(live_server, watched_page, db):
    """The check above could not pass by looking away: an inline style is reported."""
    page, console = watched_page
    visit(page, live_server.url + reverse("login"))

    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_timeout(200)

    assert page.evaluate("window.__cspViolations") == ["style-src-attr inline"]
    assert any("Content Security Policy" in text for text in console)
