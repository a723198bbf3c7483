"""The order checks through the nurse's pages (issue 17, items 10, 16, 19, 20), the stay
page where an allergy is recorded, the Django admin, the med tech's PRN panel and the
receiving page. The same service as the API (tests/api/test_order_safety.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import StockItem
from mar.models import Administration, Medication, Notification, Order, OrderAcknowledgement
from staff.models import User
from tests.api.test_order_safety import acetaminophen, warfarin
from tests.factories import MedicationFactory, OrderFactory
from tests.nurse.test_orders import new_order_url, order_post

pytestmark = pytest.mark.django_db


def enter(client, ward, medication, **fields):
    client.force_login(ward.nurse)
    return client.post(new_order_url(ward.residents[0]), order_post(medication, **fields))


def verify(client, ward, order, **fields):
    client.force_login(ward.second_nurse)
    url = reverse("nurse:order_verify", args=[order.public_id])
    return client.post(url, {"checked_against_prescription": "on", **fields})


# --- 10. Dose ranges, the PRN interval, backdated starts ------------------------------------


def test_the_page_stops_warfarin_40_tablets_and_shows_why(client, ward):
    response = enter(client, ward, warfarin(), dose_amount="40", dose_warnings_acknowledged="on")

    assert response.status_code == 400
    assert 'data-testid="order-stops"' in response.text
    assert "40 tablets (100 mg) in one dose is above the maximum of 20 mg" in response.text
    assert not Order.objects.filter(medication__generic_name="warfarin").exists()


def test_the_page_stops_acetaminophen_every_0_minutes_and_48_times_a_day(client, ward):
    prn = {
        "frequency": "prn",
        "administration_times": "",
        "dose_amount": "20",
        "prn_max_per_24h": "48",
        "indication": "pain",
    }

    no_interval = enter(client, ward, acetaminophen(), prn_min_interval_minutes="0", **prn)
    too_much = enter(client, ward, acetaminophen(), prn_min_interval_minutes="30", **prn)

    assert no_interval.status_code == 400
    assert no_interval.context["form"].errors["prn_min_interval_minutes"]
    assert too_much.status_code == 400
    assert "above the maximum of 4,000 mg a day" in too_much.text
    assert not Order.objects.filter(medication__generic_name="acetaminophen").exists()


def test_the_preview_shows_a_dose_warning_with_its_acknowledgement(client, ward):
    client.force_login(ward.nurse)

    response = client.post(
        new_order_url(ward.residents[0]),
        order_post(warfarin(), dose_amount="6", preview="1"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="order-preview",
    )

    assert 'data-testid="dose-warning"' in response.text
    assert "above the usual maximum of 10 mg" in response.text
    assert 'name="dose_warnings_acknowledged"' in response.text


def test_a_dose_past_the_usual_range_is_acknowledged_at_entry_and_at_verification(client, ward):
    once_a_day = {"dose_amount": "6", "administration_times": "20:00"}
    silent = enter(client, ward, warfarin(), **once_a_day)
    entered = enter(client, ward, warfarin(), **once_a_day, dose_warnings_acknowledged="on")
    order = Order.objects.get(medication__generic_name="warfarin")

    unverified = verify(client, ward, order)
    verified = verify(client, ward, order, dose_warnings_reviewed="on")

    assert silent.status_code == 400
    assert entered.status_code == 302
    assert unverified.status_code == 400
    assert "above the usual maximum" in unverified.text
    assert verified.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.ACTIVE
    page = client.get(reverse("nurse:order_detail", args=[order.public_id]))
    assert page.text.count('data-testid="acknowledgement"') == 2


def test_a_start_in_2020_needs_a_reason_on_the_page(client, ward):
    silent = enter(client, ward, MedicationFactory(), starts_on="2020-01-06")
    explained = enter(
        client,
        ward,
        MedicationFactory(),
        starts_on="2020-01-06",
        start_in_past_reason="Running since 2020 on the paper MAR",
    )

    assert silent.status_code == 400
    assert 'data-testid="past-start"' in silent.text
    assert "Jan 6, 2020, more than a week ago" in silent.text
    assert explained.status_code == 302
    assert OrderAcknowledgement.objects.get(kind="past_start").acknowledged_by == ward.nurse


# --- 16 and 20. Allergies --------------------------------------------------------------------


@pytest.fixture
def sulfa(ward) -> Medication:
    ward.residents[0].allergies.create(allergen="Sulfa", reaction="Rash")
    return MedicationFactory(generic_name="sulfamethoxazole", ingredients=["sulfa"])


def test_the_page_refuses_an_allergy_override_of_a_dot(client, ward, sulfa):
    dot = enter(client, ward, sulfa, allergy_override="on", allergy_override_reason=".")
    coded = enter(
        client, ward, sulfa, allergy_override="on", allergy_override_code="prescriber_aware"
    )

    assert dot.status_code == 400
    assert "write a sentence" in dot.text
    assert coded.status_code == 302
    answer = OrderAcknowledgement.objects.get(kind="allergy", stage="entry")
    assert (answer.acknowledged_by, answer.reason_code) == (ward.nurse, "prescriber_aware")


def test_the_page_needs_the_verifying_nurse_to_acknowledge_the_allergy(client, ward, sulfa):
    enter(client, ward, sulfa, allergy_override="on", allergy_override_code="tolerated_before")
    order = Order.objects.get(medication=sulfa)

    silent = verify(client, ward, order)
    acknowledged = verify(client, ward, order, allergy_reviewed="on")

    assert silent.status_code == 400
    assert acknowledged.status_code == 302
    answer = OrderAcknowledgement.objects.get(kind="allergy", stage="verification")
    assert answer.acknowledged_by == ward.second_nurse
    assert "Tolerated before without a reaction" in answer.answer


@pytest.fixture
def prn(ward) -> Order:
    """An active PRN of a sulfa drug, entered before any allergy was known."""
    resident = ward.residents[0]
    order = OrderFactory(
        resident=resident,
        medication=MedicationFactory(generic_name="sulfamethoxazole", ingredients=["sulfa"]),
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=3,
        indication="Urinary infection",
    )
    StockItem.objects.create(
        cart=ward.carts[0],
        resident=resident,
        medication=order.medication,
        order=order,
        package="bottle",
        quantity_on_hand=Decimal("20"),
        unit="tablet",
        expires_on=dt.date(2028, 1, 31),
        received_at=order.starts_at,
    )
    return order


def give(client, ward, order):
    client.force_login(ward.tech)
    return client.post(
        reverse("mar:prn_give", args=[order.public_id]),
        {"idempotency_key": str(uuid.uuid4()), "prn_reason": "Burning on urination"},
        HTTP_HX_REQUEST="true",
    )


def test_an_allergy_recorded_on_the_stay_page_stops_the_prn_until_a_nurse_reviews_it(
    client, ward, prn
):
    resident = ward.residents[0]
    client.force_login(ward.admin)

    recorded = client.post(
        reverse("residents:allergy_add", args=[resident.public_id]),
        {"allergy-allergen": "Sulfa", "allergy-reaction": "Hives", "allergy-severity": "severe"},
        follow=True,
    )
    refused = give(client, ward, prn)
    client.force_login(ward.nurse)
    pending = client.get(reverse("nurse:orders_pending"))
    review_url = reverse("nurse:order_allergy_review", args=[prn.public_id])
    unticked = client.post(review_url, {"reason_code": "intolerance"})
    reviewed = client.post(review_url, {"allergy_acknowledged": "on", "reason_code": "intolerance"})
    given = give(client, ward, prn)

    assert "matches 1 of" in recorded.text
    assert "the nurses were notified" in recorded.text
    assert Notification.objects.filter(kind="allergy_conflict", recipient=ward.nurse).exists()
    assert refused.status_code == 422
    assert "allergy recorded after this order" in refused.text
    assert 'data-testid="allergy-conflict-tag"' in pending.text
    assert unticked.status_code == 400
    assert reviewed.status_code == 302
    assert given.status_code == 200
    assert Administration.objects.filter(order=prn, status="given").count() == 1


def test_the_django_admin_adds_no_allergy_behind_the_orders_check(client, ward, prn):
    """The admin is read-only for clinical data: an allergy is recorded on the stay page,
    whose service checks it against the resident's orders."""
    resident = ward.residents[0]
    User.objects.filter(pk=ward.admin.pk).update(is_staff=True)
    ward.admin.user_permissions.set(Permission.objects.filter(content_type__app_label="residents"))
    client.force_login(User.objects.get(pk=ward.admin.pk))
    url = reverse("admin:residents_resident_change", args=[resident.pk])

    response = client.post(
        url,
        {
            "allergies-TOTAL_FORMS": "1",
            "allergies-INITIAL_FORMS": "0",
            "allergies-0-allergen": "Sulfa",
            "allergies-0-severity": "severe",
        },
    )

    assert response.status_code == 403
    assert not resident.allergies.filter(allergen="Sulfa").exists()


# --- 19. Units -------------------------------------------------------------------------------


def test_the_page_refuses_an_order_in_ml_when_the_stock_is_counted_in_drops(client, ward):
    medication = MedicationFactory(generic_name="carboxymethylcellulose", form="drops")
    drops = OrderFactory(resident=ward.residents[0], medication=medication, dose_unit="drop")
    StockItem.objects.create(
        cart=ward.carts[0],
        resident=ward.residents[0],
        medication=medication,
        order=drops,
        package="bottle",
        quantity_on_hand=Decimal("300"),
        unit="drop",
        expires_on=dt.date(2028, 1, 31),
        received_at=drops.starts_at,
    )

    response = enter(client, ward, medication, dose_amount="2", dose_unit="mL", route="ophthalmic")

    assert response.status_code == 400
    assert "counted in drop" in response.text
    assert not Order.objects.filter(dose_unit="mL").exists()


def test_receiving_refuses_a_package_counted_in_a_unit_the_order_cannot_use(client, ward):
    medication = MedicationFactory(generic_name="carboxymethylcellulose", form="drops")
    order = OrderFactory(resident=ward.residents[0], medication=medication, dose_unit="mL")
    client.force_login(ward.tech)
    url = reverse("inventory:receive", args=[ward.carts[0].public_id])
    form = {
        "resident": str(ward.residents[0].public_id),
        "order": str(order.public_id),
        "quantity": "300",
        "lot": "L1",
        "expires_on": "2028-01-31",
        "package": "bottle",
        "unit": "drops",
    }

    refused = client.post(url, form)
    received = client.post(url, form | {"unit": ""})

    assert refused.status_code == 400
    assert "no conversion between them is known" in refused.text
    assert received.status_code == 302
    assert StockItem.objects.get(order=order).unit == "mL"
