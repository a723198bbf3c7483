"""The nurse's exceptions: missed, late, refused, held, not available and away doses,
and concern reports; acknowledged with a note, once."""

import datetime as dt

import pytest

from mar.models import ExceptionReview, ScheduledDose
from mar.services import administrations as charting
from mar.services import concerns, reviews
from mar.services.doses import doses_sync_for_order
from residents.models import ConcernReport
from tests.api.conftest import AT, due_dose, stocked_order
from tests.factories import MedicationFactory

URL = "/api/v1/exceptions/"


def chart(community, dose, status, **fields):
    return charting.administration_record(
        user=community.tech,
        idempotency_key=f"key-{dose.pk}-{status}",
        now=fields.pop("now", AT),
        entry=charting.ChartEntry(
            status=status, administered_at=fields.pop("at", AT), scheduled_dose=dose, **fields
        ),
    ).administration


def report(community) -> ConcernReport:
    return concerns.concern_report(
        resident=community.resident,
        user=community.tech,
        kind=ConcernReport.Kind.CHANGE_OF_CONDITION,
        description="New confusion since breakfast",
        observed_at=AT,
        now=AT,
    )


@pytest.fixture
def missed(community) -> ScheduledDose:
    """A daily 06:00 dose: on time 04:00-08:00, late until 10:00, then missed."""
    order = stocked_order(community, administration_times=["06:00"])
    return order.doses.order_by("scheduled_at").first()


def test_it_lists_each_kind_of_exception(api_as, community, clock):
    refused = chart(community, due_dose(stocked_order(community)), "refused")
    held = chart(community, due_dose(stocked_order(community)), "held", reason="BP 92/60")
    late_order = stocked_order(community, administration_times=["05:00"])
    doses_sync_for_order(order=late_order, now=AT - dt.timedelta(hours=3))
    late_dose = late_order.doses.order_by("scheduled_at").first()  # window 03:00-07:00
    late = chart(community, late_dose, "given", at=AT, now=AT)
    concern = report(community)

    response = api_as(community.nurse).get(URL)

    rows = response.json()["results"]
    kinds = {row["id"]: row["kind"] for row in rows}
    assert response.status_code == 200
    assert kinds == {
        str(refused.public_id): "refused",
        str(held.public_id): "held",
        str(late.public_id): "late",
        str(concern.public_id): "concern",
    }
    assert all(row["status"] == "open" for row in rows)
    held_row = next(row for row in rows if row["kind"] == "held")
    assert held_row["summary"].startswith("Held: ")
    assert "BP 92/60" in held_row["summary"]
    assert held_row["subject"] == "administration"


def test_a_dose_never_charted_is_missed_after_its_late_limit(api_as, community, missed, clock):
    client = api_as(community.nurse)

    before = client.get(URL, {"kind": "missed"}).json()
    clock.move_to(missed.window_end + dt.timedelta(hours=2, minutes=1))
    after = client.get(URL, {"kind": "missed"}).json()

    assert before["count"] == 0
    assert [row["id"] for row in after["results"]] == [str(missed.public_id)]
    assert after["results"][0]["scheduled_dose"] == str(missed.public_id)


def test_a_nurse_acknowledges_an_exception_once_with_a_note(api_as, community):
    refused = chart(community, due_dose(stocked_order(community)), "refused")
    client = api_as(community.nurse)
    url = f"{URL}{refused.public_id}/acknowledge/"

    no_note = client.post(url, {}, format="json")
    done = client.post(
        url, {"note": "Offered again at 10:00, taken", "physician_notified": True}, format="json"
    )
    again = client.post(url, {"note": "again"}, format="json")
    still_open = client.get(URL).json()
    acknowledged = client.get(URL, {"status": "acknowledged"}).json()

    assert no_note.status_code == 400
    assert no_note.json()["field"] == "note"
    assert done.status_code == 201
    assert done.json()["status"] == "acknowledged"
    assert done.json()["review"]["physician_notified"] is True
    assert again.status_code == 409
    assert still_open["count"] == 0
    assert acknowledged["count"] == 1
    review = ExceptionReview.objects.get()
    assert (review.kind, review.reviewed_by) == ("refused", community.nurse)


def test_acknowledging_a_concern_closes_it_on_the_concerns_page_too(api_as, community):
    concern = report(community)

    response = api_as(community.nurse).post(
        f"{URL}{concern.public_id}/acknowledge/",
        {"note": "Assessed; vitals normal; called Dr. Ortiz"},
        format="json",
    )

    concern.refresh_from_db()
    assert response.status_code == 201
    assert concern.acknowledged_by == community.nurse
    assert ExceptionReview.objects.get().concern == concern


def test_med_techs_may_not_read_or_acknowledge_and_administrators_only_read(
    api_as, community, administrator
):
    refused = chart(community, due_dose(stocked_order(community)), "refused")
    url = f"{URL}{refused.public_id}/acknowledge/"

    tech_list = api_as(community.tech).get(URL)
    tech_ack = api_as(community.tech).post(url, {"note": "x"}, format="json")
    admin_list = api_as(administrator).get(URL)
    admin_ack = api_as(administrator).post(url, {"note": "x"}, format="json")

    assert (tech_list.status_code, tech_ack.status_code) == (403, 403)
    assert (admin_list.status_code, admin_ack.status_code) == (200, 403)


def test_another_communitys_exceptions_answer_404(api_as, community, other):
    refused = chart(other, due_dose(stocked_order(other)), "refused")
    client = api_as(community.nurse)

    listing = client.get(URL).json()
    acknowledge = client.post(
        f"{URL}{refused.public_id}/acknowledge/", {"note": "x"}, format="json"
    )

    assert listing["count"] == 0
    assert acknowledge.status_code == 404


def test_a_dose_given_on_time_is_no_exception(api_as, community):
    given = chart(community, due_dose(stocked_order(community)), "given")

    response = api_as(community.nurse).post(
        f"{URL}{given.public_id}/acknowledge/", {"note": "x"}, format="json"
    )

    assert response.status_code == 404
    with pytest.raises(reviews.ReviewInvalid, match="not an exception"):
        reviews.exception_acknowledge(user=community.nurse, note="x", now=AT, administration=given)


def test_the_list_costs_the_same_queries_for_few_exceptions_or_many(
    api_as, community, django_assert_max_num_queries
):
    chart(community, due_dose(stocked_order(community)), "refused")
    report(community)
    client = api_as(community.nurse)
    with django_assert_max_num_queries(8) as few:
        client.get(URL)
    for status in ("refused", "held", "not_available", "away", "refused", "held"):
        order = stocked_order(community, medication=MedicationFactory())
        chart(community, due_dose(order), status, reason="r")
        report(community)

    with django_assert_max_num_queries(8) as many:
        response = client.get(URL)

    assert response.json()["count"] == 14
    assert len(many.captured_queries) == len(few.captured_queries)
