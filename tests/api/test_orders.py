"""Orders through the API: nurses enter, a second nurse verifies, nurses hold, resume
and discontinue; med techs and administrators read."""

import pytest

from mar.models import Order
from tests.api.conftest import AT, stocked_order
from tests.factories import MedicationFactory

URL = "/api/v1/orders/"


def new_order(community, **fields) -> dict:
    return {
        "resident": str(community.resident.public_id),
        "medication": str(community.medication.public_id),
        "dose_amount": 1,
        "dose_unit": "tablet",
        "route": "oral",
        "frequency": "times_of_day",
        "administration_times": ["AM", "20:00"],
        "starts_at": AT.isoformat(),
        "prescriber": "Dr. Ana Ortiz",
        "indication": "Hypertension",
        **fields,
    }


def test_a_nurse_enters_an_order_that_waits_for_a_second_nurse(api_as, community):
    created = api_as(community.nurse).post(URL, new_order(community), format="json")
    order_id = created.json()["id"]

    own_check = api_as(community.nurse).post(f"{URL}{order_id}/verify/")
    verified = api_as(community.second_nurse).post(f"{URL}{order_id}/verify/")
    twice = api_as(community.second_nurse).post(f"{URL}{order_id}/verify/")

    assert created.status_code == 201
    assert created.json()["status"] == "pending_verification"
    assert created.json()["medication"]["id"] == str(community.medication.public_id)
    assert own_check.status_code == 403
    assert verified.status_code == 200
    assert verified.json()["status"] == "active"
    assert verified.json()["verified_by"]["id"] == str(community.second_nurse.public_id)
    assert twice.status_code == 409


def test_med_techs_and_administrators_cannot_write_orders(api_as, community, administrator, order):
    for user in (community.tech, administrator):
        client = api_as(user)

        create = client.post(URL, new_order(community), format="json")
        hold = client.post(f"{URL}{order.public_id}/hold/", {"reason": "x"}, format="json")
        listing = client.get(URL)

        assert (create.status_code, hold.status_code, listing.status_code) == (403, 403, 200)
    assert Order.objects.count() == 1


def test_hold_resume_and_discontinue_need_a_nurse_and_a_reason(api_as, community, order):
    client = api_as(community.nurse)
    url = f"{URL}{order.public_id}"

    no_reason = client.post(f"{url}/hold/", {}, format="json")
    held = client.post(f"{url}/hold/", {"reason": "BP low, MD notified"}, format="json")
    resumed = client.post(f"{url}/resume/")
    stopped = client.post(f"{url}/discontinue/", {"reason": "MD order"}, format="json")
    resumed_again = client.post(f"{url}/resume/")

    assert no_reason.status_code == 400
    assert no_reason.json()["field"] == "reason"
    assert (held.json()["status"], held.json()["status_reason"]) == (
        "on_hold",
        "BP low, MD notified",
    )
    assert resumed.json()["status"] == "active"
    assert stopped.json()["status"] == "discontinued"
    assert resumed_again.status_code == 409


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"frequency": "prn"}, "administration_times"),
        ({"frequency": "every_n_hours", "administration_times": [], "interval": 200}, "interval"),
        ({"frequency": "days_of_week"}, "days_of_week"),
        ({"dose_amount": 0}, "dose_amount"),
        ({"ends_at": "2026-11-19T00:00:00Z"}, "ends_at"),
        ({"hold_parameters": [{"vital": "mood", "comparator": "<", "limit": 1}]}, None),
        ({"route": "by magic"}, "route"),
        ({"starts_at": "2026-11-20 08:00"}, "starts_at"),
    ],
)
def test_a_malformed_order_answers_400_naming_the_field(api_as, community, fields, field):
    response = api_as(community.nurse).post(URL, new_order(community) | fields, format="json")

    assert response.status_code == 400
    if field:
        assert response.json()["field"] == field
    else:
        assert response.json()["field"].startswith("hold_parameters.0")


def test_a_schedule_the_engine_cannot_read_answers_400(api_as, community):
    body = new_order(community, administration_times=["Brunch"])

    response = api_as(community.nurse).post(URL, body, format="json")

    assert response.status_code == 400
    assert "Unknown pass time 'Brunch'" in response.json()["detail"]


def test_a_prn_order_with_hold_parameters_is_entered(api_as, community):
    body = new_order(
        community,
        frequency="prn",
        administration_times=[],
        prn_min_interval_minutes=5,
        prn_max_per_24h=3,
        required_vitals=["systolic"],
        hold_parameters=[{"vital": "systolic", "comparator": "<", "limit": 90}],
    )

    response = api_as(community.nurse).post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["hold_parameters"] == [
        {"vital": "systolic", "comparator": "<", "limit": 90.0}
    ]


def test_another_communitys_resident_medication_or_order_answers_404(api_as, community, other):
    foreign_order = stocked_order(other)
    client = api_as(community.nurse)

    resident = client.post(
        URL, new_order(community, resident=str(other.resident.public_id)), format="json"
    )
    medication = client.post(
        URL, new_order(community, medication="8d5f0d0e-0000-4000-8000-000000000000"), format="json"
    )
    detail = client.get(f"{URL}{foreign_order.public_id}/")
    verify = client.post(f"{URL}{foreign_order.public_id}/verify/")

    assert (resident.status_code, resident.json()["field"]) == (404, "resident")
    assert (medication.status_code, medication.json()["field"]) == (404, "medication")
    assert (detail.status_code, verify.status_code) == (404, 404)


def test_it_filters_by_resident_and_status(api_as, community, other):
    active = stocked_order(community)
    stocked_order(community, status=Order.Status.ON_HOLD, status_reason="MD")
    stocked_order(other)
    client = api_as(community.tech)

    mine = client.get(URL, {"resident": str(community.resident.public_id)}).json()
    active_only = client.get(URL, {"status": "active"}).json()

    assert mine["count"] == 2
    assert [row["id"] for row in active_only["results"]] == [str(active.public_id)]


def test_the_list_costs_the_same_queries_for_one_order_or_many(
    api_as, community, django_assert_max_num_queries
):
    stocked_order(community)
    client = api_as(community.tech)
    with django_assert_max_num_queries(6) as one:
        client.get(URL)
    for _ in range(6):
        stocked_order(community, medication=MedicationFactory())

    with django_assert_max_num_queries(6) as many:
        response = client.get(URL)

    assert response.json()["count"] == 7
    assert len(many.captured_queries) == len(one.captured_queries)
