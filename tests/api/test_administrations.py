"""POST /api/v1/administrations/: idempotent charting with every gate of the med pass,
and the records' amendments and PRN follow-ups."""

import datetime as dt
import uuid

import pytest

from inventory.models import StockItem
from mar.models import Administration, Amendment, ScheduledDose
from mar.services import administrations as charting
from tests.api.conftest import AT, due_dose, prn_order, stocked_order
from tests.factories import CertificationFactory, UserFactory

URL = "/api/v1/administrations/"
MINUTE = dt.timedelta(minutes=1)


def given(dose, **fields) -> dict:
    return {
        "scheduled_dose": str(dose.public_id),
        "status": "given",
        "administered_at": AT.isoformat(),
        **fields,
    }


def post(client, body: dict, key: str | None = "tablet-1:0001"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, body, format="json", **headers)


def test_it_charts_a_dose_and_answers_201_with_the_record(api_as, community, dose):
    response = post(api_as(community.tech), given(dose))

    body = response.json()
    assert response.status_code == 201
    assert body["scheduled_dose"] == str(dose.public_id)
    assert body["status"] == "given"
    assert body["administered_by"]["initials"] == community.tech.initials
    assert body["administered_at"] == "2026-11-20T13:30:00Z"
    assert body["is_late_entry"] is False
    assert body["amendments"] == []
    assert {"id", "order", "resident", "documented_at"} <= set(body)
    assert StockItem.objects.get().quantity_on_hand == 29


def test_a_retry_with_the_same_key_and_body_answers_200_with_the_same_record(
    api_as, community, dose
):
    client = api_as(community.tech)
    first = post(client, given(dose))

    again = post(client, given(dose))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Administration.objects.count() == 1
    assert StockItem.objects.get().quantity_on_hand == 29


def test_the_same_key_with_another_body_answers_422(api_as, community, dose):
    client = api_as(community.tech)
    post(client, given(dose))

    response = post(client, given(dose, status="refused"))

    assert response.status_code == 422
    assert "idempotency key" in response.json()["detail"]


def test_another_users_same_key_is_another_request(api_as, community, dose):
    post(api_as(community.tech), given(dose), key="shared-key")
    colleague = UserFactory(facility=community.facility, initials="JD")
    CertificationFactory(user=colleague)
    prn = prn_order(community)

    response = post(
        api_as(colleague),
        {
            "order": str(prn.public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
            "prn_reason": "Knee pain",
        },
        key="shared-key",
    )

    assert response.status_code == 201
    assert response.json()["administered_by"]["id"] == str(colleague.public_id)
    assert Administration.objects.filter(idempotency_key="shared-key").count() == 2


def test_a_dose_already_charted_answers_409_with_the_existing_record(api_as, community, dose):
    first = post(api_as(community.tech), given(dose)).json()
    colleague = UserFactory(facility=community.facility, initials="JD")
    CertificationFactory(user=colleague)

    response = post(api_as(colleague), given(dose), key="tablet-2:0001")

    body = response.json()
    assert response.status_code == 409
    assert body["detail"].startswith("Already charted by")
    assert body["existing"]["id"] == first["id"]
    assert body["existing"]["status"] == "given"
    assert body["existing"]["administered_by"]["id"] == str(community.tech.public_id)
    assert body["existing"]["administered_at"] == "2026-11-20T13:30:00Z"


def test_a_dose_of_another_community_answers_404(api_as, community, other):
    foreign = due_dose(stocked_order(other))

    response = post(api_as(community.tech), given(foreign))

    assert response.status_code == 404
    assert response.json()["field"] == "scheduled_dose"
    assert not Administration.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "given", "administered_at": "2026-11-20T07:30:00"}, "administered_at"),
        ({"status": "sideways"}, "status"),
        ({"vitals": {"pulse": 720}}, "vitals.pulse"),
        ({"vitals": {"mood": 3}}, "vitals.mood"),
        ({"status": "held"}, "reason"),
        ({"status": "other"}, "note"),
        ({"order": str(uuid.uuid4())}, "scheduled_dose"),
    ],
)
def test_bad_input_answers_400_naming_the_field(api_as, community, dose, body, field):
    response = post(api_as(community.tech), given(dose) | body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["detail"]


def test_it_needs_an_idempotency_key(api_as, community, dose):
    response = post(api_as(community.tech), given(dose), key=None)

    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"


def test_it_answers_401_without_credentials_and_403_to_an_administrator(
    client, api_as, administrator, dose
):
    anonymous = client.post(URL, given(dose), content_type="application/json")
    admin = post(api_as(administrator), given(dose))

    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert admin.status_code == 403
    assert "Only med techs and nurses" in admin.json()["detail"]


def test_an_expired_certification_answers_403_saying_why(api_as, community, dose):
    community.tech.certifications.update(expires_on=dt.date(2026, 11, 19))

    response = post(api_as(community.tech), given(dose))

    assert response.status_code == 403
    assert "expired on Nov 19, 2026" in response.json()["detail"]


def test_a_refusal_by_a_rule_answers_422(api_as, community, order):
    evening = order.doses.order_by("scheduled_at")[1]  # 20:00, window opens at 19:00

    response = post(api_as(community.tech), given(evening))

    assert response.status_code == 422
    assert "window opens at 19:00" in response.json()["detail"]


def test_a_hold_parameter_answers_422_with_the_reasons(api_as, community):
    order = stocked_order(
        community,
        required_vitals=["systolic"],
        hold_parameters=[{"vital": "systolic", "comparator": "<", "limit": 100}],
    )

    response = post(
        api_as(community.tech), given(due_dose(order), vitals={"systolic": 92, "diastolic": 60})
    )

    assert response.status_code == 422
    assert response.json()["reasons"] == ["systolic 92 < 100: hold"]


def test_a_prn_dose_is_charted_by_its_order_and_its_limit_says_when(api_as, community):
    prn = prn_order(community)
    client = api_as(community.tech)
    body = {
        "order": str(prn.public_id),
        "status": "given",
        "administered_at": AT.isoformat(),
        "prn_reason": "Knee pain 6/10",
    }

    first = post(client, body, key="prn-1")
    second = post(client, body | {"administered_at": (AT + MINUTE).isoformat()}, key="prn-2")

    assert first.status_code == 201
    assert first.json()["scheduled_dose"] is None
    assert second.status_code == 422
    assert second.json()["allowed_at"] == "2026-11-20T17:30:00Z"


def test_a_nurse_amends_a_record_keeping_the_old_value(api_as, community, dose):
    record = post(api_as(community.tech), given(dose, note="Took with juice")).json()

    response = api_as(community.nurse).post(
        f"{URL}{record['id']}/amendments/",
        {"field": "note", "new_value": "Took with water", "reason": "Wrong drink noted"},
        format="json",
    )
    detail = api_as(community.nurse).get(f"{URL}{record['id']}/").json()

    assert response.status_code == 201
    assert response.json()["old_value"] == "Took with juice"
    assert detail["note"] == "Took with juice"
    assert detail["amendments"][0]["new_value"] == "Took with water"
    assert detail["amendments"][0]["amended_by"]["id"] == str(community.nurse.public_id)


def test_a_med_tech_cannot_amend_but_may_undo_their_own_entry_at_once(api_as, community, dose):
    client = api_as(community.tech)
    record = post(client, given(dose)).json()
    url = f"{URL}{record['id']}/amendments/"

    amend = client.post(url, {"field": "note", "new_value": "x", "reason": "y"}, format="json")
    undo = client.post(
        url, {"field": "entered_in_error", "reason": "Wrong resident"}, format="json"
    )

    assert amend.status_code == 403
    assert undo.status_code == 201
    assert ScheduledDose.objects.get(pk=dose.pk).status == ScheduledDose.Status.PENDING
    assert Administration.objects.get().is_entered_in_error


def test_an_amendment_between_given_and_not_given_is_refused(api_as, community, dose):
    record = post(api_as(community.tech), given(dose)).json()

    response = api_as(community.nurse).post(
        f"{URL}{record['id']}/amendments/",
        {"field": "status", "new_value": "refused", "reason": "Spat it out"},
        format="json",
    )

    assert response.status_code == 400
    assert "entered in error" in response.json()["detail"]
    assert not Amendment.objects.exists()


def test_the_amend_service_keeps_a_chain_of_old_and_new_values(community, dose):
    record = charting.administration_record(
        user=community.tech,
        idempotency_key="k",
        now=AT,
        entry=charting.ChartEntry(status="refused", administered_at=AT, scheduled_dose=dose),
    ).administration

    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="status",
        new_value="held",
        reason="Was held for BP",
        now=AT,
    )
    second = charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="status",
        new_value="not_available",
        reason="Pharmacy had not delivered",
        now=AT + MINUTE,
    )

    record.refresh_from_db()
    assert (second.old_value, second.new_value) == ("held", "not_available")
    assert record.status == "refused"
    with pytest.raises(charting.ChartingInvalid, match="already the recorded value"):
        charting.administration_amend(
            administration=record,
            user=community.nurse,
            field="status",
            new_value="not_available",
            reason="again",
            now=AT + 2 * MINUTE,
        )


def test_the_prn_follow_up_is_recorded_once(api_as, community):
    prn = prn_order(community)
    client = api_as(community.tech)
    body = {
        "order": str(prn.public_id),
        "status": "given",
        "administered_at": AT.isoformat(),
        "prn_reason": "Pain",
    }
    record = post(client, body).json()
    url = f"{URL}{record['id']}/effectiveness/"

    first = client.post(url, {"result": "effective"}, format="json")
    again = client.post(url, {"result": "effective"}, format="json")

    assert first.status_code == 201
    assert first.json()["result"] == "effective"
    assert again.status_code == 400
    assert "already charted" in again.json()["detail"]


def test_records_of_another_community_answer_404(api_as, community, other, dose):
    record = post(api_as(community.tech), given(dose)).json()
    stranger = api_as(other.nurse)

    detail = stranger.get(f"{URL}{record['id']}/")
    amend = stranger.post(
        f"{URL}{record['id']}/amendments/",
        {"field": "note", "new_value": "x", "reason": "y"},
        format="json",
    )
    listing = stranger.get(URL)

    assert (detail.status_code, amend.status_code) == (404, 404)
    assert listing.json()["count"] == 0


def test_the_list_costs_the_same_queries_for_one_record_or_many(
    api_as, community, django_assert_max_num_queries
):
    client = api_as(community.tech)
    for number in range(6):
        order = stocked_order(community)
        post(client, given(due_dose(order)), key=f"k-{number}")
        if number == 0:
            with django_assert_max_num_queries(7) as one:
                client.get(URL)

    with django_assert_max_num_queries(7) as many:
        response = client.get(URL)

    assert response.json()["count"] == 6
    assert len(many.captured_queries) == len(one.captured_queries)
