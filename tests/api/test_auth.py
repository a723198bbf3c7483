"""Signing in for a token, and the JSON answers to everything that is not allowed."""

import pytest
from rest_framework.authtoken.models import Token

from mar.models import Order
from tests.factories import DEMO_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


def test_it_exchanges_a_username_and_password_for_a_token_that_works(client, community):
    response = client.post(
        TOKEN_URL,
        {"username": community.tech.username, "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    token = response.json()["token"]
    residents = client.get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert token == Token.objects.get(user=community.tech).key
    assert residents.status_code == 200
    assert residents.json()["count"] == 1


def test_a_wrong_password_answers_401(client, community):
    response = client.post(
        TOKEN_URL,
        {"username": community.tech.username, "password": "not-the-password"},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong username or password."}


def test_a_missing_field_answers_400_naming_it(client, community):
    response = client.post(
        TOKEN_URL, {"username": community.tech.username}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["field"] == "password"


def test_no_or_a_bad_token_answers_401_and_the_session_of_the_pages_works(client, community):
    anonymous = client.get("/api/v1/residents/")
    bad = client.get("/api/v1/residents/", HTTP_AUTHORIZATION="Token nope")
    client.force_login(community.nurse)
    session = client.get("/api/v1/residents/")

    assert (anonymous.status_code, bad.status_code) == (401, 401)
    assert anonymous["WWW-Authenticate"] == "Token"
    assert "detail" in anonymous.json()
    assert session.status_code == 200


def test_a_session_write_needs_the_csrf_token(community, order):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(community.nurse)

    response = browser.post(
        f"/api/v1/orders/{order.public_id}/hold/",
        {"reason": "MD order"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_unknown_paths_and_methods_answer_json(api_as, community):
    client = api_as(community.tech)

    unknown = client.get("/api/v1/nothing-here/")
    method = client.delete("/api/v1/residents/")

    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No such endpoint."}
    assert method.status_code == 405
    assert "detail" in method.json()


def test_malformed_json_answers_400(api_as, community):
    response = api_as(community.nurse).post(
        "/api/v1/orders/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


DEEP = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_json_nested_3000_deep_answers_400_when_signed_in(api_as, community, order, body):
    client = api_as(community.nurse)

    orders = client.post("/api/v1/orders/", body, content_type="application/json")
    hold = client.post(
        f"/api/v1/orders/{order.public_id}/hold/", body, content_type="application/json"
    )
    charting = api_as(community.tech).post(
        "/api/v1/administrations/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep-1",
    )

    assert [orders.status_code, hold.status_code, charting.status_code] == [400, 400, 400]
    assert "nested too deeply" in orders.json()["detail"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_json_nested_3000_deep_answers_400_at_the_token_endpoint(client, community, body):
    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_fhir_parses_no_body_so_a_deep_one_is_refused_without_a_500(api_as, community):
    response = api_as(community.nurse).post(
        f"/fhir/r4/Patient/{community.resident.public_id}",
        DEEP,
        content_type="application/fhir+json",
    )

    assert 400 <= response.status_code < 500


def test_the_schema_and_its_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/api/v1/administrations/" in schema.json()["paths"]
    assert docs.status_code == 200
