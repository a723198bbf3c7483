"""Rule: the allergy check when a nurse verifies an order.

The one function: ``mar.services.orders.order_verify`` (it runs the order's checks again,
``mar.services.order_checks.order_checks``). The nurse's page and the API both verify
through it, so both refuse the same way, with the same words, and store nothing.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mar.models import Order, OrderAcknowledgement
from tests.api.conftest import client_for
from tests.api.test_order_safety import enter, record_allergy
from tests.factories import MedicationFactory
from tests.rules.conftest import page_alert

WAYS = ["page", "api"]


def verify(way: str, community, order: Order, *, acknowledged: bool) -> tuple[int, str]:
    """Verify ``order`` as the second nurse: the status code and what the nurse is told."""
    nurse = community.second_nurse
    if way == "page":
        client = Client()
        client.force_login(nurse)
        form = {"checked_against_prescription": "on"}
        if acknowledged:
            form["allergy_reviewed"] = "on"
        response = client.post(reverse("nurse:order_verify", args=[order.public_id]), form)
        return response.status_code, page_alert(response.text)
    body = {"allergy_acknowledged": True} if acknowledged else {}
    response = client_for(nurse).post(
        f"/api/v1/orders/{order.public_id}/verify/", body, format="json"
    )
    return response.status_code, response.json().get("detail", "")


def entered_with_override(community) -> Order:
    community.resident.allergies.create(allergen="Penicillin", reaction="Hives")
    amoxicillin = MedicationFactory(
        generic_name="amoxicillin", ingredients=["penicillin", "amoxicillin"]
    )
    created = enter(
        community,
        amoxicillin,
        allergy_override_code="other",
        allergy_override_reason="Took amoxicillin in 2024 without any reaction",
    )
    return Order.objects.get(public_id=created.json()["id"])


@pytest.mark.parametrize("way", WAYS)
def test_it_needs_the_verifying_nurse_to_acknowledge_the_allergy_every_way(community, way):
    order = entered_with_override(community)

    status, told = verify(way, community, order, acknowledged=False)

    order.refresh_from_db()
    assert status == 400
    assert "Confirm you reviewed the allergy and the override reason" in told
    assert order.status == Order.Status.PENDING_VERIFICATION
    assert not OrderAcknowledgement.objects.filter(stage="verification").exists()


@pytest.mark.parametrize("way", WAYS)
def test_it_keeps_the_acknowledgement_the_same_way_every_way(community, way):
    order = entered_with_override(community)

    status, _ = verify(way, community, order, acknowledged=True)

    order.refresh_from_db()
    assert status in (200, 302)
    assert order.status == Order.Status.ACTIVE
    answer = OrderAcknowledgement.objects.get(kind="allergy", stage="verification")
    assert answer.acknowledged_by == community.second_nurse


@pytest.mark.parametrize("way", WAYS)
def test_it_stops_verification_when_an_allergy_was_recorded_after_entry_every_way(community, way):
    created = enter(community, MedicationFactory(generic_name="sulfamethoxazole"))
    order = Order.objects.get(public_id=created.json()["id"])
    record_allergy(community, "Sulfa")

    status, told = verify(way, community, order, acknowledged=True)

    order.refresh_from_db()
    assert status == 400
    assert "review the allergy first" in told
    assert order.status == Order.Status.PENDING_VERIFICATION
