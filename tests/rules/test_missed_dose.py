"""Rule: a missed dose. A dose nobody charted is missed once its late limit (the end of
its window plus the community's late limit) has passed: at once, before the job that
records it has run, and never while the resident is away or the order is stopped.

The one function: ``mar.selectors.dose_state`` (and its twin in SQL for lists and counts,
``mar.selectors.doses_with_state``, written with the same rules). The API's dose list, the
offline bundle, the nurse's review page, the printed MAR and the nurse's report all read
it, so a minute before the limit none of them says missed, and a minute after all do.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import CartAssignment
from mar.models import ScheduledDose
from nurse.reports import facility_report
from printing.selectors import Month, monthly_mars
from tests.api.conftest import client_for
from tests.gates.conftest import AT, stocked

WAYS = ["api", "offline", "review_page", "printed_mar", "report"]
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def dose(community) -> ScheduledDose:
    """The order's first dose, Friday 08:00 in Chicago (the order starts at 06:30)."""
    order = stocked(community, starts_at=AT - dt.timedelta(hours=1))
    CartAssignment.objects.create(cart=community.cart, user=community.tech, started_at=AT)
    return order.doses.order_by("scheduled_at", "id").first()


def late_limit_of(dose: ScheduledDose) -> dt.datetime:
    return dose.window_end + dt.timedelta(minutes=dose.resident.facility.late_limit_minutes)


def says_missed(way: str, community, dose: ScheduledDose, now: dt.datetime) -> bool:
    """Whether this way in calls the dose missed at ``now`` (the clock stands there)."""
    if way == "api":
        rows = client_for(community.nurse).get(
            "/api/v1/doses/", {"resident": str(community.resident.public_id)}
        )
        states = {row["id"]: row["status"] for row in rows.json()["results"]}
        return states[str(dose.public_id)] == "missed"
    if way == "offline":
        bundle = client_for(community.tech).get(
            f"/api/v1/offline/carts/{community.cart.public_id}/"
        )
        states = {row["id"]: row["state"] for row in bundle.json()["doses"]}
        return states.get(str(dose.public_id)) == "missed"
    if way == "review_page":
        client = Client()
        client.force_login(community.nurse)
        page = client.get(reverse("nurse:review"), {"kind": "missed"})
        return f"scheduled_dose:{dose.public_id}" in page.text
    if way == "printed_mar":
        (mar,) = monthly_mars(
            residents=[community.resident], month=Month(dt.date(2026, 11, 1)), now=now
        )
        return [note.due_at for note in mar.missed] == [dose.scheduled_at]
    return facility_report(facility=community.facility, now=now).totals.missed == 1


@pytest.mark.parametrize("way", WAYS)
def test_it_is_not_missed_a_minute_before_its_late_limit_every_way(community, dose, clock, way):
    now = late_limit_of(dose) - MINUTE
    clock.move_to(now)

    assert not says_missed(way, community, dose, now)


@pytest.mark.parametrize("way", WAYS)
def test_it_is_missed_a_minute_after_its_late_limit_every_way(community, dose, clock, way):
    now = late_limit_of(dose) + MINUTE
    clock.move_to(now)

    assert says_missed(way, community, dose, now)
