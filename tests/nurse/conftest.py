"""A small community with history, built through the real services: orders, doses
materialized day by day, doses charted given, late or refused, the rest closed missed."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from mar.models import Order, ScheduledDose
from mar.services import administrations as charting
from mar.services.doses import doses_close_missed, doses_sync_for_order
from staff.models import User
from tests import clock
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    StockItemFactory,
    UnitFactory,
)
from tests.world import person

# Friday 2026-11-20, 13:00 in Chicago (CST, UTC-6).
NOW = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)


@pytest.fixture
def moment() -> dt.datetime:
    """The moment these tests stand at."""
    return NOW


class Ward:
    """One facility, two units with a cart each, residents with a twice-daily order, a med
    tech, two nurses and an administrator; another facility with its own nurse."""

    def __init__(self, *, residents: int = 2) -> None:
        self.facility = FacilityFactory(requires_second_check=True)
        self.units = [UnitFactory(facility=self.facility, name=f"Wing {c}") for c in "AB"]
        self.carts = [
            MedCartFactory(facility=self.facility, unit=unit, name=f"Cart {unit.name[-1]}")
            for unit in self.units
        ]
        self.tech = person(self.facility, User.Role.MED_TECH, title="CMA")
        self.nurse = person(self.facility, User.Role.NURSE, title="RN")
        self.second_nurse = person(self.facility, User.Role.NURSE, title="LPN")
        self.admin = person(self.facility, User.Role.ADMINISTRATOR, certified=False, title="")
        self.residents = []
        self.orders: list[Order] = []
        for _ in range(residents):
            self.add_resident()
        self.other_facility = FacilityFactory()
        self.other_nurse = person(self.other_facility, User.Role.NURSE, certified=False, title="RN")
        self.other_resident = ResidentFactory(facility=self.other_facility)

    def add_resident(self):
        number = len(self.residents)
        unit, cart = self.units[number % 2], self.carts[number % 2]
        room = RoomFactory(facility=self.facility, unit=unit, cart=cart)
        resident = ResidentFactory(facility=self.facility, room=room)
        order = OrderFactory(
            resident=resident,
            medication=MedicationFactory(),
            starts_at=clock.now() - dt.timedelta(days=40),
            entered_at=clock.now() - dt.timedelta(days=40),
            verified_at=clock.now() - dt.timedelta(days=40),
            entered_by=self.nurse,
            verified_by=self.second_nurse,
        )
        StockItemFactory(
            cart=cart,
            resident=resident,
            medication=order.medication,
            order=order,
            quantity_on_hand=Decimal("500"),
            expires_on=clock.today() + dt.timedelta(days=400),
        )
        self.residents.append(resident)
        self.orders.append(order)
        return resident

    def materialize(self, *, days: int, now: dt.datetime = NOW) -> None:
        for offset in range(days, 0, -1):
            for order in self.orders:
                doses_sync_for_order(order=order, now=now - dt.timedelta(days=offset))

    def chart(self, dose: ScheduledDose, *, status: str = "given", late_minutes: int = 0, **kw):
        at = dose.scheduled_at + dt.timedelta(minutes=late_minutes)
        if late_minutes > 0:
            at = dose.window_end + dt.timedelta(minutes=late_minutes)
        return charting.administration_record(
            user=kw.pop("user", self.tech),
            idempotency_key=str(uuid.uuid4()),
            now=at,
            entry=charting.ChartEntry(status=status, administered_at=at, scheduled_dose=dose, **kw),
        ).administration

    def history(self, *, days: int, now: dt.datetime = NOW) -> None:
        """Each resident's doses of the last ``days`` days: the 08:00 given on time, the
        20:00 refused, except the last day's 20:00 (given late); left-over doses missed."""
        self.materialize(days=days, now=now)
        for order in self.orders:
            doses = list(
                order.doses.filter(scheduled_at__lt=now - dt.timedelta(hours=4)).order_by(
                    "scheduled_at"
                )
            )
            for index, dose in enumerate(doses):
                local = dose.scheduled_at.astimezone(self.facility.zone)
                if index == len(doses) - 1:
                    continue  # left to be missed
                if local.hour == 8:
                    self.chart(dose)
                elif index == len(doses) - 2:
                    self.chart(dose, late_minutes=20)
                else:
                    self.chart(dose, status="refused", reason="Said no")
        doses_close_missed(now=now)


@pytest.fixture
def ward(db) -> Ward:
    return Ward()
