"""Rule: the value of a record after amendments. The record itself never changes; what it
says now is the latest amendment of each field (by when it was made), else the charted
value.

The one selector: ``mar.selectors.amendments_in_effect`` (and
``mar.selectors.administration_current_value`` on top of it, the value as an amendment
writes it). The charting service (the old value of the next amendment), the nurse's record
page, FHIR and the printed MAR all read it: amended once through the page and once
through the API, in either order, every reader says the second.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from mar.models import Administration, Amendment
from printing.selectors import Month, monthly_mars
from tests.api.conftest import client_for
from tests.gates.conftest import AT, due, stocked
from tests.rules.conftest import page_alert

ORDERS = [("page", "api"), ("api", "page")]
LATER = dt.timedelta(minutes=5)


def amend(way: str, community, record: Administration, status: str, why: str) -> None:
    nurse = community.nurse
    if way == "page":
        client = Client()
        client.force_login(nurse)
        response = client.post(
            reverse("nurse:administration_detail", args=[record.public_id]),
            {"field": "status", "new_status": status, "reason": why},
        )
        assert response.status_code == 302, page_alert(response.text)
        return
    response = client_for(nurse).post(
        f"/api/v1/administrations/{record.public_id}/amendments/",
        {"field": "status", "new_value": status, "reason": why},
        format="json",
    )
    assert response.status_code == 201, response.json()


@pytest.fixture
def record(ways, community) -> Administration:
    """A dose charted refused at AT."""
    order = stocked(community)
    assert ways.chart("api", dose=due(order), status="refused", reason="Nauseous").recorded
    return Administration.objects.get()


@pytest.mark.parametrize(("first", "second"), ORDERS)
def test_every_reader_says_the_latest_amendment(community, record, clock, first, second):
    amend(first, community, record, "held", "Held for low pressure, charted wrong")
    clock.move_to(AT + LATER)
    amend(second, community, record, "not_available", "Was not on the cart, charted wrong")

    nurse = Client()
    nurse.force_login(community.nurse)
    page = nurse.get(reverse("nurse:administration_detail", args=[record.public_id]))
    fhir = client_for(community.nurse).get(f"/fhir/r4/MedicationAdministration/{record.public_id}")
    (mar,) = monthly_mars(
        residents=[community.resident], month=Month(dt.date(2026, 11, 1)), now=AT + LATER
    )
    amendments = list(record.amendments.order_by("amended_at", "id"))

    assert [(a.old_value, a.new_value) for a in amendments] == [
        ("refused", "held"),
        ("held", "not_available"),
    ]
    assert '<dd data-testid="current-status">Not available</dd>' in page.text
    assert fhir.json()["statusReason"][0]["coding"][0]["code"] == "not_available"
    assert [note.code for note in mar.not_given] == ["N"]
    record.refresh_from_db()
    assert record.status == Administration.Status.REFUSED  # the record itself never changes
    assert Amendment.objects.count() == 2
