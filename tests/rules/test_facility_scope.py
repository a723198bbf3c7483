"""Facility scope (``medtech.core.scope.scope``): another community's records, a
deactivated cart and a deactivated account are refused the same way through the tablet's
pages, the API and the offline bundle, because all of them narrow through one function."""

import pytest
from django.urls import reverse

from api import selectors as api_selectors
from inventory import selectors as inventory_selectors
from inventory.models import StockItem
from inventory.services import cart_assignment_start
from medtech.core.scope import facility_ids_of, is_member, scope
from residents.models import Resident
from tests.api.conftest import AT, stocked_order


@pytest.fixture(autouse=True)
def on_duty(community):
    """The tech has taken the cart, so the bundle of their own cart is theirs to fetch."""
    return cart_assignment_start(cart=community.cart, user=community.tech, now=AT)


def statuses(user, client, api, *, cart, dose) -> dict[str, int]:
    """The answer of each way in for one cart and one dose (and the dose's resident)."""
    client.force_login(user)
    api_client = api(user)
    resident = dose.resident
    return {
        "page: the cart's pass": client.get(reverse("mar:pass_cart", args=[cart.public_id])),
        "page: the resident's pass": client.get(
            reverse("mar:pass_resident", args=[resident.public_id])
        ),
        "api: the resident": api_client.get(f"/api/v1/residents/{resident.public_id}/"),
        "api: the order": api_client.get(f"/api/v1/orders/{dose.order.public_id}/"),
        "offline: the cart's bundle": api_client.get(f"/api/v1/offline/carts/{cart.public_id}/"),
    }


def codes(answers) -> dict[str, int]:
    return {way: response.status_code for way, response in answers.items()}


def test_its_own_community_answers_every_way_in(client, api_as, community, dose):
    answers = statuses(community.tech, client, api_as, cart=community.cart, dose=dose)

    assert set(codes(answers).values()) == {200}, codes(answers)


def test_another_community_answers_404_every_way_in(client, api_as, community, other, dose):
    foreign_dose = stocked_order(other).doses.order_by("scheduled_at", "id").first()

    answers = statuses(community.tech, client, api_as, cart=other.cart, dose=foreign_dose)

    assert set(codes(answers).values()) == {404}, codes(answers)


def test_a_deactivated_cart_answers_404_on_the_page_the_bundle_and_as_a_transfer_target(
    client, api_as, community, dose
):
    second_cart = type(community.cart).objects.create(
        facility=community.facility, unit=community.cart.unit, name="Cart B", is_active=False
    )
    item = StockItem.objects.get(order=dose.order)
    client.force_login(community.nurse)
    api_client = api_as(community.nurse)

    page = client.get(reverse("mar:pass_cart", args=[second_cart.public_id]))
    bundle = api_client.get(f"/api/v1/offline/carts/{second_cart.public_id}/")
    transfer = api_client.post(
        f"/api/v1/stock/{item.public_id}/transactions/",
        {"kind": "transfer", "quantity": 1, "to_cart": str(second_cart.public_id)},
        format="json",
    )

    assert (page.status_code, bundle.status_code, transfer.status_code) == (404, 404, 404)
    assert StockItem.objects.filter(cart=second_cart).count() == 0


def test_a_deactivated_account_reaches_nothing_any_way_in(client, api_as, community, dose):
    tech = community.tech
    client.force_login(tech)
    api_client = api_as(tech)
    tech.is_active = False
    tech.save(update_fields=["is_active"])

    page = client.get(reverse("mar:pass_cart", args=[community.cart.public_id]))
    api = api_client.get(f"/api/v1/residents/{community.resident.public_id}/")
    bundle = api_client.get(f"/api/v1/offline/carts/{community.cart.public_id}/")

    assert page.status_code == 302
    assert reverse("login") in page["Location"]
    assert (api.status_code, bundle.status_code) == (401, 401)


def test_the_one_function_gives_a_deactivated_account_no_facility_and_no_record(community, dose):
    tech = community.tech
    tech.is_active = False
    tech.save(update_fields=["is_active"])

    assert facility_ids_of(user=tech) == []
    assert not is_member(user=tech, facility_id=community.facility.pk)
    assert not scope(Resident.objects.all(), user=tech).exists()
    assert inventory_selectors.carts_for_user(user=tech) == []
    assert api_selectors.cart_for_user(user=tech, public_id=community.cart.public_id) is None
    assert api_selectors.dose_for_charting(user=tech, public_id=dose.public_id) is None


def test_the_one_function_gives_a_member_their_own_community_only(community, other, dose):
    assert facility_ids_of(user=community.tech) == [community.facility.pk]
    assert is_member(user=community.tech, facility_id=community.facility.pk)
    assert not is_member(user=community.tech, facility_id=other.facility.pk)
    assert list(scope(Resident.objects.all(), user=community.tech)) == [community.resident]
