"""The controlled-substance shift count: blind, signed by two people, discrepancies to the
nurses until one resolves them."""

import datetime as dt
from decimal import Decimal

import pytest

from inventory import services
from inventory.models import ControlledCount, StockTransaction
from mar.models import Notification
from tests.inventory.conftest import NOW, PINS, ledger_sum, on_hand

LATER = NOW + dt.timedelta(minutes=10)


@pytest.fixture
def cart_with_controlled(room):
    """Two controlled cards (20 and 12) and one ordinary card on Cart A."""
    room.first = room.receive(room.controlled_order, quantity="20")
    room.second = room.receive(room.controlled_order, quantity="12", lot="L9")
    room.ordinary = room.receive(quantity="30")
    return room


def start(room) -> ControlledCount:
    return services.count_start(
        cart=room.cart, outgoing_user=room.tech, incoming_user=room.witness, by=room.tech, now=NOW
    )


def counts_for(count: ControlledCount, *quantities: str) -> dict[int, str]:
    lines = list(count.lines.order_by("id"))
    return {line.pk: quantity for line, quantity in zip(lines, quantities, strict=True)}


def both_count(room, *quantities: str) -> ControlledCount:
    """A count both people signed with the same ``quantities``, one line each."""
    count = start(room)
    for side, secret in (("outgoing", PINS["tech"]), ("incoming", PINS["witness"])):
        services.count_sign(
            count=count,
            side=side,
            quantities=counts_for(count, *quantities),
            secret=secret,
            now=LATER,
        )
    return count


def test_it_counts_every_controlled_package_on_the_cart_and_nothing_else(cart_with_controlled):
    room = cart_with_controlled

    count = start(room)

    lines = list(count.lines.order_by("id"))
    assert [line.stock_item for line in lines] == [room.first, room.second]
    assert [line.expected_quantity for line in lines] == [20, 12]
    assert count.status == ControlledCount.Status.IN_PROGRESS


def test_the_same_person_cannot_count_both_sides(cart_with_controlled):
    room = cart_with_controlled

    with pytest.raises(services.StockInvalid, match="two different people"):
        services.count_start(
            cart=room.cart, outgoing_user=room.tech, incoming_user=room.tech, by=room.tech, now=NOW
        )


def test_a_second_count_of_the_cart_waits_for_the_first(cart_with_controlled):
    room = cart_with_controlled
    start(room)

    with pytest.raises(services.CountClosed, match="already in progress"):
        services.count_start(
            cart=room.cart,
            outgoing_user=room.nurse,
            incoming_user=room.witness,
            by=room.nurse,
            now=NOW,
        )


def test_two_matching_counts_close_the_count_without_alerting_anyone(cart_with_controlled):
    room = cart_with_controlled
    count = start(room)

    services.count_sign(
        count=count,
        side="outgoing",
        quantities=counts_for(count, "20", "12"),
        secret=PINS["tech"],
        now=LATER,
    )
    count = services.count_sign(
        count=count,
        side="incoming",
        quantities=counts_for(count, "20", "12"),
        secret="demo-pass-2026",
        now=LATER,
    )

    assert count.status == ControlledCount.Status.MATCHED
    assert (count.outgoing_signed_at, count.incoming_signed_at) == (LATER, LATER)
    assert not Notification.objects.filter(kind=Notification.Kind.COUNT_DISCREPANCY).exists()


def test_each_person_signs_with_their_own_pin(cart_with_controlled):
    room = cart_with_controlled
    count = start(room)

    with pytest.raises(services.SignatureRefused, match="Wrong PIN"):
        services.count_sign(
            count=count,
            side="incoming",
            quantities=counts_for(count, "20", "12"),
            secret=PINS["tech"],
            now=LATER,
        )
    with pytest.raises(services.StockInvalid, match="every item"):
        services.count_sign(
            count=count, side="incoming", quantities={}, secret=PINS["witness"], now=LATER
        )

    count.refresh_from_db()
    assert count.incoming_signed_at is None
    assert not count.lines.filter(incoming_quantity__isnull=False).exists()


def test_a_count_that_differs_from_the_ledger_reaches_every_nurse_at_once(cart_with_controlled):
    room = cart_with_controlled
    count = start(room)
    services.count_sign(
        count=count,
        side="outgoing",
        quantities=counts_for(count, "19", "12"),
        secret=PINS["tech"],
        now=LATER,
    )

    count = services.count_sign(
        count=count,
        side="incoming",
        quantities=counts_for(count, "19", "12"),
        secret=PINS["witness"],
        now=LATER,
    )

    assert count.status == ControlledCount.Status.DISCREPANCY
    alerts = Notification.objects.filter(kind=Notification.Kind.COUNT_DISCREPANCY)
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(
        [room.nurse.pk, room.second_nurse.pk]
    )
    alert = alerts.first()
    assert "Count discrepancy on Cart A" in alert.title
    assert "ledger 20, counted 19 (outgoing) and 19 (incoming)" in alert.body
    assert alert.link == f"/inventory/counts/{count.public_id}/"


def test_two_people_who_disagree_are_a_discrepancy_even_if_one_matches_the_ledger(
    cart_with_controlled,
):
    room = cart_with_controlled
    count = start(room)
    services.count_sign(
        count=count,
        side="incoming",
        quantities=counts_for(count, "20", "12"),
        secret=PINS["witness"],
        now=LATER,
    )

    count = services.count_sign(
        count=count,
        side="outgoing",
        quantities=counts_for(count, "20", "11"),
        secret=PINS["tech"],
        now=LATER,
    )

    assert count.status == ControlledCount.Status.DISCREPANCY


def test_only_a_nurse_resolves_a_discrepancy_and_only_with_a_note(cart_with_controlled):
    room = cart_with_controlled
    count = both_count(room, "18", "12")

    with pytest.raises(services.StockNotPermitted, match="Only a nurse"):
        services.count_resolve(count=count, by=room.admin, note="Found it", now=LATER)
    with pytest.raises(services.StockInvalid, match="Write what you found"):
        services.count_resolve(count=count, by=room.nurse, note="  ", now=LATER)
    resolved = services.count_resolve(
        count=count,
        by=room.nurse,
        note="Two tablets wasted last night without a record; waste documented late.",
        now=LATER,
        adjust_to_count=True,
    )

    assert resolved.status == ControlledCount.Status.RESOLVED
    assert resolved.resolved_by == room.nurse
    adjustment = StockTransaction.objects.get(kind="adjust")
    assert (adjustment.stock_item, adjustment.quantity) == (room.first, -2)
    assert on_hand(room.first) == ledger_sum(room.first) == 18
    assert on_hand(room.second) == 12


def test_a_closed_count_cannot_be_signed_again(cart_with_controlled):
    room = cart_with_controlled
    count = start(room)
    services.count_cancel(count=count, by=room.witness, now=LATER)

    with pytest.raises(services.CountClosed, match="cancelled"):
        services.count_sign(
            count=count,
            side="outgoing",
            quantities=counts_for(count, "20", "12"),
            secret=PINS["tech"],
            now=LATER,
        )
    assert start(room).status == ControlledCount.Status.IN_PROGRESS


def test_a_cart_without_controlled_substances_has_nothing_to_count(room):
    room.receive(quantity="30")

    with pytest.raises(services.StockInvalid, match="no controlled substances"):
        start(room)


def test_a_count_line_keeps_the_ledger_as_it_was_when_the_count_started(cart_with_controlled):
    room = cart_with_controlled
    count = start(room)

    services.stock_waste(
        item=room.first,
        quantity=Decimal(1),
        reason="Dropped",
        by=room.nurse,
        now=LATER,
        witness=room.tech,
        witness_secret=PINS["tech"],
    )

    assert count.lines.get(stock_item=room.first).expected_quantity == 20


def test_a_discrepancy_resolved_by_one_nurse_is_handled_for_the_other(cart_with_controlled):
    room = cart_with_controlled
    count = both_count(room, "18", "12")
    alerts = Notification.objects.filter(kind=Notification.Kind.COUNT_DISCREPANCY)
    assert alerts.filter(recipient=room.second_nurse, read_at__isnull=True).exists()

    services.count_resolve(count=count, by=room.nurse, note="Waste found in the log", now=LATER)

    assert not alerts.filter(read_at__isnull=True).exists()
