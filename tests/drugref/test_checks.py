"""Issue 21's checks on the shipped data, through the nurse's page, the API and the
allergy-added path: class allergies, duplicate therapy and the 4 g acetaminophen day,
interactions, the 14-day PRN psychotropic."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from mar.models import Administration, Order, OrderAcknowledgement
from mar.services import stays
from residents import services as resident_services
from residents.models import Allergy
from tests.api.conftest import AT, client_for, stocked_order
from tests.api.test_order_safety import enter
from tests.drugref.conftest import (
    AMOXICILLIN,
    APAP_500,
    ATIVAN,
    COUMADIN,
    IBUPROFEN,
    NORCO,
    SMX_TMP,
    TYLENOL,
    pick,
)
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"  # the orders, entered through tests.api.test_order_safety.enter
CLASS_ALLERGIES = [
    pytest.param("Penicillin", AMOXICILLIN, "same class (Penicillin-class Antibacterial", id="pcn"),
    pytest.param("Sulfa", SMX_TMP, "same class (Sulfonamide", id="sulfa"),
    pytest.param("Codeine", NORCO, "possible cross-sensitivity", id="codeine"),
]


def page_order(medication) -> dict:
    """The nurse's order form for one tablet at 08:00 daily."""
    return {
        "medication": medication.pk,
        "dose_amount": "1",
        "dose_unit": "tablet",
        "route": "oral",
        "frequency": "times_of_day",
        "administration_times": "08:00",
        "starts_on": AT.date().isoformat(),
        "starts_time": "08:00",
        "prescriber": "Dr. Ana Ortiz",
    }


def prn(**fields) -> dict:
    return {
        "frequency": "prn",
        "administration_times": [],
        "prn_min_interval_minutes": 1,
        "prn_max_per_24h": 6,
        "indication": "Pain",
    } | fields


# --- Class allergies -----------------------------------------------------------------------


@pytest.mark.parametrize(("allergen", "product", "why"), CLASS_ALLERGIES)
def test_the_api_flags_a_class_allergy_and_keeps_the_override(
    reference, community, allergen, product, why
):
    Allergy.objects.create(resident=community.resident, allergen=allergen)
    medication = pick(community.nurse, product)

    refused = enter(community, medication)
    overridden = enter(
        community,
        medication,
        allergy_override_reason="Took it last year without any reaction, prescriber aware",
    )

    assert refused.status_code == 400
    assert refused.json()["field"] == "allergy_override_reason"
    assert overridden.status_code == 201
    answer = OrderAcknowledgement.objects.get(kind="allergy", stage="entry")
    assert why in answer.warning
    assert answer.acknowledged_by == community.nurse
    assert "without any reaction" in answer.answer


@pytest.mark.parametrize(("allergen", "product", "why"), CLASS_ALLERGIES)
def test_the_page_flags_a_class_allergy(reference, client, community, allergen, product, why):
    Allergy.objects.create(resident=community.resident, allergen=allergen)
    medication = pick(community.nurse, product)
    client.force_login(community.nurse)

    response = client.post(
        reverse("nurse:order_new", args=[community.resident.public_id]),
        page_order(medication),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="allergy-flag"' in page
    assert why in page
    assert not Order.objects.filter(resident=community.resident).exists()


@pytest.mark.parametrize(("allergen", "product", "why"), CLASS_ALLERGIES)
def test_an_allergy_added_later_stops_the_matching_order(
    reference, community, allergen, product, why
):
    order = OrderFactory(resident=community.resident, medication=pick(community.nurse, product))
    admin = UserFactory(role="administrator", facility=community.facility)

    stays.resident_allergy_add(  # what the resident's page and the API call
        resident=community.resident,
        by=admin,
        allergy=resident_services.AllergyInput(allergen, "Rash", "moderate"),
        now=AT,
    )

    order.refresh_from_db()
    assert order.allergy_conflict_at == AT


def test_an_unrelated_allergy_does_not_flag(reference, community):
    Allergy.objects.create(resident=community.resident, allergen="Penicillin")

    response = enter(community, pick(community.nurse, IBUPROFEN))

    assert response.status_code == 201


# --- Duplicate therapy and the acetaminophen day -------------------------------------------


def test_a_third_acetaminophen_source_is_flagged_at_entry(reference, community):
    OrderFactory(resident=community.resident, medication=pick(community.nurse, TYLENOL))
    OrderFactory(resident=community.resident, medication=pick(community.nurse, APAP_500), **prn())
    norco = pick(community.nurse, NORCO)

    refused = enter(community, norco, **prn())
    entered = enter(
        community,
        norco,
        **prn(),
        drug_warnings_reason="Prescriber wants both for breakthrough pain",
    )

    assert refused.status_code == 400
    assert refused.json()["field"] == "drug_warnings_reason"
    detail = refused.json()["detail"]
    assert "Duplicate therapy: acetaminophen is also in" in detail
    assert "Tylenol" in detail
    assert "4,000 mg a day" in detail
    assert entered.status_code == 201
    answer = OrderAcknowledgement.objects.get(kind="duplicate")
    assert answer.answer == "Prescriber wants both for breakthrough pain"


def give(community, order, at: dt.datetime):
    return client_for(community.tech).post(
        "/api/v1/administrations/",
        {
            "order": str(order.public_id),
            "status": "given",
            "administered_at": at.isoformat(),
            "prn_reason": "Knee pain",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"apap-{Administration.objects.count()}",
    )


def test_the_charting_service_refuses_the_prn_dose_past_4_g_of_acetaminophen(reference, community):
    apap = stocked_order(
        community,
        medication=pick(community.nurse, APAP_500),
        dose_amount=2,
        **prn(),
    )  # 1,000 mg a dose
    norco = stocked_order(
        community, medication=pick(community.nurse, NORCO), dose_amount=2, **prn()
    )  # 650 mg of acetaminophen a dose
    for minutes in (4, 3, 2):
        assert give(community, apap, AT - dt.timedelta(minutes=minutes)).status_code == 201

    within = give(community, norco, AT - dt.timedelta(minutes=1))  # 3,650 mg
    past = give(community, apap, AT)  # 4,650 mg

    assert within.status_code == 201
    assert past.status_code == 422
    assert "Too much acetaminophen: 3,650 mg given in 24 hours" in past.json()["detail"]
    assert "allowed_at" in past.json()
    assert Administration.objects.filter(order=apap).count() == 3


# --- Interactions ---------------------------------------------------------------------------


def test_warfarin_and_an_nsaid_warn_and_the_verifying_nurse_answers_with_a_reason(
    reference, community
):
    OrderFactory(resident=community.resident, medication=pick(community.nurse, COUMADIN))
    ibuprofen = pick(community.nurse, IBUPROFEN)

    refused = enter(community, ibuprofen)
    entered = enter(community, ibuprofen, drug_warnings_reason="Short course, INR checked weekly")
    verify_url = f"{URL}{entered.json()['id']}/verify/"
    silent = client_for(community.second_nurse).post(verify_url, {}, format="json")
    verified = client_for(community.second_nurse).post(
        verify_url, {"drug_warnings_reason": "Prescriber confirmed, INR on Friday"}, format="json"
    )

    assert refused.status_code == 400
    assert "Warfarin + NSAIDs (bleeding)" in refused.json()["detail"]
    assert "Beers Criteria" in refused.json()["detail"]
    assert silent.status_code == 400
    assert silent.json()["field"] == "drug_warnings_reason"
    assert verified.status_code == 200
    answer = OrderAcknowledgement.objects.get(kind="interaction", stage="verification")
    assert answer.acknowledged_by == community.second_nurse
    assert answer.answer == "Prescriber confirmed, INR on Friday"


# --- Psychotropics --------------------------------------------------------------------------


def test_a_prn_lorazepam_order_ends_after_14_days(reference, community):
    response = enter(community, pick(community.nurse, ATIVAN), **prn(indication="Anxiety"))

    assert response.status_code == 201
    order = Order.objects.get(public_id=response.json()["id"])
    assert order.ends_at == order.starts_at + dt.timedelta(days=14)
    answer = OrderAcknowledgement.objects.get(kind="psychotropic")
    assert "CMS F758" in answer.warning


def test_a_documented_rationale_keeps_a_longer_prn_psychotropic(reference, community):
    ends = AT + dt.timedelta(days=30)

    response = enter(
        community,
        pick(community.nurse, ATIVAN),
        **prn(indication="Anxiety"),
        ends_at=ends.isoformat(),
        psychotropic_rationale="Hospice comfort care, reviewed monthly by Dr. Ortiz",
    )

    assert response.status_code == 201
    assert Order.objects.get(public_id=response.json()["id"]).ends_at == ends


def test_the_nurses_are_reminded_2_days_before_and_the_review_lists_it(
    reference, client, community, clock
):
    from mar.models import Notification
    from mar.services.drug_reference import reminders_psychotropic_prn_ending

    response = enter(community, pick(community.nurse, ATIVAN), **prn(indication="Anxiety"))
    order = Order.objects.get(public_id=response.json()["id"])

    early = reminders_psychotropic_prn_ending(now=order.ends_at - dt.timedelta(days=3))
    due = reminders_psychotropic_prn_ending(now=order.ends_at - dt.timedelta(days=2))
    again = reminders_psychotropic_prn_ending(now=order.ends_at - dt.timedelta(days=1))
    clock.move_to(order.ends_at - dt.timedelta(days=1))
    client.force_login(community.nurse)
    review = client.get(reverse("nurse:review"))

    assert (early, due, again) == (0, 1, 1)
    reminders = Notification.objects.filter(kind="psychotropic_ending")
    assert {n.recipient for n in reminders} == {community.nurse, community.second_nurse}
    assert reminders.count() == 2  # once per nurse, however often the job runs
    assert review.status_code == 200
    assert 'data-testid="psychotropics-ending"' in review.content.decode()


def test_the_reports_count_alerts_and_overrides_per_month(reference, client, community):
    OrderFactory(resident=community.resident, medication=pick(community.nurse, COUMADIN))
    Allergy.objects.create(resident=community.resident, allergen="Penicillin")
    enter(
        community, pick(community.nurse, IBUPROFEN), drug_warnings_reason="Short course, INR weekly"
    )
    enter(
        community,
        pick(community.nurse, AMOXICILLIN),
        allergy_override_reason="Took amoxicillin in 2024 without any reaction",
    )
    client.force_login(community.nurse)

    page = client.get(reverse("nurse:reports"))

    assert page.status_code == 200
    table = page.content.decode().split('data-testid="drug-alerts"')[1]
    assert "Drug interaction" in table
    assert "Allergy" in table
    assert AT.strftime("%b %Y") in table


def test_the_page_shows_an_interaction_and_takes_the_reason(reference, client, community):
    OrderFactory(resident=community.resident, medication=pick(community.nurse, COUMADIN))
    ibuprofen = pick(community.nurse, IBUPROFEN)
    client.force_login(community.nurse)
    url = reverse("nurse:order_new", args=[community.resident.public_id])
    form = page_order(ibuprofen)

    refused = client.post(url, form)
    entered = client.post(url, form | {"drug_warnings_reason": "Prescriber aware, INR weekly"})

    assert refused.status_code == 400
    assert 'data-testid="interaction-warning"' in refused.content.decode()
    assert "Warfarin + NSAIDs" in refused.content.decode()
    assert "FDA NDC Directory, April 2019" in refused.content.decode()
    assert entered.status_code == 302
    assert OrderAcknowledgement.objects.get(kind="interaction").answer == (
        "Prescriber aware, INR weekly"
    )
