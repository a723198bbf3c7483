"""Retries: 1,000 chart requests, each sent 1 to 5 times with some responses lost on the
way back, end as exactly 1,000 records.

A tablet on flaky Wi-Fi sends a dose, never hears back, and sends it again with the same
``Idempotency-Key`` (the offline queue does exactly this). The sends of all requests are
shuffled together, as a queue drained after an outage would send them; a "dropped"
response is one the server produced and the client never read.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from inventory.models import StockItem, StockTransaction
from mar.models import Administration, ScheduledDose
from mar.services.doses import doses_sync_for_order
from tests.factories import MedicationFactory, OrderFactory, StockItemFactory, api_token
from tests.security.conftest import AT, World

pytestmark = pytest.mark.slow

REQUESTS = 1_000
# One dose of each order due at 07:30: doses of one order charted in the same minute would
# be a double dose (mar.services.administrations.dose_spacing_stop).
TIMES = ["07:30"]
ORDERS = REQUESTS // len(TIMES)
SEED = 20261120
SEND_WEIGHTS = [8, 4, 2, 1, 1]  # of sending a request 1, 2, 3, 4 or 5 times


def due_doses(world: World) -> list[ScheduledDose]:
    """``REQUESTS`` doses of the community's resident, all in their window now."""
    nurse = world.users["nurse"]
    for _ in range(ORDERS):
        order = OrderFactory(
            resident=world.resident,
            medication=MedicationFactory(),
            administration_times=TIMES,
            entered_by=nurse,
            verified_by=world.others["nurse"],
        )
        StockItemFactory(
            cart=world.cart,
            resident=world.resident,
            medication=order.medication,
            order=order,
            quantity_on_hand=Decimal("50"),
        )
        doses_sync_for_order(order=order, now=AT)
    doses = list(
        ScheduledDose.objects.filter(
            order__administration_times=TIMES, window_start__lte=AT, window_end__gt=AT
        ).order_by("id")
    )
    assert len(doses) == REQUESTS
    return doses


def test_a_thousand_requests_retried_with_lost_responses_make_a_thousand_records(
    world: World,
):
    doses = due_doses(world)
    rng = random.Random(SEED)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(world.users['med_tech'])}")
    requests = [
        {
            "key": f"tablet-7:{uuid.UUID(int=rng.getrandbits(128))}",
            "body": {
                "scheduled_dose": str(dose.public_id),
                "status": "given",
                "administered_at": AT.isoformat(),
            },
            "dose": dose,
        }
        for dose in doses
    ]
    # 1 to 5 sends each, fewer retries being likelier (as on real Wi-Fi): about 1.9 on average.
    sends = [
        index
        for index, _ in enumerate(requests)
        for _ in range(rng.choices(range(1, 6), weights=SEND_WEIGHTS)[0])
    ]
    rng.shuffle(sends)
    last_send = {index: position for position, index in enumerate(sends)}
    records_before = Administration.objects.count()
    stock_before = StockItem.objects.filter(cart=world.cart).aggregate(Sum("quantity_on_hand"))

    statuses: Counter[int] = Counter()
    heard: dict[int, dict] = {}
    dropped = 0
    for position, index in enumerate(sends):
        request = requests[index]
        response = client.post(
            "/api/v1/administrations/",
            request["body"],
            format="json",
            HTTP_IDEMPOTENCY_KEY=request["key"],
        )
        statuses[response.status_code] += 1
        is_last = last_send[index] == position
        if not is_last and rng.random() < 0.5:
            dropped += 1  # the response is lost on the way back: the client never reads it
            continue
        body = response.json()
        heard.setdefault(index, body)
        assert body["id"] == heard[index]["id"], "a retry answered with another record"

    new_records = Administration.objects.count() - records_before
    stock_after = StockItem.objects.filter(cart=world.cart).aggregate(Sum("quantity_on_hand"))
    charted = Counter(
        Administration.objects.filter(scheduled_dose__in=doses).values_list(
            "scheduled_dose_id", flat=True
        )
    )
    assert len(sends) > 1.5 * REQUESTS and dropped > 0  # the retries and losses happened
    assert max(Counter(sends).values()) == 5
    assert new_records == REQUESTS
    assert set(statuses) <= {200, 201}
    assert statuses[201] == REQUESTS
    assert statuses[200] == len(sends) - REQUESTS
    assert len(charted) == REQUESTS and set(charted.values()) == {1}
    assert len(heard) == REQUESTS
    assert {heard[index]["scheduled_dose"] for index in heard} == {
        str(dose.public_id) for dose in doses
    }
    assert stock_before["quantity_on_hand__sum"] - stock_after["quantity_on_hand__sum"] == REQUESTS
    assert (
        StockTransaction.objects.filter(administration__scheduled_dose__in=doses).count()
        == REQUESTS
    )
