"""GET /api/v1/residents/{id}/mar.pdf: the printed monthly MAR, read back."""

import io

from pypdf import PdfReader


def test_a_nurse_gets_the_residents_month_as_a_pdf(api_as, community, order):
    url = f"/api/v1/residents/{community.resident.public_id}/mar.pdf"

    response = api_as(community.nurse).get(url, {"month": "2026-11"})

    pdf = b"".join(response.streaming_content)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert {"private", "no-store"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }
    assert "November 2026" in text
    assert community.resident.last_name in text


def test_med_techs_get_403_other_communities_404_and_a_bad_month_400(api_as, community, other):
    url = f"/api/v1/residents/{community.resident.public_id}/mar.pdf"

    tech = api_as(community.tech).get(url, HTTP_ACCEPT="application/pdf")
    stranger = api_as(other.nurse).get(url)
    bad_month = api_as(community.nurse).get(url, {"month": "2026-13"})

    assert (tech.status_code, tech["Content-Type"]) == (403, "application/json")
    assert "detail" in tech.json()
    assert stranger.status_code == 404
    assert (bad_month.status_code, bad_month.json()["field"]) == (400, "month")
