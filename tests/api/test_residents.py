"""GET /api/v1/residents/: the caller's communities only, filters, constant queries."""

from residents.models import Allergy
from tests.factories import ResidentFactory, RoomFactory, UnitFactory

URL = "/api/v1/residents/"


def test_it_lists_the_residents_of_the_callers_communities_only(api_as, community, other):
    response = api_as(community.tech).get(URL)

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 1
    resident = body["results"][0]
    assert resident["id"] == str(community.resident.public_id)
    assert resident["cart"] == str(community.cart.public_id)
    assert resident["room"] == community.resident.room.number
    assert resident["facility"] == str(community.facility.public_id)


def test_it_filters_by_facility_unit_status_and_search(api_as, community):
    unit = UnitFactory(facility=community.facility, name="Willow")
    room = RoomFactory(facility=community.facility, unit=unit, number="214")
    willow = ResidentFactory(facility=community.facility, room=room, last_name="Zimmerman")
    client = api_as(community.nurse)

    by_unit = client.get(URL, {"unit": "willow"}).json()
    by_search = client.get(URL, {"search": "zimm"}).json()
    by_room = client.get(URL, {"search": "21"}).json()
    by_facility = client.get(URL, {"facility": str(community.facility.public_id)}).json()
    by_status = client.get(URL, {"status": "discharged"}).json()

    assert [r["id"] for r in by_unit["results"]] == [str(willow.public_id)]
    assert [r["id"] for r in by_search["results"]] == [str(willow.public_id)]
    assert [r["id"] for r in by_room["results"]] == [str(willow.public_id)]
    assert by_facility["count"] == 2
    assert by_status["count"] == 0


def test_a_bad_filter_answers_400_naming_it(api_as, community):
    response = api_as(community.tech).get(URL, {"facility": "not-a-uuid"})

    assert response.status_code == 400
    assert response.json()["field"] == "facility"


def test_one_resident_and_another_communitys_answers_404(api_as, community, other):
    client = api_as(community.tech)
    Allergy.objects.create(resident=community.resident, allergen="Penicillin")

    mine = client.get(f"{URL}{community.resident.public_id}/")
    theirs = client.get(f"{URL}{other.resident.public_id}/")

    assert mine.status_code == 200
    assert mine.json()["allergies"][0]["allergen"] == "Penicillin"
    assert theirs.status_code == 404
    assert theirs.json()["detail"]


def test_the_list_costs_the_same_queries_for_one_resident_or_many(
    api_as, community, django_assert_max_num_queries
):
    client = api_as(community.tech)
    with django_assert_max_num_queries(5) as one:
        client.get(URL)
    for number in range(8):
        resident = ResidentFactory(
            facility=community.facility,
            room=RoomFactory(facility=community.facility, unit=community.cart.unit),
        )
        Allergy.objects.create(resident=resident, allergen=f"Allergen {number}")

    with django_assert_max_num_queries(5) as many:
        response = client.get(URL)

    assert response.json()["count"] == 9
    assert len(many.captured_queries) == len(one.captured_queries)
