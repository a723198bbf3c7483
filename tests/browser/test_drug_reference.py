"""The drug reference as a nurse uses it on the tablet (1024x768 and 768x1024): from a new
order, find amoxicillin in the reference, use it for the order, and see the penicillin
allergy flagged by class before anything is saved. Screenshots: drugref-*.png."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from residents.models import Allergy
from tests import clock
from tests.browser.conftest import horizontal_overflow, screenshot
from tests.browser.test_tablet_lock import sign_in
from tests.drugref.conftest import SUBSET
from tests.nurse.conftest import Ward

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]


@pytest.fixture
def ward(transactional_db) -> Ward:
    from drugref.fda import SHIPPED_DATE
    from drugref.loader import drugref_load

    drugref_load(directory=SUBSET, now=clock.now(), data_date=SHIPPED_DATE)
    return Ward(residents=1)


def test_a_nurse_finds_amoxicillin_in_the_reference_and_sees_the_penicillin_class_allergy(
    tablet_page: Page, live_server, ward
):
    resident = ward.residents[0]
    resident.has_no_known_allergies = False
    resident.save()
    Allergy.objects.create(resident=resident, allergen="Penicillin", reaction="Hives")
    page = tablet_page
    sign_in(page, live_server.url, ward.nurse)
    page.goto(live_server.url + reverse("nurse:order_new", args=[resident.public_id]))

    page.get_by_test_id("drug-reference").click()
    expect(page.get_by_test_id("data-date")).to_contain_text("2019")
    page.get_by_label("Brand, generic or NDC").fill("amoxicillin")
    page.get_by_label("Brand, generic or NDC").press("Enter")
    results = page.get_by_test_id("drug-results")
    expect(results).to_contain_text("amoxicillin")
    expect(results).to_contain_text("Penicillin-class Antibacterial")
    screenshot(page, "drugref-search")
    assert not horizontal_overflow(page)

    results.get_by_test_id("pick").first.press("Enter")
    selected = page.get_by_label("Medication from the catalog").locator("option:checked")
    expect(selected).to_contain_text("amoxicillin")
    page.get_by_label("Dose", exact=True).fill("1")
    page.get_by_label("Unit (tablet, mL, units...)").fill("capsule")
    page.get_by_label("Times (08:00, 20:00 or pass names AM, HS)").fill("08:00, 20:00")
    page.get_by_label("Times (08:00, 20:00 or pass names AM, HS)").press("Tab")

    flag = page.get_by_test_id("allergy-flag")
    expect(flag).to_contain_text("Penicillin")
    flag.scroll_into_view_if_needed()
    screenshot(page, "drugref-class-allergy")
    assert not horizontal_overflow(page)
