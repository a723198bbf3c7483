"""The order checks as a nurse sees them on the tablet (1024x768 and 768x1024): a dose
above the usual range and an allergy show up in the preview as the form is filled in, with
the answers they need; the order goes in once both are answered. Screenshots:
order-checks-*.png."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from mar.models import Order, OrderAcknowledgement
from residents.models import Allergy
from tests.browser.conftest import horizontal_overflow, screenshot
from tests.browser.test_nurse import fill_new_order
from tests.browser.test_tablet_lock import sign_in
from tests.factories import MedicationFactory
from tests.nurse.conftest import Ward

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]


@pytest.fixture
def ward(db) -> Ward:
    return Ward(residents=1)


def test_a_nurse_sees_and_answers_the_dose_and_allergy_warnings(
    tablet_page: Page, live_server, ward
):
    resident = ward.residents[0]
    Allergy.objects.create(resident=resident, allergen="Warfarin", reaction="Bleeding")
    MedicationFactory(
        generic_name="warfarin",
        brand_name="Coumadin",
        strength="2.5 mg",
        ingredients=["warfarin"],
        dose_limit_unit="mg",
        usual_max_single_dose=Decimal(10),
        max_single_dose=Decimal(20),
        usual_max_daily_dose=Decimal(10),
        max_daily_dose=Decimal(20),
    )
    page = tablet_page
    sign_in(page, live_server.url, ward.nurse)
    page.goto(live_server.url + reverse("nurse:order_new", args=[resident.public_id]))

    fill_new_order(page, medication="warfarin (Coumadin) 2.5 mg", dose="6", times="20:00")
    warning = page.get_by_test_id("dose-warning")
    expect(warning).to_contain_text("above the usual maximum of 10 mg")
    expect(page.get_by_test_id("allergy-flag")).to_contain_text("Warfarin")
    page.get_by_label("I override the allergy warning, for the reason below").check()
    page.get_by_label("Why it is given anyway").select_option("prescriber_aware")
    page.get_by_label("The prescriber confirmed this dose: I acknowledge the dose warning").check()
    warning.scroll_into_view_if_needed()
    screenshot(page, "order-checks-entry")
    assert not horizontal_overflow(page)

    page.wait_for_load_state("networkidle")
    page.get_by_test_id("order-submit").press("Enter")

    expect(page.get_by_test_id("order-status")).to_have_text("Pending verification")
    expect(page.get_by_test_id("dose-warning")).to_be_visible()
    screenshot(page, "order-checks-detail")
    order = Order.objects.get(medication__generic_name="warfarin")
    assert set(order.acknowledgements.values_list("kind", flat=True)) == {
        OrderAcknowledgement.Kind.ALLERGY,
        OrderAcknowledgement.Kind.DOSE_RANGE,
    }
