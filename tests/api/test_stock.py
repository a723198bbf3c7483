"""Stock on the carts, and its movements through the inventory services."""

from decimal import Decimal

import pytest

from inventory.models import StockItem, StockTransaction
from tests.api.conftest import stocked_order
from tests.factories import DEMO_PASSWORD, MedCartFactory, MedicationFactory

URL = "/api/v1/stock/"


@pytest.fixture
def item(community, order) -> StockItem:
    return StockItem.objects.get(order=order)


def move(client, item, **body):
    return client.post(f"{URL}{item.public_id}/transactions/", body, format="json")


def test_it_lists_the_stock_of_the_callers_carts(api_as, community, other, item):
    stocked_order(other)

    response = api_as(community.tech).get(URL, {"cart": str(community.cart.public_id)})

    rows = response.json()["results"]
    assert response.status_code == 200
    assert [row["id"] for row in rows] == [str(item.public_id)]
    assert rows[0]["quantity"] == 30
    assert rows[0]["medication"]["id"] == str(item.medication.public_id)
    assert {"resident", "order", "unit", "expires_on"} <= set(rows[0])


def test_a_med_tech_wastes_with_a_reason_and_the_ledger_keeps_the_balance(api_as, community, item):
    client = api_as(community.tech)

    no_reason = move(client, item, kind="waste", quantity=1)
    wasted = move(client, item, kind="waste", quantity=1, reason="Dropped on the floor")

    assert (no_reason.status_code, no_reason.json()["field"]) == (400, "reason")
    assert wasted.status_code == 201
    assert wasted.json()["kind"] == "waste"
    assert (wasted.json()["quantity"], wasted.json()["balance_after"]) == (-1, 29)
    item.refresh_from_db()
    assert item.quantity_on_hand == 29


def test_adjust_and_return_are_for_nurses(api_as, community, item):
    tech, nurse = api_as(community.tech), api_as(community.nurse)

    refused = move(tech, item, kind="adjust", counted=28, reason="Recount")
    adjusted = move(nurse, item, kind="adjust", counted=28, reason="Recount at shift change")
    returned = move(nurse, item, kind="return", reason="Order discontinued")

    assert refused.status_code == 403
    assert adjusted.json()["quantity"] == -2
    assert (returned.status_code, returned.json()["balance_after"]) == (201, 0)


def test_a_controlled_substance_needs_a_witness_who_signs(api_as, community):
    order = stocked_order(community, medication=MedicationFactory(dea_schedule="IV"))
    item = StockItem.objects.get(order=order)
    client = api_as(community.tech)
    witness = str(community.nurse.public_id)

    alone = move(client, item, kind="waste", quantity=1, reason="Refused after prepared")
    unsigned = move(
        client, item, kind="waste", quantity=1, reason="Refused", witness=witness,
        witness_secret="wrong-password",
    )  # fmt: skip
    signed = move(
        client, item, kind="waste", quantity=1, reason="Refused", witness=witness,
        witness_secret=DEMO_PASSWORD,
    )  # fmt: skip

    assert (alone.status_code, alone.json()["field"]) == (400, "witness")
    assert (unsigned.status_code, unsigned.json()["field"]) == (400, "witness_secret")
    assert signed.status_code == 201
    assert signed.json()["witness"]["id"] == witness


def test_more_than_is_on_hand_answers_422(api_as, community, item):
    response = move(api_as(community.tech), item, kind="waste", quantity=31, reason="x")

    assert response.status_code == 422
    assert "on hand" in response.json()["detail"]


def test_a_nurse_transfers_stock_to_another_cart(api_as, community, item):
    second_cart = MedCartFactory(facility=community.facility)

    response = move(
        api_as(community.nurse),
        item,
        kind="transfer",
        quantity=10,
        to_cart=str(second_cart.public_id),
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "transfer_out"
    assert StockItem.objects.get(cart=second_cart).quantity_on_hand == Decimal("10")


def test_another_communitys_stock_cart_or_witness_answers_404(api_as, community, other, item):
    foreign = StockItem.objects.get(order=stocked_order(other))
    client = api_as(community.nurse)

    detail = client.get(f"{URL}{foreign.public_id}/")
    moved = move(client, foreign, kind="waste", quantity=1, reason="x")
    to_foreign_cart = move(client, item, kind="transfer", to_cart=str(other.cart.public_id))
    foreign_witness = move(
        client, item, kind="waste", quantity=1, reason="x", witness=str(other.nurse.public_id)
    )

    assert (detail.status_code, moved.status_code) == (404, 404)
    assert (to_foreign_cart.status_code, to_foreign_cart.json()["field"]) == (404, "to_cart")
    assert (foreign_witness.status_code, foreign_witness.json()["field"]) == (404, "witness")
    assert StockTransaction.objects.filter(kind="waste").count() == 0


def test_the_list_costs_the_same_queries_for_one_item_or_many(
    api_as, community, django_assert_max_num_queries
):
    stocked_order(community)
    client = api_as(community.tech)
    with django_assert_max_num_queries(4) as one:
        client.get(URL)
    for _ in range(6):
        stocked_order(community, medication=MedicationFactory())

    with django_assert_max_num_queries(4) as many:
        response = client.get(URL)

    assert response.json()["count"] == 7
    assert len(many.captured_queries) == len(one.captured_queries)
