"""Days of supply, the reorder list, expiry, the daily job, and the demo community."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from demo.community import DEMO_FACILITY_NAME, demo_community_seed
from inventory import selectors, services
from inventory.models import ReorderRequest, StockItem
from mar.models import Administration, Notification, Order
from mar.services import administrations as charting
from residents.models import Facility
from tests.inventory.conftest import NOW, TODAY


def supply_of(room, medication):
    return selectors.facility_supplies(facility=room.facility, now=NOW)[
        (room.resident.pk, medication.pk)
    ]


def test_days_of_supply_come_from_the_schedule(room):
    room.receive(quantity="9")  # twice a day: 4.5 days

    supply = supply_of(room, room.medication)

    assert supply.daily_use == 2
    assert supply.days_left == Decimal("4.5")
    assert supply.days_left_text == "4 days"
    assert supply.is_low


def test_expired_stock_does_not_count_as_supply(room):
    room.receive(quantity="30")
    expired = room.receive(quantity="30")
    StockItem.objects.filter(pk=expired.pk).update(expires_on=TODAY - dt.timedelta(days=1))

    assert supply_of(room, room.medication).on_hand == 30


def test_the_threshold_is_the_communitys_setting(room):
    room.receive(quantity="9")
    Facility.objects.filter(pk=room.facility.pk).update(reorder_threshold_days=3)
    room.facility.refresh_from_db()

    assert not supply_of(room, room.medication).is_low


def test_prn_days_of_supply_come_from_the_last_fourteen_days_use(room):
    prn = room.order_for(
        room.controlled,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=3,
        indication="Pain",
    )
    Order.objects.filter(pk=room.controlled_order.pk).update(
        status=Order.Status.DISCONTINUED, status_reason="Replaced by the PRN order"
    )
    room.receive(prn, quantity="10")
    for days_ago in (1, 3, 5, 7, 9, 11, 13, 20):  # the 20-day-old dose is outside the window
        at = NOW - dt.timedelta(days=days_ago)
        charting.administration_record(
            user=room.tech,
            idempotency_key=str(uuid.uuid4()),
            now=at,
            entry=charting.ChartEntry(
                status=Administration.Status.GIVEN,
                administered_at=at,
                order=prn,
                prn_reason="Knee pain 6/10",
            ),
        )

    supply = supply_of(room, room.controlled)

    assert supply.is_prn_only
    assert supply.daily_use == Decimal(7) / 14
    assert supply.on_hand == 2
    assert supply.whole_days_left == 4
    assert "PRN use" in supply.daily_use_text


def test_an_unused_prn_is_never_low(room):
    prn = room.order_for(
        room.medication,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=3,
    )
    Order.objects.filter(pk=room.order.pk).delete()
    room.receive(prn, quantity="2")

    supply = supply_of(room, room.medication)

    assert supply.days_left is None
    assert not supply.is_low


def test_an_active_order_with_nothing_on_the_cart_needs_reordering(room):
    supply = supply_of(room, room.controlled)

    assert supply.on_hand == 0
    assert supply.days_left_text == "Less than a day"
    assert supply.is_low


def test_the_reorder_list_moves_from_needed_to_requested_to_received(room):
    room.receive(quantity="6")
    room.receive(room.controlled_order, quantity="60")

    needed = selectors.reorder_list(facility=room.facility, now=NOW)
    services.reorder_request(
        resident=room.resident, medication=room.medication, by=room.nurse, now=NOW, note="Faxed"
    )
    requested = selectors.reorder_list(facility=room.facility, now=NOW)
    request = ReorderRequest.objects.get()
    services.reorder_mark_received(request=request, by=room.admin, now=NOW)
    received = selectors.reorder_list(facility=room.facility, now=NOW)

    assert [s.medication for s in needed.needed] == [room.medication]
    assert requested.needed == []
    assert [s.request.note for s in requested.requested] == ["Faxed"]
    assert received.requested == []
    assert [r.received_by for r in received.received] == [room.admin]


def test_the_expiry_list_splits_expired_from_expiring(room):
    soon = room.receive(expires_on=TODAY + dt.timedelta(days=10))
    later = room.receive(expires_on=TODAY + dt.timedelta(days=200))
    gone = room.receive()
    StockItem.objects.filter(pk=gone.pk).update(expires_on=TODAY - dt.timedelta(days=2))

    expiry = selectors.expiry_list(facility=room.facility, now=NOW)

    assert expiry.expired == [gone]
    assert expiry.expiring == [soon]
    assert later not in expiry.expiring


def test_the_daily_job_tells_the_nurses_once_about_low_and_expiring_stock(room):
    room.receive(quantity="4", expires_on=TODAY + dt.timedelta(days=12))
    room.receive(room.controlled_order, quantity="60")

    services.stock_daily_check(today=TODAY, now=NOW)
    services.stock_daily_check(today=TODAY, now=NOW + dt.timedelta(days=1))

    nurses = sorted([room.nurse.pk, room.second_nurse.pk])
    low = Notification.objects.filter(kind=Notification.Kind.LOW_STOCK)
    expiring = Notification.objects.filter(kind=Notification.Kind.EXPIRING_STOCK)
    assert sorted(low.values_list("recipient_id", flat=True)) == nurses
    assert sorted(expiring.values_list("recipient_id", flat=True)) == nurses
    assert "2 days left" in low.first().body
    assert low.first().link == "/inventory/reorders/"


def test_the_daily_job_is_quiet_about_stock_already_requested(room):
    room.receive(quantity="4")
    room.receive(room.controlled_order, quantity="60")
    services.reorder_request(
        resident=room.resident, medication=room.medication, by=room.nurse, now=NOW
    )

    services.stock_daily_check(today=TODAY, now=NOW)

    assert not Notification.objects.filter(kind=Notification.Kind.LOW_STOCK).exists()


@pytest.mark.django_db
def test_the_demo_communitys_reorder_list_shows_its_partial_fills():
    demo_community_seed(now=NOW)
    facility = Facility.objects.get(name=DEMO_FACILITY_NAME)

    reorders = selectors.reorder_list(facility=facility, now=NOW)

    partial_fills = set(
        StockItem.objects.filter(
            cart__facility=facility, transactions__reason__startswith="Partial fill"
        ).values_list("resident_id", "medication_id")
    )
    listed = {(s.resident.pk, s.medication.pk) for s in reorders.needed}
    assert partial_fills <= listed
    assert all(s.is_low for s in reorders.needed)
    assert 3 <= len(reorders.needed) <= 12
