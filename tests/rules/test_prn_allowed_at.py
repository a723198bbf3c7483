"""Rule: when a PRN dose is allowed again. Every dose given under the order counts, on
either side and in whatever order it was documented (amended times included): the
minimum interval from the nearest, at most so many in any 24 hours.

The one function: ``mar.prn.prn_allowed_at`` (``prn_stop`` for a refusal), with the
order's limits read by ``mar.prn.PrnLimits.of``. The pass page's PRN card says when, and
the page, the API and the offline sync refuse an earlier dose with the same time.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import CartAssignment
from mar.models import Administration
from tests.gates.conftest import AT, WAYS, prn

HOUR = dt.timedelta(hours=1)
# Three given 10, 9 and 8 hours ago (the last one first): the fourth within 24 hours of
# the first is refused until that one is 24 hours old: Friday 07:30 + 14 h = 21:30.
ALLOWED_AT = AT + 14 * HOUR
SAID = "Allowed again at Fri 21:30"


@pytest.fixture
def order(ways, community):
    order = prn(community, prn_min_interval_minutes=60, prn_max_per_24h=3)
    for ago in (8, 9, 10):
        at = AT - ago * HOUR
        assert ways.chart("api", order=order, at=at, prn_reason="Knee", note="After").recorded
    return order


def test_the_pass_page_says_when_it_is_allowed_again(community, order):
    CartAssignment.objects.create(cart=community.cart, user=community.tech, started_at=AT)
    client = Client()
    client.force_login(community.tech)

    page = client.get(reverse("mar:pass_resident", args=[community.resident.public_id]))

    assert page.status_code == 200
    assert f"Next allowed at {ALLOWED_AT.astimezone(community.facility.zone):%H:%M}" in page.text


@pytest.mark.parametrize("way", WAYS)
def test_an_earlier_dose_is_refused_with_the_same_time_every_way(ways, community, order, way):
    answer = ways.chart(way, order=order, prn_reason="Knee pain")

    assert answer.status == 422
    assert SAID in answer.text
    assert Administration.objects.count() == 3


@pytest.mark.parametrize("way", WAYS)
def test_a_dose_at_that_time_is_charted_every_way(ways, community, order, clock, way):
    clock.move_to(ALLOWED_AT)

    answer = ways.chart(way, order=order, at=ALLOWED_AT, prn_reason="Knee pain")

    assert answer.recorded, answer.text
    assert Administration.objects.count() == 4
