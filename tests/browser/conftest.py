"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live_server.

Every test here is marked ``browser`` and put in the ``browser`` xdist group, so one
worker owns the Chromium process (``pytestmark`` in each module).

The sync Playwright API runs an event loop in the test's thread, and Django refuses ORM
calls from a thread with a running loop (SynchronousOnlyOperation). The calls are
synchronous all the same, so the test process allows them; this is the documented way to
use Playwright with pytest-django.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests import clock

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The med cart's tablet, both ways up.
TABLET_VIEWPORTS = {
    "landscape": {"width": 1024, "height": 768},
    "portrait": {"width": 768, "height": 1024},
}
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
MIN_TOUCH_TARGET_PX = 44


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need it. "
            "Run bin/install-sysdeps (apt-get install chromium).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def new_context(browser: Browser, **options) -> BrowserContext:
    """A browser context whose pages' clock reads the server's time.

    The pages' JavaScript (the offline queue's times, the idle lock) takes the time the
    server's clock gives, moved or not (MEDTECH_TEST_CLOCK), and tests can fast-forward it.
    """
    context = browser.new_context(locale="en-US", **options)
    context.clock.install(time=clock.now())
    context.set_default_timeout(10_000)
    return context


@pytest.fixture(params=list(TABLET_VIEWPORTS))
def tablet_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) on a touch tablet, once landscape and once portrait."""
    context = new_context(
        browser,
        viewport=TABLET_VIEWPORTS[request.param],
        device_scale_factor=1,
        has_touch=True,
        is_mobile=False,
        timezone_id="America/Chicago",
    )
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>-<width>x<height>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 0, "height": 0}
    path = SCREENSHOT_DIR / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def small_touch_targets(page: Page) -> list[str]:
    """Visible buttons, inputs and button-styled links smaller than a fingertip, described.

    A radio or checkbox inside a <label> is tapped through the whole label, so the label
    is what is measured for it.
    """
    too_small = []
    controls = page.locator("button, input:not([type=hidden]), select, textarea, a.button")
    for control in controls.all():
        if not control.is_visible():
            continue
        box = control.evaluate(
            """el => {
                const target = el.matches('input[type=radio], input[type=checkbox]')
                    ? (el.closest('label') || el) : el;
                const r = target.getBoundingClientRect();
                return {width: r.width, height: r.height};
            }"""
        )
        if box["height"] < MIN_TOUCH_TARGET_PX or box["width"] < MIN_TOUCH_TARGET_PX:
            label = control.evaluate("el => el.outerHTML.slice(0, 80)")
            too_small.append(f"{label} is {box['width']:.0f}x{box['height']:.0f}px")
    return too_small


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (a tablet must not scroll sideways)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
