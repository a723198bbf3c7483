import datetime as dt
from decimal import Decimal

import pytest

from inventory import services
from inventory.models import StockItem, StockTransaction
from mar.models import Medication, Order
from staff.models import User
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
)
from tests.world import person

# Friday 2026-11-20, 08:00 in Chicago (CST, UTC-6).
NOW = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def moment() -> dt.datetime:
    """The moment these tests stand at."""
    return NOW


TODAY = dt.date(2026, 11, 20)
PINS = {
    "tech": "258031",
    "witness": "369140",
    "nurse": "482613",
    "second_nurse": "593728",
    "admin": "604851",
}


class Stockroom:
    """One community with two carts, a resident on the first, staff with PINs, and an
    outsider from another community."""

    def __init__(self) -> None:
        self.facility = FacilityFactory()
        self.cart = MedCartFactory(facility=self.facility, name="Cart A")
        self.other_cart = MedCartFactory(facility=self.facility, name="Cart B")
        room = RoomFactory(facility=self.facility, unit=self.cart.unit, cart=self.cart)
        self.resident = ResidentFactory(facility=self.facility, room=room)
        self.tech = person(self.facility, User.Role.MED_TECH, pin=PINS["tech"], title="CMA")
        self.witness = person(self.facility, User.Role.MED_TECH, pin=PINS["witness"], title="CMA")
        self.nurse = person(self.facility, User.Role.NURSE, pin=PINS["nurse"], title="RN")
        self.second_nurse = person(self.facility, User.Role.NURSE, pin=PINS["second_nurse"])
        self.admin = person(self.facility, User.Role.ADMINISTRATOR, pin=PINS["admin"], title="")
        self.outsider = person(FacilityFactory(), User.Role.NURSE, pin="715962")
        self.medication = MedicationFactory(generic_name="lisinopril", strength="10 mg")
        self.controlled = MedicationFactory(
            generic_name="hydrocodone/acetaminophen",
            strength="5 mg-325 mg",
            dea_schedule=Medication.DeaSchedule.II,
        )
        self.order = self.order_for(self.medication, rx_number="RX100200")
        self.controlled_order = self.order_for(self.controlled, rx_number="RX100300")

    def order_for(self, medication: Medication, **fields) -> Order:
        since = NOW - dt.timedelta(days=30)
        defaults = {
            "resident": self.resident,
            "starts_at": since,
            "entered_at": since,
            "verified_at": since,
        }
        return OrderFactory(medication=medication, **defaults | fields)

    def receive(self, order: Order | None = None, quantity="30", **fields) -> StockItem:
        order = order or self.order
        defaults = {
            "lot": "L2231A",
            "expires_on": TODAY + dt.timedelta(days=180),
            "now": NOW,
            "by": self.tech,
        }
        if order.medication.is_controlled:
            defaults |= {"witness": self.nurse, "witness_secret": PINS["nurse"]}
        row = services.stock_receive(order=order, quantity=Decimal(quantity), **defaults | fields)
        return row.stock_item


def ledger_sum(item: StockItem) -> Decimal:
    return sum(
        StockTransaction.objects.filter(stock_item=item).values_list("quantity", flat=True),
        Decimal(0),
    )


def on_hand(item: StockItem) -> Decimal:
    item.refresh_from_db()
    return item.quantity_on_hand


@pytest.fixture
def room(db) -> Stockroom:
    return Stockroom()
