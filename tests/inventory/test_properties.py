"""A property of the ledger: whatever happens to a card, its quantity on hand is the sum of
its ledger and never below zero, and a movement is refused exactly when it would go below."""

import datetime as dt
import uuid
from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import services
from inventory.models import StockItem, StockTransaction
from mar.models import Administration, Order
from mar.services import administrations as charting
from tests.inventory.conftest import NOW, ledger_sum

halves = st.integers(min_value=1, max_value=60).map(lambda n: Decimal(n) / 2)
operation = st.one_of(
    st.tuples(st.just("receive"), halves),
    st.tuples(st.just("administer"), st.just(Decimal(1))),
    st.tuples(st.just("waste"), halves),
    st.tuples(st.just("return"), halves),
    st.tuples(st.just("adjust"), halves, st.booleans()),
)


def change_asked(step: tuple) -> Decimal:
    kind, amount = step[0], step[1]
    if kind == "receive":
        return amount
    if kind == "adjust":
        return amount if step[2] else -amount
    return -amount


def apply(room, prn: Order, item: StockItem, step: tuple) -> None:
    """Make one movement through the real service (a given dose through charting)."""
    kind, amount = step[0], step[1]
    if kind == "receive":
        services.stock_receive(by=room.tech, quantity=amount, now=NOW, item=item)
    elif kind == "administer":
        # Two minutes apart, back from now: the order's minimum interval is one minute.
        earlier = dt.timedelta(minutes=2 * Administration.objects.filter(order=prn).count())
        charting.administration_record(
            user=room.tech,
            idempotency_key=str(uuid.uuid4()),
            now=NOW,
            entry=charting.ChartEntry(
                status=Administration.Status.GIVEN,
                administered_at=NOW - earlier,
                order=prn,
                prn_reason="Pain 5/10",
            ),
        )
    elif kind == "waste":
        services.stock_waste(item=item, quantity=amount, reason="Dropped", by=room.tech, now=NOW)
    elif kind == "return":
        services.stock_return(item=item, quantity=amount, by=room.nurse, now=NOW)
    else:
        services.stock_adjust(
            item=item, quantity=change_asked(step), reason="Recount", by=room.nurse, now=NOW
        )


@settings(
    max_examples=50,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=halves, steps=st.lists(operation, max_size=12))
def test_quantity_is_the_ledger_sum_and_never_below_zero(room, start, steps):
    with transaction.atomic():
        prn = room.order_for(
            room.medication,
            frequency=Order.Frequency.PRN,
            administration_times=[],
            prn_min_interval_minutes=1,
            prn_max_per_24h=1000,
        )
        item = room.receive(prn, quantity=str(start))
        expected = start

        for step in steps:
            asked, before = change_asked(step), expected
            try:
                apply(room, prn, item, step)
            except (services.StockUnavailable, charting.NoStock):
                refused = True
            else:
                refused = False
                expected += asked

            assert refused == (before + asked < 0)
            item.refresh_from_db()
            assert item.quantity_on_hand == ledger_sum(item) == expected
            assert item.quantity_on_hand >= 0
        assert not StockTransaction.objects.filter(stock_item=item, balance_after__lt=0).exists()
        transaction.set_rollback(True)
