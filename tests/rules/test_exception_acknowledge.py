"""Rule: acknowledging an exception (a refused, held or missed dose, a concern report).

The one function: ``mar.services.reviews.exception_acknowledge``. The nurse's review page
(one or many rows at once, ``followups.exceptions_acknowledge_many`` loops over it) and
the API both acknowledge through it: one review, one audit row, and a refusal
acknowledged with the physician notified closes its follow-up, whichever way it came.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mar.models import Administration, ExceptionReview, FollowUp
from medtech.models import AuditEvent
from tests.api.conftest import client_for
from tests.gates.conftest import due, stocked

WAYS = ["page", "api"]
NOTE = "Offered again at 10:00; Dr. Ortiz informed"


def refused(ways, community) -> Administration:
    order = stocked(community)
    assert ways.chart("api", dose=due(order), status="refused", reason="Refused").recorded
    return Administration.objects.get()


def acknowledge(way: str, community, record: Administration, **fields) -> int:
    nurse = community.nurse
    if way == "page":
        client = Client()
        client.force_login(nurse)
        form = {"keys": [f"administration:{record.public_id}"], "note": NOTE}
        form |= {name: "on" for name, value in fields.items() if value}
        return client.post(reverse("nurse:review_acknowledge"), form).status_code
    response = client_for(nurse).post(
        f"/api/v1/exceptions/{record.public_id}/acknowledge/",
        {"note": NOTE, **fields},
        format="json",
    )
    return response.status_code


@pytest.mark.parametrize("way", WAYS)
def test_it_closes_the_follow_up_when_the_physician_was_notified_every_way(ways, community, way):
    record = refused(ways, community)

    status = acknowledge(way, community, record, physician_notified=True)

    assert status in (201, 302)
    review = ExceptionReview.objects.get()
    assert (review.kind, review.note, review.physician_notified) == ("refused", NOTE, True)
    followup = FollowUp.objects.get(administration=record)
    assert followup.done_by == community.nurse
    assert followup.done_note == f"Acknowledged: {NOTE}"
    assert followup.prescriber_notified


@pytest.mark.parametrize("way", WAYS)
def test_it_leaves_the_follow_up_open_when_the_physician_was_not_notified_every_way(
    ways, community, way
):
    record = refused(ways, community)

    acknowledge(way, community, record, physician_notified=False)

    assert ExceptionReview.objects.count() == 1
    assert FollowUp.objects.get(administration=record).done_at is None


@pytest.mark.parametrize("way", WAYS)
def test_it_writes_one_audit_row_every_way(ways, community, way):
    record = refused(ways, community)

    acknowledge(way, community, record, physician_notified=True)

    rows = AuditEvent.objects.filter(action="exception.acknowledge")
    assert rows.count() == 1
    assert rows.get().after["followups_closed"] == 1
