"""Errors under /api/ and /fhir/ are JSON (OperationOutcome under /fhir/), including the
answers Django gives itself before any API view runs."""

import pytest


@pytest.mark.parametrize(
    "path",
    ["/api/v1/residents/%0A", "/api/v1/x%0Ay/", "/api/%0A", "/api/v1/residents%0A"],
)
def test_an_odd_path_under_api_answers_a_json_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/fhir/r4/Patient/%0A", "/fhir/r4%0A", "/fhir/%0A"])
def test_an_odd_path_under_fhir_answers_an_operation_outcome(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "not-found"


def test_a_page_outside_the_api_keeps_djangos_html_404(client):
    response = client.get("/no-such-page%0A/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "kind"), [("/api/v1/residents/", "application/json"), ("/fhir/r4/metadata", "fhir")]
)
def test_a_refused_host_under_the_api_answers_json(client, path, kind):
    response = client.get(path, HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert kind in response["Content-Type"]
