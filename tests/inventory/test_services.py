"""The stock movements: receive, waste, return, adjust, transfer (inventory.services)."""

import datetime as dt
from decimal import Decimal

import pytest

from inventory import services
from inventory.models import ReorderRequest, StockItem, StockTransaction
from mar.models import Order
from tests.inventory.conftest import NOW, PINS, TODAY, ledger_sum, on_hand


def test_it_receives_a_new_card_for_an_order_onto_the_residents_cart(room):
    row = services.stock_receive(
        by=room.tech,
        quantity=Decimal("30"),
        now=NOW,
        order=room.order,
        lot="L2231A",
        expires_on=TODAY + dt.timedelta(days=180),
    )

    item = row.stock_item
    assert (row.kind, row.quantity, row.balance_after) == ("receive", 30, 30)
    assert item.cart == room.cart
    assert (item.resident, item.medication, item.order) == (
        room.resident,
        room.medication,
        room.order,
    )
    assert (item.rx_number, item.lot, item.unit, item.received_at) == (
        "RX100200",
        "L2231A",
        "tablet",
        NOW,
    )
    assert on_hand(item) == ledger_sum(item) == 30


def test_it_refuses_a_controlled_delivery_without_a_witness_who_signs(room):
    with pytest.raises(services.WitnessRequired, match="needs a witness"):
        room.receive(room.controlled_order, witness=None, witness_secret="")
    with pytest.raises(services.SignatureRefused, match="Wrong PIN"):
        room.receive(room.controlled_order, witness=room.nurse, witness_secret="135746")
    with pytest.raises(services.StockInvalid, match="someone else"):
        room.receive(room.controlled_order, witness=room.tech, witness_secret=PINS["tech"])
    with pytest.raises(services.StockNotPermitted, match="not on the staff"):
        room.receive(room.controlled_order, witness=room.outsider, witness_secret="715962")

    assert not StockItem.objects.exists()


def test_it_accepts_the_witnesss_password_as_well_as_their_pin(room):
    item = room.receive(room.controlled_order, witness=room.nurse, witness_secret="demo-pass-2026")

    receipt = item.transactions.get()
    assert receipt.witness == room.nurse
    assert receipt.performed_by == room.tech


def test_it_refuses_expired_stock_a_mismatched_label_and_a_discontinued_order(room):
    with pytest.raises(services.StockInvalid, match="expired on Nov 19, 2026"):
        room.receive(expires_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(services.StockInvalid, match="not this order's"):
        room.receive(rx_number="RX999")
    Order.objects.filter(pk=room.order.pk).update(
        status=Order.Status.DISCONTINUED, status_reason="Stopped by Dr. Ortiz"
    )
    with pytest.raises(services.StockInvalid, match="discontinued"):
        room.receive()


def test_it_adds_the_balance_of_a_partial_fill_to_the_same_card(room):
    item = room.receive(quantity="10")

    services.stock_receive(by=room.tech, quantity=Decimal("20"), now=NOW, item=item)

    assert on_hand(item) == ledger_sum(item) == 30
    assert list(item.transactions.order_by("id").values_list("balance_after", flat=True)) == [
        10,
        30,
    ]


def test_receiving_closes_the_open_refill_request(room):
    request = services.reorder_request(
        resident=room.resident, medication=room.medication, by=room.nurse, now=NOW
    )

    item = room.receive(now=NOW + dt.timedelta(hours=5))

    request.refresh_from_db()
    assert request.status == ReorderRequest.Status.RECEIVED
    assert (request.received_by, request.received_item) == (room.tech, item)


def test_it_wastes_with_a_reason_and_a_witness_for_a_controlled_substance(room):
    item = room.receive(room.controlled_order, quantity="20")

    with pytest.raises(services.StockInvalid, match="Say why"):
        services.stock_waste(item=item, quantity=Decimal("1"), reason=" ", by=room.tech, now=NOW)
    with pytest.raises(services.WitnessRequired):
        services.stock_waste(
            item=item, quantity=Decimal("1"), reason="Dropped", by=room.tech, now=NOW
        )
    row = services.stock_waste(
        item=item,
        quantity=Decimal("1"),
        reason="Dropped on the floor",
        by=room.tech,
        now=NOW,
        witness=room.witness,
        witness_secret=PINS["witness"],
    )

    assert (row.kind, row.quantity, row.balance_after, row.witness) == (
        "waste",
        -1,
        19,
        room.witness,
    )
    assert on_hand(item) == ledger_sum(item) == 19


def test_it_never_takes_more_than_is_on_hand(room):
    item = room.receive(quantity="2")

    with pytest.raises(services.StockUnavailable, match="Only 2 tablets of lisinopril"):
        services.stock_waste(
            item=item, quantity=Decimal("3"), reason="Dropped", by=room.tech, now=NOW
        )
    with pytest.raises(services.StockUnavailable):
        services.stock_adjust(
            item=item, quantity=Decimal("-3"), reason="Miscount", by=room.nurse, now=NOW
        )

    assert on_hand(item) == ledger_sum(item) == 2


def test_only_nurses_and_administrators_return_adjust_and_transfer(room):
    item = room.receive()

    with pytest.raises(services.StockNotPermitted, match="Only nurses and administrators"):
        services.stock_return(item=item, by=room.tech, now=NOW)
    with pytest.raises(services.StockNotPermitted):
        services.stock_adjust(
            item=item, counted=Decimal("29"), reason="Miscount", by=room.tech, now=NOW
        )
    with pytest.raises(services.StockNotPermitted):
        services.stock_transfer(item=item, to_cart=room.other_cart, by=room.tech, now=NOW)

    assert on_hand(item) == 30


def test_nobody_moves_another_communitys_stock(room):
    item = room.receive()

    with pytest.raises(services.StockNotPermitted, match="not a member"):
        services.stock_waste(
            item=item, quantity=Decimal("1"), reason="Dropped", by=room.outsider, now=NOW
        )
    with pytest.raises(services.StockNotPermitted):
        services.stock_receive(by=room.outsider, quantity=Decimal("5"), now=NOW, item=item)


def test_it_returns_everything_left_to_the_pharmacy(room):
    item = room.receive(room.controlled_order, quantity="12")

    row = services.stock_return(
        item=item,
        by=room.nurse,
        now=NOW,
        reason="Order discontinued",
        witness=room.tech,
        witness_secret=PINS["tech"],
    )

    assert (row.kind, row.quantity, row.balance_after) == ("return", -12, 0)
    assert on_hand(item) == ledger_sum(item) == 0


def test_it_adjusts_to_the_counted_quantity_under_the_lock(room):
    item = room.receive()

    row = services.stock_adjust(
        item=item,
        counted=Decimal("28"),
        reason="Two tablets missing at count",
        by=room.nurse,
        now=NOW,
    )

    assert (row.kind, row.quantity, row.balance_after) == ("adjust", -2, 28)
    assert on_hand(item) == ledger_sum(item) == 28


def test_a_transfer_writes_a_linked_pair_of_rows_and_keeps_the_package(room):
    item = room.receive(quantity="30")

    out, into = services.stock_transfer(
        item=item,
        to_cart=room.other_cart,
        by=room.nurse,
        now=NOW,
        quantity=Decimal("10"),
        reason="Room move",
    )

    moved = into.stock_item
    assert (out.kind, out.quantity, into.kind, into.quantity) == (
        "transfer_out",
        -10,
        "transfer_in",
        10,
    )
    assert out.transfer_pair == into
    assert StockTransaction.objects.get(pk=into.pk).transfer_pair == out
    assert moved.cart == room.other_cart
    assert (moved.lot, moved.expires_on, moved.resident, moved.order) == (
        item.lot,
        item.expires_on,
        item.resident,
        item.order,
    )
    assert on_hand(item) == ledger_sum(item) == 20
    assert on_hand(moved) == ledger_sum(moved) == 10

    back, _ = services.stock_transfer(item=moved, to_cart=room.cart, by=room.nurse, now=NOW)

    assert on_hand(item) == 30
    assert on_hand(moved) == 0
    assert StockItem.objects.count() == 2
    assert back.balance_after == 0


def test_a_transfer_stays_inside_the_community(room):
    item = room.receive()
    elsewhere = type(room.cart).objects.create(facility=room.outsider.facilities.get(), name="Far")

    with pytest.raises(services.StockInvalid, match="same community"):
        services.stock_transfer(item=item, to_cart=elsewhere, by=room.nurse, now=NOW)
    with pytest.raises(services.StockInvalid, match="already"):
        services.stock_transfer(item=item, to_cart=room.cart, by=room.nurse, now=NOW)


def test_a_refill_request_is_open_once_per_medication(room):
    services.reorder_request(
        resident=room.resident, medication=room.medication, by=room.nurse, now=NOW
    )

    with pytest.raises(services.StockInvalid, match="already requested by"):
        services.reorder_request(
            resident=room.resident, medication=room.medication, by=room.second_nurse, now=NOW
        )
    with pytest.raises(services.StockNotPermitted):
        services.reorder_request(
            resident=room.resident, medication=room.controlled, by=room.tech, now=NOW
        )
