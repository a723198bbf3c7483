"""Read-only HL7 FHIR R4 under /fhir/r4/. Every resource the endpoints answer is parsed by
the ``fhir.resources`` R4B models (a wrong field, type or cardinality fails)."""

import datetime as dt

import pytest
from fhir.resources.R4B import get_fhir_model_class

from mar.models import Order
from mar.services import administrations as charting
from tests.api.conftest import AT, due_dose, prn_order, stocked_order
from tests.factories import MedicationFactory

BASE = "/fhir/r4"
FHIR_JSON = "application/fhir+json; charset=utf-8"


def validated(resource: dict) -> dict:
    """The resource, after its R4B model (and those of a Bundle's entries) accepted it."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        validated(entry["resource"])
    return resource


def fhir_get(client, path: str, **params) -> tuple[int, dict]:
    response = client.get(f"{BASE}/{path}", params)
    assert response["Content-Type"] == FHIR_JSON
    return response.status_code, validated(response.json())


def chart(community, dose=None, status="given", **fields):
    return charting.administration_record(
        user=community.tech,
        idempotency_key=f"k-{dose.pk if dose else 'prn'}-{status}",
        now=AT,
        entry=charting.ChartEntry(
            status=status, administered_at=fields.pop("at", AT), scheduled_dose=dose, **fields
        ),
    ).administration


def test_a_patient_is_the_resident_under_the_api_id(api_as, community):
    community.resident.preferred_name = "Dot"
    community.resident.save()

    status, patient = fhir_get(api_as(community.tech), f"Patient/{community.resident.public_id}")

    assert status == 200
    assert patient["id"] == str(community.resident.public_id)
    assert patient["name"][0]["family"] == community.resident.last_name
    assert patient["name"][1] == {"use": "nickname", "given": ["Dot"]}
    assert patient["birthDate"] == "1940-05-17"
    assert patient["active"] is True


def test_a_medication_request_carries_its_status_dose_route_and_timing(api_as, community):
    order = stocked_order(
        community,
        medication=MedicationFactory(ndc="00310013010"),
        administration_times=["AM", "20:00"],
        rx_number="4100123",
    )
    Order.objects.filter(pk=order.pk).update(status=Order.Status.ON_HOLD, status_reason="BP low")

    status, request = fhir_get(api_as(community.nurse), f"MedicationRequest/{order.public_id}")

    dosage = request["dosageInstruction"][0]
    assert status == 200
    assert (request["status"], request["intent"]) == ("on-hold", "order")
    assert request["statusReason"] == {"text": "BP low"}
    assert request["subject"]["reference"] == f"Patient/{community.resident.public_id}"
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "00310013010"
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 1, "unit": "tablet"}
    assert dosage["timing"]["repeat"]["timeOfDay"] == ["08:00:00", "20:00:00"]
    assert request["identifier"][0]["value"] == "4100123"


def test_a_prn_request_says_as_needed_and_its_daily_maximum(api_as, community):
    order = prn_order(community)

    _, request = fhir_get(api_as(community.nurse), f"MedicationRequest/{order.public_id}")

    dosage = request["dosageInstruction"][0]
    assert dosage["asNeededCodeableConcept"] == {"text": "Knee pain"}
    assert dosage["maxDosePerPeriod"]["numerator"] == {"value": 3, "unit": "tablet"}


@pytest.mark.parametrize(
    ("order_status", "fhir_status"),
    [
        (Order.Status.PENDING_VERIFICATION, "draft"),
        (Order.Status.ACTIVE, "active"),
        (Order.Status.DISCONTINUED, "stopped"),
    ],
)
def test_order_statuses_map_to_fhir(api_as, community, order, order_status, fhir_status):
    Order.objects.filter(pk=order.pk).update(status=order_status, status_reason="MD order")

    _, request = fhir_get(api_as(community.nurse), f"MedicationRequest/{order.public_id}")

    assert request["status"] == fhir_status


def test_medication_requests_are_searched_by_patient_in_a_searchset_bundle(
    api_as, community, other
):
    first, second = stocked_order(community), prn_order(community)
    stocked_order(other)

    status, bundle = fhir_get(
        api_as(community.tech),
        "MedicationRequest",
        patient=f"Patient/{community.resident.public_id}",
    )

    assert status == 200
    assert (bundle["type"], bundle["total"]) == ("searchset", 2)
    assert [entry["resource"]["id"] for entry in bundle["entry"]] == [
        str(first.public_id),
        str(second.public_id),
    ]
    assert bundle["entry"][0]["fullUrl"] == (
        f"http://testserver{BASE}/MedicationRequest/{first.public_id}"
    )
    assert bundle["entry"][0]["search"] == {"mode": "match"}


def test_administrations_map_given_not_given_and_entered_in_error(api_as, community):
    given = chart(community, due_dose(stocked_order(community)))
    refused = chart(community, due_dose(stocked_order(community)), "refused", reason="Nauseous")
    undone = chart(community, due_dose(stocked_order(community)))
    charting.administration_mark_entered_in_error(
        administration=undone, user=community.tech, reason="Wrong resident", now=AT
    )
    client = api_as(community.nurse)

    _, completed = fhir_get(client, f"MedicationAdministration/{given.public_id}")
    _, not_done = fhir_get(client, f"MedicationAdministration/{refused.public_id}")
    _, in_error = fhir_get(client, f"MedicationAdministration/{undone.public_id}")

    assert completed["status"] == "completed"
    assert completed["dosage"]["dose"] == {"value": 1, "unit": "tablet"}
    assert completed["dosage"]["route"]["text"] == "By mouth (PO)"
    assert completed["performer"][0]["actor"]["identifier"]["value"] == str(
        community.tech.public_id
    )
    assert completed["request"] == {"reference": f"MedicationRequest/{given.order.public_id}"}
    assert completed["effectiveDateTime"] == "2026-11-20T13:30:00Z"
    assert not_done["status"] == "not-done"
    assert not_done["statusReason"][0]["coding"][0]["code"] == "refused"
    assert not_done["statusReason"][0]["text"] == "Refused: Nauseous"
    assert "dosage" not in not_done
    assert in_error["status"] == "entered-in-error"


def test_an_amended_record_reads_as_amended(api_as, community):
    record = chart(community, due_dose(stocked_order(community)), "refused")
    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="status",
        new_value="held",
        reason="Held for BP, charted wrong",
        now=AT,
    )

    _, resource = fhir_get(api_as(community.nurse), f"MedicationAdministration/{record.public_id}")

    assert resource["statusReason"][0]["coding"][0]["code"] == "held"


def test_administrations_are_searched_by_patient_and_effective_time(api_as, community):
    order = stocked_order(community)
    today = chart(community, due_dose(order))
    yesterday = chart(
        community,
        order=prn_order(community),
        at=AT - dt.timedelta(hours=20),
        prn_reason="Pain",
        note="Charted late: tablet was down",
    )
    client = api_as(community.nurse)
    patient = str(community.resident.public_id)

    _, from_today = fhir_get(
        client, "MedicationAdministration", patient=patient, **{"effective-time": "ge2026-11-20"}
    )
    _, before_today = fhir_get(
        client, "MedicationAdministration", patient=patient, **{"effective-time": "lt2026-11-20"}
    )
    _, everything = fhir_get(client, "MedicationAdministration", patient=patient)

    assert [e["resource"]["id"] for e in from_today["entry"]] == [str(today.public_id)]
    assert [e["resource"]["id"] for e in before_today["entry"]] == [str(yesterday.public_id)]
    assert everything["total"] == 2


def test_a_search_is_paged_with_count_and_offset(api_as, community):
    for _ in range(3):
        stocked_order(community)
    client = api_as(community.nurse)

    _, page = fhir_get(client, "MedicationRequest", _count="2")
    _, rest = fhir_get(client, "MedicationRequest", _count="2", _offset="2")

    assert (page["total"], len(page["entry"]), len(rest["entry"])) == (3, 2, 1)
    assert [link["relation"] for link in page["link"]] == ["self", "next"]
    assert "_offset=2" in page["link"][1]["url"]


def test_errors_are_operation_outcomes(api_as, client, community, other):
    tech = api_as(community.tech)

    cases = {
        "foreign": fhir_get(tech, f"Patient/{other.resident.public_id}"),
        "anonymous": fhir_get(client, f"Patient/{community.resident.public_id}"),
        "bad date": fhir_get(tech, "MedicationAdministration", **{"effective-time": "gex"}),
        "bad prefix": fhir_get(tech, "MedicationAdministration", **{"effective-time": "ap2026"}),
        "bad patient": fhir_get(tech, "MedicationRequest", patient="Patient/12"),
        "unknown parameter": fhir_get(tech, "MedicationRequest", code="123"),
        "unknown resource": fhir_get(tech, "Observation/1"),
    }
    written = tech.post(f"{BASE}/Patient/{community.resident.public_id}", {}, format="json")

    statuses = {name: status for name, (status, _) in cases.items()}
    assert statuses == {
        "foreign": 404,
        "anonymous": 401,
        "bad date": 400,
        "bad prefix": 400,
        "bad patient": 400,
        "unknown parameter": 400,
        "unknown resource": 404,
    }
    assert all(body["resourceType"] == "OperationOutcome" for _, body in cases.values())
    assert cases["foreign"][1]["issue"][0]["code"] == "not-found"
    assert written.status_code == 405
    assert written.json()["resourceType"] == "OperationOutcome"


def test_another_communitys_resources_answer_404_and_are_not_found_by_search(
    api_as, community, other
):
    foreign = chart(other, due_dose(stocked_order(other)))
    client = api_as(community.nurse)

    read, _ = fhir_get(client, f"MedicationAdministration/{foreign.public_id}")
    request, _ = fhir_get(client, f"MedicationRequest/{foreign.order.public_id}")
    _, search = fhir_get(client, "MedicationAdministration", patient=str(other.resident.public_id))

    assert (read, request) == (404, 404)
    assert search["total"] == 0


def test_searches_cost_the_same_queries_for_one_row_or_many(
    api_as, community, django_assert_max_num_queries
):
    chart(community, due_dose(stocked_order(community)))
    client = api_as(community.nurse)
    with django_assert_max_num_queries(14) as one:
        fhir_get(client, "MedicationAdministration")
        fhir_get(client, "MedicationRequest")
    for _ in range(5):
        chart(community, due_dose(stocked_order(community, medication=MedicationFactory())))

    with django_assert_max_num_queries(14) as many:
        fhir_get(client, "MedicationAdministration")
        fhir_get(client, "MedicationRequest")

    assert len(many.captured_queries) == len(one.captured_queries)


def test_metadata_is_a_capability_statement_of_what_is_served(client):
    status, statement = fhir_get(client, "metadata")

    resources = {entry["type"]: entry for entry in statement["rest"][0]["resource"]}
    assert status == 200
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["format"] == ["application/fhir+json"]
    assert set(resources) == {"Patient", "MedicationRequest", "MedicationAdministration"}
    searched = resources["MedicationAdministration"]["searchParam"]
    assert {param["name"] for param in searched} == {"patient", "effective-time"}


def test_effective_time_searches_the_amended_time(api_as, community):
    record = chart(community, due_dose(stocked_order(community)))
    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="administered_at",
        new_value="2026-11-20T12:10:00+00:00",
        reason="Charted the wrong time",
        now=AT,
    )
    client = api_as(community.nurse)

    def found(value: str) -> list[str]:
        _, bundle = fhir_get(client, "MedicationAdministration", **{"effective-time": value})
        return [entry["resource"]["id"] for entry in bundle.get("entry", [])]

    assert found("eq2026-11-20T12:10:00Z") == [str(record.public_id)]
    assert found("lt2026-11-20T13:00:00Z") == [str(record.public_id)]
    assert found("ge2026-11-20T13:00:00Z") == []
    assert found("eq2026-11-20T13:30:00Z") == []


def test_fractional_seconds_in_effective_time_are_kept(api_as, community):
    record = chart(
        community, due_dose(stocked_order(community)), at=AT + dt.timedelta(seconds=0.25)
    )
    client = api_as(community.nurse)

    def total(value: str) -> int:
        return fhir_get(client, "MedicationAdministration", **{"effective-time": value})[1]["total"]

    assert total("eq2026-11-20T13:30:00.25Z") == 1
    assert total("eq2026-11-20T13:30:00.2Z") == 1
    assert total("eq2026-11-20T13:30:00.3Z") == 0
    assert total("gt2026-11-20T13:30:00.250Z") == 0
    assert total("gt2026-11-20T13:30:00.1Z") == 1
    assert record.administered_at.microsecond == 250_000


@pytest.mark.parametrize("accept", ["application/fhir+xml", "application/xml, text/html"])
def test_asking_for_xml_answers_406_with_an_operation_outcome(api_as, community, accept):
    client = api_as(community.tech)

    response = client.get(f"{BASE}/Patient/{community.resident.public_id}", HTTP_ACCEPT=accept)
    by_format = client.get(f"{BASE}/Patient/{community.resident.public_id}", {"_format": "xml"})

    for answer in (response, by_format):
        assert answer.status_code == 406
        assert answer["Content-Type"] == FHIR_JSON
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert answer.json()["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    "accept", ["application/fhir+json", "application/json", "*/*", "application/json+fhir"]
)
def test_json_in_any_of_its_names_is_served(api_as, community, accept):
    response = api_as(community.tech).get(
        f"{BASE}/Patient/{community.resident.public_id}", HTTP_ACCEPT=accept
    )

    assert response.status_code == 200
    assert response["Content-Type"] == FHIR_JSON


def test_resources_carry_a_version_and_when_they_last_changed(api_as, community):
    record = chart(community, due_dose(stocked_order(community)))
    client = api_as(community.nurse)
    path = f"MedicationAdministration/{record.public_id}"
    _, before = fhir_get(client, path)
    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="note",
        new_value="Took it with applesauce",
        reason="Left out",
        now=AT + dt.timedelta(minutes=5),
    )

    _, after = fhir_get(client, path)
    _, again = fhir_get(client, path)
    _, request = fhir_get(client, f"MedicationRequest/{record.order.public_id}")
    _, patient = fhir_get(client, f"Patient/{community.resident.public_id}")

    assert before["meta"]["lastUpdated"] == "2026-11-20T13:30:00Z"
    assert after["meta"]["lastUpdated"] == "2026-11-20T13:35:00Z"
    assert after["meta"]["versionId"] != before["meta"]["versionId"]
    assert again["meta"] == after["meta"]
    assert request["meta"]["lastUpdated"] and request["meta"]["versionId"]
    assert patient["meta"]["lastUpdated"] and patient["meta"]["versionId"]


def test_a_patient_has_an_identifier_and_a_gender(api_as, community):
    community.resident.sex = "female"
    community.resident.save()

    _, patient = fhir_get(api_as(community.tech), f"Patient/{community.resident.public_id}")

    assert patient["gender"] == "female"
    assert patient["identifier"] == [
        {
            "use": "usual",
            "system": "urn:medtech-emar:resident",
            "value": str(community.resident.public_id),
        }
    ]
