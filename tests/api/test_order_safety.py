"""The order checks through the API (issue 17, items 10, 16, 19, 20): dose ranges, the PRN
interval, backdated starts, allergies at entry, verification and when recorded later, units
against the stock. The same service as the nurse's page (tests/nurse/test_order_safety.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from inventory.models import StockItem, StockTransaction
from mar.models import Administration, Medication, Notification, Order, OrderAcknowledgement
from mar.services import stays
from residents import services as resident_services
from tests.api.conftest import AT, client_for, stocked_order
from tests.factories import MedicationFactory, OrderFactory, StockItemFactory, UserFactory

URL = "/api/v1/orders/"


def limited(generic_name: str, strength: str, unit: str, *limits, **fields) -> Medication:
    """The catalog's product with these dose-range limits (the same one when asked again)."""
    names = ("usual_max_single_dose", "max_single_dose", "usual_max_daily_dose", "max_daily_dose")
    existing = Medication.objects.filter(generic_name=generic_name, strength=strength).first()
    return existing or MedicationFactory(
        generic_name=generic_name,
        strength=strength,
        ingredients=[generic_name],
        dose_limit_unit=unit,
        **{name: Decimal(str(value)) for name, value in zip(names, limits, strict=True)},
        **fields,
    )


def acetaminophen() -> Medication:
    return limited("acetaminophen", "325 mg", "mg", 1000, 2000, 3000, 4000)


def warfarin() -> Medication:
    return limited("warfarin", "2.5 mg", "mg", 10, 20, 10, 20)


def new_order(community, medication: Medication, **fields) -> dict:
    return {
        "resident": str(community.resident.public_id),
        "medication": str(medication.public_id),
        "dose_amount": 1,
        "dose_unit": "tablet",
        "route": "oral",
        "frequency": "times_of_day",
        "administration_times": ["08:00"],
        "starts_at": AT.isoformat(),
        "prescriber": "Dr. Ana Ortiz",
        **fields,
    }


def enter(community, medication, **fields):
    return client_for(community.nurse).post(
        URL, new_order(community, medication, **fields), format="json"
    )


# --- 10. Dose ranges, the PRN interval, backdated starts ------------------------------------


def test_it_refuses_warfarin_40_tablets_a_day_past_the_absolute_maximum(community):
    response = enter(community, warfarin(), dose_amount=40, dose_warnings_acknowledged=True)

    assert response.status_code == 400
    assert (
        "40 tablets (100 mg) in one dose is above the maximum of 20 mg"
        in (response.json()["detail"])
    )
    assert not Order.objects.filter(resident=community.resident).exists()


def test_it_refuses_insulin_lispro_400_units(community):
    insulin = limited(
        "insulin lispro", "100 units/mL", "units", 30, 100, 100, 300, form="injection"
    )

    response = enter(community, insulin, dose_amount=400, dose_unit="units", route="subcutaneous")

    assert response.status_code == 400
    assert "400 units in one dose is above the maximum of 100 units" in response.json()["detail"]
    assert not Order.objects.filter(resident=community.resident).exists()


def test_it_refuses_acetaminophen_20_tablets_every_0_minutes_48_times_a_day(community):
    prn = {
        "frequency": "prn",
        "administration_times": [],
        "dose_amount": 20,
        "prn_max_per_24h": 48,
        "indication": "pain",
    }

    no_interval = enter(community, acetaminophen(), prn_min_interval_minutes=0, **prn)
    too_much = enter(community, acetaminophen(), prn_min_interval_minutes=30, **prn)

    assert no_interval.status_code == 400
    assert no_interval.json()["field"] == "prn_min_interval_minutes"
    assert too_much.status_code == 400
    assert (
        "up to 48 times a day (PRN), 312,000 mg a day, is above the maximum of 4,000 mg a day"
        in (too_much.json()["detail"])
    )
    assert not Order.objects.filter(resident=community.resident).exists()


def test_the_database_refuses_a_prn_order_without_a_minimum_interval(community):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(
            resident=community.resident,
            frequency=Order.Frequency.PRN,
            administration_times=[],
            prn_min_interval_minutes=0,
            prn_max_per_24h=4,
        )


def test_a_dose_past_the_usual_range_needs_both_nurses_acknowledgement(community):
    unacknowledged = enter(community, warfarin(), dose_amount=6)
    created = enter(
        community, warfarin(), dose_amount=6, rx_number="RX-6", dose_warnings_acknowledged=True
    )
    verify_url = f"{URL}{created.json()['id']}/verify/"
    verifier = client_for(community.second_nurse)

    unverified = verifier.post(verify_url, {}, format="json")
    verified = verifier.post(verify_url, {"dose_warnings_acknowledged": True}, format="json")

    assert unacknowledged.status_code == 400
    assert unacknowledged.json()["field"] == "dose_warnings_acknowledged"
    assert "above the usual maximum of 10 mg" in unacknowledged.json()["detail"]
    assert created.status_code == 201
    assert unverified.status_code == 400
    assert unverified.json()["field"] == "dose_warnings_acknowledged"
    assert verified.json()["status"] == "active"
    answers = OrderAcknowledgement.objects.filter(kind="dose_range").order_by("id")
    assert [(a.stage, a.acknowledged_by) for a in answers] == [
        ("entry", community.nurse),
        ("verification", community.second_nurse),
    ]


def test_a_start_more_than_a_week_back_needs_a_reason(community):
    started = dt.datetime(2020, 3, 1, 14, 0, tzinfo=dt.UTC).isoformat()

    silent = enter(community, warfarin(), starts_at=started)
    explained = enter(
        community,
        warfarin(),
        starts_at=started,
        start_in_past_reason="Copied from the paper MAR of the hospital",
    )

    assert silent.status_code == 400
    assert silent.json()["field"] == "start_in_past_reason"
    assert "Mar 1, 2020" in silent.json()["detail"]
    assert explained.status_code == 201
    assert OrderAcknowledgement.objects.get(kind="past_start").answer.startswith("Copied")


# --- 16 and 20. Allergies --------------------------------------------------------------------


@pytest.fixture
def penicillin_allergy(community):
    community.resident.allergies.create(allergen="Penicillin", reaction="Hives")
    return MedicationFactory(generic_name="amoxicillin", ingredients=["penicillin", "amoxicillin"])


def test_an_allergy_override_needs_a_real_reason(community, penicillin_allergy):
    dot = enter(community, penicillin_allergy, allergy_override_reason=".")
    coded = enter(community, penicillin_allergy, allergy_override_code="tolerated_before")

    assert dot.status_code == 400
    assert dot.json()["field"] == "allergy_override_reason"
    assert coded.status_code == 201
    assert coded.json()["allergy_override_reason"].startswith("Tolerated before without a reaction")


def test_verification_through_the_api_needs_the_allergy_acknowledged(community, penicillin_allergy):
    created = enter(
        community,
        penicillin_allergy,
        allergy_override_code="other",
        allergy_override_reason="Took amoxicillin in 2024 without any reaction",
    )
    verify_url = f"{URL}{created.json()['id']}/verify/"
    verifier = client_for(community.second_nurse)

    silent = verifier.post(verify_url)
    acknowledged = verifier.post(verify_url, {"allergy_acknowledged": True}, format="json")

    assert silent.status_code == 400
    assert silent.json()["field"] == "allergy_acknowledged"
    assert acknowledged.json()["status"] == "active"
    answer = OrderAcknowledgement.objects.get(kind="allergy", stage="verification")
    assert answer.acknowledged_by == community.second_nurse
    assert answer.acknowledged_at == AT
    assert "Took amoxicillin in 2024" in answer.answer


def prn_of(community, medication) -> Order:
    return stocked_order(
        community,
        medication=medication,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=3,
        indication="Infection",
    )


def give_prn(community, order):
    return client_for(community.tech).post(
        "/api/v1/administrations/",
        {
            "order": str(order.public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
            "prn_reason": "Ordered dose",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"allergy-{Administration.objects.count()}",
    )


def record_allergy(community, allergen: str):
    admin = UserFactory(role="administrator", facility=community.facility)
    return stays.resident_allergy_add(
        resident=community.resident,
        by=admin,
        allergy=resident_services.AllergyInput(allergen, "Rash", "moderate"),
        now=AT,
    )


def test_an_allergy_recorded_later_stops_the_prn_until_a_nurse_reviews_it(community):
    order = prn_of(community, MedicationFactory(generic_name="sulfamethoxazole"))
    record_allergy(community, "Sulfa")
    review_url = f"{URL}{order.public_id}/allergy-review/"

    refused = give_prn(community, order)
    lazy = client_for(community.nurse).post(
        review_url, {"allergy_acknowledged": True, "reason": "."}, format="json"
    )
    reviewed = client_for(community.nurse).post(
        review_url,
        {"allergy_acknowledged": True, "reason_code": "intolerance"},
        format="json",
    )
    given = give_prn(community, order)

    assert refused.status_code == 422
    assert "allergy recorded after this order" in refused.json()["detail"]
    assert Notification.objects.filter(
        kind=Notification.Kind.ALLERGY_CONFLICT, recipient=community.nurse
    ).exists()
    assert lazy.status_code == 400
    assert reviewed.status_code == 200
    assert reviewed.json()["allergy_conflict_at"] is None
    assert given.status_code == 201
    assert OrderAcknowledgement.objects.get(stage="allergy_recorded").acknowledged_by == (
        community.nurse
    )


def test_an_allergy_recorded_later_stops_a_pending_orders_verification(community):
    created = enter(community, MedicationFactory(generic_name="sulfamethoxazole"))
    record_allergy(community, "Sulfa")

    response = client_for(community.second_nurse).post(
        f"{URL}{created.json()['id']}/verify/", {"allergy_acknowledged": True}, format="json"
    )

    assert response.status_code == 400
    assert "review the allergy first" in response.json()["detail"]


# --- 19. Units -------------------------------------------------------------------------------


@pytest.fixture
def tears(community):
    """Eye drops on the cart counted in drops, for an order in drops."""
    medication = MedicationFactory(generic_name="carboxymethylcellulose", form="drops")
    order = OrderFactory(
        resident=community.resident, medication=medication, dose_unit="drop", route="ophthalmic"
    )
    StockItemFactory(
        cart=community.cart,
        resident=community.resident,
        medication=medication,
        order=order,
        unit="drop",
        quantity_on_hand=Decimal("300"),
    )
    return medication


def test_an_order_in_ml_is_refused_at_entry_when_the_stock_is_counted_in_drops(community, tears):
    response = enter(community, tears, dose_amount=2, dose_unit="mL", route="ophthalmic")

    assert response.status_code == 400
    assert "counted in drop" in response.json()["detail"]
    assert "drops per mL" in response.json()["detail"]
    assert not Order.objects.filter(dose_unit="mL").exists()


def ml_prn(community, medication) -> Order:
    return OrderFactory(
        resident=community.resident,
        medication=medication,
        dose_amount=Decimal("2"),
        dose_unit="mL",
        route="ophthalmic",
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=60,
        prn_max_per_24h=4,
        indication="Dry eyes",
    )


def test_charting_2_ml_never_takes_2_drops_from_a_card_counted_in_drops(community, tears):
    order = ml_prn(community, tears)

    response = give_prn(community, order)

    assert response.status_code == 422
    assert "no conversion between them is known" in response.json()["detail"]
    assert StockItem.objects.get(medication=tears).quantity_on_hand == 300


def test_charting_2_ml_takes_40_drops_when_the_product_has_20_drops_per_ml(community, tears):
    Medication.objects.filter(pk=tears.pk).update(drops_per_ml=20)
    order = ml_prn(community, tears)

    response = give_prn(community, order)

    assert response.status_code == 201
    assert StockItem.objects.get(medication=tears).quantity_on_hand == 260
    assert StockTransaction.objects.get(kind="administer").quantity == -40


def test_a_dose_in_mg_takes_tablets_by_the_strength(community):
    order = stocked_order(community, medication=acetaminophen(), dose_amount=650, dose_unit="mg")
    dose = order.doses.order_by("scheduled_at").first()

    response = client_for(community.tech).post(
        "/api/v1/administrations/",
        {
            "scheduled_dose": str(dose.public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="mg-1",
    )

    assert response.status_code == 201
    assert StockTransaction.objects.get(kind="administer").quantity == -2
