"""Rule: when a PRN dose is allowed again. Every dose given under the order counts, on
either side and in whatever order it was documented (amended times included): the
minimum interval from the nearest, at most so many in any 24 hours.

The one function: ``mar.prn.prn_allowed_at`` (``prn_stop`` and ``prn_stop_message`` for a
refusal), with the order's limits read by ``mar.prn.PrnLimits.of``. The offline bundle's
``allowed_at`` and ``refusal`` are what the pass page shows and what the API answers, for
doses documented out of order, where looking only at the last dose documented would give
another time; the page, the API and the offline sync refuse an earlier dose with the same
time, and chart one at that time.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import CartAssignment
from inventory.services import cart_assignment_start
from mar.models import Administration
from mar.services import administrations as charting
from tests.api.conftest import client_for
from tests.gates.conftest import WAYS, prn
from tests.world import AT, Community

pytestmark = pytest.mark.django_db


@pytest.fixture
def moment() -> dt.datetime:
    return AT


def chart_prn(community, order, *, given_at, documented_at, key) -> None:
    charting.administration_record(
        user=community.tech,
        idempotency_key=key,
        now=documented_at,
        entry=charting.ChartEntry(
            status="given",
            administered_at=given_at,
            order=order,
            prn_reason="Knee pain",
            note="Given earlier, charted now.",
        ),
    )


def test_the_bundle_the_page_and_the_api_say_the_same_allowed_at_for_doses_out_of_order():
    community = Community()
    acetaminophen = community.prn_order(prn_max_per_24h=2)  # and 240 minutes apart
    # 06:30 charted first, then 02:30 entered late: the count (2 in 24 h) holds until
    # 02:30 tomorrow, later than 06:30 + 4 hours.
    chart_prn(
        community,
        acetaminophen,
        given_at=AT - dt.timedelta(hours=1),
        documented_at=AT - dt.timedelta(minutes=55),
        key="first",
    )
    chart_prn(
        community,
        acetaminophen,
        given_at=AT - dt.timedelta(hours=5),
        documented_at=AT - dt.timedelta(minutes=50),
        key="entered-late",
    )
    cart_assignment_start(cart=community.cart, user=community.tech, now=AT)
    api = client_for(community.tech)
    browser = Client()
    browser.force_login(community.tech)
    expected = AT - dt.timedelta(hours=5) + dt.timedelta(hours=24)

    bundle = api.get(reverse("api:offline_bundle", args=[community.cart.public_id])).json()
    page = browser.get(reverse("mar:pass_resident", args=[community.resident.public_id]))
    refused = api.post(
        "/api/v1/administrations/",
        {
            "order": str(acetaminophen.public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
            "prn_reason": "Knee pain",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="now",
    )

    (offline,) = bundle["prn_orders"]
    (card,) = page.context["pass"].prn
    assert card.allowed_at == expected
    assert offline["allowed_at"] == refused.json()["allowed_at"] == "2026-11-21T08:30:00Z"
    assert dt.datetime.fromisoformat(offline["allowed_at"]) == expected
    assert refused.status_code == 422
    assert offline["refusal"] == refused.json()["detail"]
    local = timezone.localtime(expected, community.facility.zone)
    assert f"Next allowed at {local:%H:%M}" in page.text


def test_a_prn_allowed_now_has_no_allowed_at_or_refusal_in_the_bundle_but_the_words_to_fill():
    community = Community()
    acetaminophen = community.prn_order()
    chart_prn(
        community,
        acetaminophen,
        given_at=AT - dt.timedelta(hours=5),
        documented_at=AT - dt.timedelta(hours=5),
        key="long-ago",
    )
    cart_assignment_start(cart=community.cart, user=community.tech, now=AT)

    bundle = (
        client_for(community.tech)
        .get(reverse("api:offline_bundle", args=[community.cart.public_id]))
        .json()
    )

    (offline,) = bundle["prn_orders"]
    assert offline["allowed_at"] is None
    assert offline["refusal"] is None
    assert offline["refusal_words"]["too_soon"] == (
        "Too soon: a dose was given at {given_at}, and this order needs 240 minutes between "
        "doses. Allowed again at {allowed_at}."
    )
    assert "{count} doses within 24 hours of {at}" in offline["refusal_words"]["too_many"]


# --- Refused until then, through every way in ------------------------------------------

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
