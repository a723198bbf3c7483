"""The OpenAPI schema read strictly, as a generated client reads it: the document passes
openapi-spec-validator (OAS 3.0.3), and real answers of every operation, nulls and errors
included, pass openapi-schema-validator's strict OAS 3.0 validator against the response
the schema documents for their status. (schemathesis, in test_schemathesis.py, reads
``nullable`` leniently; this one does not.)"""

from __future__ import annotations

import datetime as dt

import pytest
from openapi_schema_validator import OAS30StrictValidator
from openapi_spec_validator import validate as validate_spec

from inventory.services import cart_assignment_start
from mar.services import administrations as charting
from staff.services import user_set_pin
from tests.api.conftest import AT, due_dose, prn_order, stocked_order
from tests.api.test_orders import new_order
from tests.factories import DEMO_PASSWORD, MedicationFactory

V1 = "/api/v1"


@pytest.fixture
def spec(api_as, community) -> dict:
    response = api_as(community.nurse).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def violations(spec: dict, template: str, method: str, response) -> list[str]:
    """What is wrong with ``response`` as the answer of ``method template``."""
    operation = spec["paths"][template][method]
    answer = operation["responses"].get(str(response.status_code))
    if answer is None:
        return [f"{method.upper()} {template}: {response.status_code} is not documented"]
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    content = answer.get("content", {})
    if response.status_code == 204:
        return [] if not content and not response.content else ["204 with a body"]
    media_type = response["Content-Type"].split(";")[0]
    if media_type not in content:
        return [f"{method.upper()} {template}: {media_type} is not documented"]
    schema = {**content[media_type]["schema"], "components": spec["components"]}
    validator = OAS30StrictValidator(schema)
    return [
        f"{method.upper()} {template} {response.status_code} at "
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(response.json())
    ]


def test_the_schema_document_is_valid_oas_3_0(spec):
    validate_spec(spec)

    assert spec["openapi"] == "3.0.3"


def test_nullable_nested_objects_say_null_in_a_way_oas_3_0_reads(spec):
    loose = [
        f"{name}.{prop}"
        for name, component in spec["components"]["schemas"].items()
        for prop, value in component.get("properties", {}).items()
        if value.get("nullable") and "type" not in value
    ]

    assert loose == []


def test_offline_headers_and_transport_errors_are_documented(spec):
    charting_op = spec["paths"][f"{V1}/administrations/"]["post"]
    headers = {p["name"] for p in charting_op["parameters"] if p["in"] == "header"}

    assert {"X-Offline-Queued-At", "X-Offline-Charted-By", "X-Offline-Signature"} <= headers
    assert {"406", "415"} <= set(charting_op["responses"])
    assert "406" in spec["paths"][f"{V1}/residents/"]["get"]["responses"]
    assert "MethodNotAllowed" in spec["components"]["responses"]


def test_options_answers_what_allow_says(api_as, community):
    client = api_as(community.nurse)

    options = client.options(f"{V1}/residents/")
    wrong = client.delete(f"{V1}/residents/")

    assert options.status_code == 204
    assert {"GET", "OPTIONS"} <= {m.strip() for m in options["Allow"].split(",")}
    assert wrong.status_code == 405
    assert wrong["Allow"] == options["Allow"]


def test_real_answers_conform_strictly_nulls_and_errors_included(spec, api_as, community):
    tech, nurse = api_as(community.tech), api_as(community.nurse)
    order = stocked_order(community)
    prn = prn_order(community, medication=MedicationFactory(dea_schedule="IV"))
    pending = nurse.post(
        f"{V1}/orders/", new_order(community, administration_times=["20:00"]), format="json"
    )
    cart_assignment_start(cart=community.cart, user=community.tech, now=AT)
    cart_assignment_start(cart=community.cart, user=community.nurse, now=AT)
    user_set_pin(user=community.nurse, pin="482613", password=DEMO_PASSWORD)
    verified = api_as(community.second_nurse).post(f"{V1}/orders/{pending.json()['id']}/verify/")
    verified_order = stocked_order(community)
    refused = charting.administration_record(
        user=community.tech,
        idempotency_key="strict-refused",
        now=AT,
        entry=charting.ChartEntry(
            status="refused", administered_at=AT, scheduled_dose=due_dose(verified_order)
        ),
    ).administration
    chart_body = {
        "order": str(prn.public_id),
        "status": "given",
        "administered_at": (AT - dt.timedelta(minutes=1)).isoformat(),
        "prn_reason": "Knee pain",
        "witness": str(community.nurse.public_id),
    }
    charted = tech.post(
        f"{V1}/administrations/", chart_body, format="json", HTTP_IDEMPOTENCY_KEY="s1"
    )
    record = charted.json()["id"]
    item = prn.stock_items.get()
    dose = due_dose(order)
    calls = [
        ("post", f"{V1}/administrations/", charted),
        (
            "post",
            f"{V1}/administrations/",
            tech.post(
                f"{V1}/administrations/", chart_body, format="json", HTTP_IDEMPOTENCY_KEY="s1"
            ),
        ),
        (
            "post",
            f"{V1}/administrations/",
            tech.post(
                f"{V1}/administrations/",
                {
                    "scheduled_dose": str(dose.public_id),
                    "status": "given",
                    "administered_at": AT.isoformat(),
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY="s2",
            ),
        ),
        (
            "post",
            f"{V1}/administrations/{{id}}/effectiveness/",
            tech.post(
                f"{V1}/administrations/{record}/effectiveness/",
                {"result": "effective"},
                format="json",
            ),
        ),
        (
            "post",
            f"{V1}/exceptions/{{id}}/acknowledge/",
            nurse.post(
                f"{V1}/exceptions/{refused.public_id}/acknowledge/",
                {"note": "Offered again"},
                format="json",
            ),
        ),
        (
            "post",
            f"{V1}/stock/{{id}}/transactions/",
            tech.post(
                f"{V1}/stock/{item.public_id}/transactions/",
                {
                    "kind": "waste",
                    "quantity": 1,
                    "reason": "Dropped",
                    "witness": str(community.nurse.public_id),
                    "witness_secret": DEMO_PASSWORD,
                },
                format="json",
            ),
        ),
        (
            "post",
            f"{V1}/stock/{{id}}/transactions/",
            tech.post(
                f"{V1}/stock/{order.stock_items.get().public_id}/transactions/",
                {"kind": "receive", "quantity": 5},
                format="json",
            ),
        ),
        ("post", f"{V1}/orders/", pending),
        ("post", f"{V1}/orders/{{id}}/verify/", verified),
        (
            "post",
            f"{V1}/administrations/",
            nurse.post(
                f"{V1}/administrations/",
                {
                    "scheduled_dose": str(dose.public_id),
                    "status": "given",
                    "administered_at": AT.isoformat(),
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY="s3",
            ),
        ),
        ("get", f"{V1}/orders/", nurse.get(f"{V1}/orders/")),
        ("get", f"{V1}/orders/{{id}}/", nurse.get(f"{V1}/orders/{verified_order.public_id}/")),
        ("get", f"{V1}/residents/", nurse.get(f"{V1}/residents/")),
        (
            "get",
            f"{V1}/residents/{{id}}/",
            nurse.get(f"{V1}/residents/{community.resident.public_id}/"),
        ),
        ("get", f"{V1}/doses/", nurse.get(f"{V1}/doses/")),
        ("get", f"{V1}/administrations/", nurse.get(f"{V1}/administrations/")),
        ("get", f"{V1}/administrations/{{id}}/", nurse.get(f"{V1}/administrations/{record}/")),
        ("get", f"{V1}/exceptions/", nurse.get(f"{V1}/exceptions/", {"status": "all"})),
        ("get", f"{V1}/stock/", nurse.get(f"{V1}/stock/")),
        (
            "get",
            f"{V1}/offline/carts/{{id}}/",
            tech.get(f"{V1}/offline/carts/{community.cart.public_id}/"),
        ),
        ("get", f"{V1}/stock/{{id}}/", nurse.get(f"{V1}/stock/{item.public_id}/")),
        (
            "get",
            f"{V1}/residents/",
            api_as(community.tech).get(f"{V1}/residents/", HTTP_ACCEPT="application/xml"),
        ),
        ("get", f"{V1}/orders/{{id}}/", nurse.get(f"{V1}/orders/{community.resident.public_id}/")),
        (
            "post",
            f"{V1}/exceptions/{{id}}/acknowledge/",
            nurse.post(
                f"{V1}/exceptions/{refused.public_id}/acknowledge/",
                "note",
                content_type="text/plain",
            ),
        ),
    ]

    found = [
        problem
        for method, template, answer in calls
        for problem in violations(spec, template, method, answer)
    ]
    statuses = sorted({answer.status_code for _, _, answer in calls})

    assert found == []
    assert statuses == [200, 201, 404, 406, 409, 415]
