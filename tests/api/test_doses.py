"""GET /api/v1/doses/: scheduled doses with their state now, by cart, resident, state
and time."""

import datetime as dt

from mar.services import administrations as charting
from tests.api.conftest import AT, due_dose, stocked_order
from tests.factories import MedicationFactory, ResidentFactory, RoomFactory

URL = "/api/v1/doses/"


def test_each_dose_says_its_state_and_when_charted_its_record(api_as, community, order):
    morning, evening = order.doses.order_by("scheduled_at")[:2]
    record = charting.administration_record(
        user=community.tech,
        idempotency_key="k",
        now=AT,
        entry=charting.ChartEntry(status="given", administered_at=AT, scheduled_dose=morning),
    ).administration

    response = api_as(community.tech).get(URL, {"cart": str(community.cart.public_id)})

    rows = {row["id"]: row for row in response.json()["results"]}
    assert response.status_code == 200
    charted = rows[str(morning.public_id)]
    assert charted["status"] == "charted"
    assert charted["administration"]["id"] == str(record.public_id)
    assert charted["window_start"] == "2026-11-20T13:00:00Z"
    assert charted["order"] == str(order.public_id)
    assert charted["resident"] == str(community.resident.public_id)
    assert rows[str(evening.public_id)]["status"] == "upcoming"
    assert rows[str(evening.public_id)]["administration"] is None


def test_it_filters_by_state_and_time(api_as, community, order):
    client = api_as(community.tech)

    due = client.get(URL, {"status": "due"}).json()
    tonight = client.get(
        URL, {"from": "2026-11-20T18:00:00-06:00", "to": "2026-11-21T00:00:00-06:00"}
    ).json()

    assert [row["id"] for row in due["results"]] == [str(due_dose(order).public_id)]
    assert [row["scheduled_at"] for row in tonight["results"]] == ["2026-11-21T02:00:00Z"]


def test_a_late_dose_is_late_and_then_missed(api_as, community, order, clock):
    client = api_as(community.tech)
    dose = due_dose(order)

    clock.move_to(dose.window_end + dt.timedelta(minutes=1))
    late = client.get(URL, {"status": "late"}).json()
    clock.move_to(dose.window_end + dt.timedelta(hours=2, minutes=1))
    missed = client.get(URL, {"status": "missed"}).json()

    assert [row["id"] for row in late["results"]] == [str(dose.public_id)]
    assert [row["id"] for row in missed["results"]] == [str(dose.public_id)]


def test_filters_are_checked(api_as, community):
    client = api_as(community.tech)

    bad_state = client.get(URL, {"status": "overdue"})
    naive = client.get(URL, {"from": "2026-11-20T08:00:00"})
    backwards = client.get(URL, {"from": "2026-11-21T08:00:00Z", "to": "2026-11-20T08:00:00Z"})
    blank = client.get(URL, {"to": ""})

    assert (bad_state.status_code, bad_state.json()["field"]) == (400, "status")
    assert (naive.status_code, naive.json()["field"]) == (400, "from")
    assert (backwards.status_code, backwards.json()["count"]) == (200, 0)
    assert (blank.status_code, blank.json()["field"]) == (400, "to")


def test_another_communitys_doses_are_not_listed(api_as, community, other):
    stocked_order(other)

    response = api_as(community.tech).get(URL, {"cart": str(other.cart.public_id)})

    assert response.json()["count"] == 0


def test_the_cart_list_costs_the_same_queries_for_one_resident_or_many(
    api_as, community, django_assert_max_num_queries
):
    stocked_order(community)
    client = api_as(community.tech)
    params = {"cart": str(community.cart.public_id)}
    with django_assert_max_num_queries(6) as one:
        client.get(URL, params)
    for _ in range(5):
        community.resident = ResidentFactory(
            facility=community.facility,
            room=RoomFactory(
                facility=community.facility, unit=community.cart.unit, cart=community.cart
            ),
        )
        order = stocked_order(community, medication=MedicationFactory())
        charting.administration_record(
            user=community.tech,
            idempotency_key=f"k{order.pk}",
            now=AT,
            entry=charting.ChartEntry(
                status="refused", administered_at=AT, scheduled_dose=due_dose(order)
            ),
        )

    with django_assert_max_num_queries(6) as many:
        response = client.get(URL, params)

    assert response.json()["count"] > 10
    assert len(many.captured_queries) == len(one.captured_queries)
