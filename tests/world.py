"""The world the tests stand in, built one way.

Every suite's community (``community``, ``ward``, ``room``, ``world``) is made of the
pieces here: ``person`` for staff, ``Community`` for the one-cart community most tests
need, ``order_in_stock`` for an order with its stock on the cart and its doses
materialized. A suite adds only what its tests are about (a second unit, PINs, one
record of every kind), so a reader finds the pieces once and the suite's own in its
conftest.

Times come from ``tests.clock``: ``NOW`` is Friday 2026-11-20 07:00 in Chicago and
``AT`` half an hour later, when a community's 08:00 dose is due.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from inventory.models import CartAssignment
from mar.models import Order, ScheduledDose
from mar.services.doses import doses_sync_for_order
from residents.models import Facility, Resident
from staff.models import Certification, User
from staff.services import user_set_pin
from tests.clock import NOW
from tests.factories import (
    DEMO_PASSWORD,
    CertificationFactory,
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    StockItemFactory,
    UserFactory,
)

AT = NOW + dt.timedelta(minutes=30)  # 07:30 in Chicago: the 08:00 dose is due

# What a certified person of each role holds (an administrator is certified as an aide).
CERTIFICATION_FOR_ROLE = {User.Role.NURSE: Certification.Kind.NURSE_LICENSE}

# A PRN order's limits in the tests: every four hours, three a day.
PRN = {
    "frequency": Order.Frequency.PRN,
    "administration_times": [],
    "prn_min_interval_minutes": 240,
    "prn_max_per_24h": 3,
}


def person(
    facility: Facility, role: str, *, certified: bool = True, pin: str | None = None, **fields
) -> User:
    """A member of the facility's staff: certified for their role unless told not to, with
    a tablet PIN when one is given (signed with the demo password)."""
    user = UserFactory(role=role, facility=facility, **fields)
    if pin is not None:
        user_set_pin(user=user, pin=pin, password=DEMO_PASSWORD)
    if certified:
        kind = CERTIFICATION_FOR_ROLE.get(role, Certification.Kind.MEDICATION_AIDE)
        CertificationFactory(user=user, kind=kind)
    return user


def order_in_stock(
    *,
    resident: Resident,
    cart,
    quantity: str = "30",
    stock_in_dose_unit: bool = False,
    now: dt.datetime | None = AT,
    **fields,
) -> Order:
    """An order with its stock on the cart (counted in tablets, or in the order's dose
    unit when asked), its doses materialized as of ``now`` (none when ``now`` is None:
    the test materializes them itself)."""
    order = OrderFactory(resident=resident, **fields)
    StockItemFactory(
        cart=cart,
        resident=resident,
        medication=order.medication,
        order=order,
        quantity_on_hand=Decimal(quantity),
        unit=order.dose_unit if stock_in_dose_unit else "tablet",
    )
    if now is not None:
        doses_sync_for_order(order=order, now=now)
    return order


def first_dose(order: Order) -> ScheduledDose | None:
    """The order's earliest materialized dose (the 08:00 one, due at ``AT``)."""
    return order.doses.order_by("scheduled_at", "id").first()


def dose_due(order: Order, at: dt.datetime = AT) -> ScheduledDose | None:
    """The order's dose whose window is open at ``at``."""
    return order.doses.filter(window_start__lte=at, window_end__gte=at).order_by("id").first()


class Community:
    """One facility with a cart, a room on it, a resident there, a certified med tech and
    two nurses (licensed when asked: some tests are about a nurse without a license)."""

    def __init__(self, *, licensed_nurses: bool = False, **facility_fields) -> None:
        self.facility = FacilityFactory(**{"requires_second_check": True} | facility_fields)
        self.cart = MedCartFactory(facility=self.facility)
        self.room = RoomFactory(facility=self.facility, unit=self.cart.unit, cart=self.cart)
        self.resident = ResidentFactory(facility=self.facility, room=self.room)
        self.tech = person(self.facility, User.Role.MED_TECH)
        self.nurse = person(self.facility, User.Role.NURSE, certified=licensed_nurses, title="RN")
        self.second_nurse = person(
            self.facility, User.Role.NURSE, certified=licensed_nurses, title="LPN"
        )
        self.medication = MedicationFactory()

    def put_on_duty(self, user: User, at: dt.datetime = NOW) -> CartAssignment:
        return CartAssignment.objects.create(cart=self.cart, user=user, started_at=at)

    def stocked_order(self, **fields) -> Order:
        """An order for the resident, stocked on the cart, its doses materialized."""
        return order_in_stock(resident=self.resident, cart=self.cart, **fields)

    def prn_order(self, **fields) -> Order:
        """A PRN order (every four hours, three a day) stocked on the cart."""
        return self.stocked_order(**PRN | {"indication": "Knee pain"} | fields)

    def colleague(self, role: str = User.Role.MED_TECH, **fields) -> User:
        """Another certified member of the staff."""
        return person(self.facility, role, **fields)
