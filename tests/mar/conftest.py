import datetime as dt

import pytest

from inventory.models import CartAssignment
from staff.models import User
from tests.clock import NOW
from tests.factories import (
    CertificationFactory,
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    ResidentFactory,
    RoomFactory,
    UserFactory,
)


class Community:
    """One facility with a cart, a resident on it, a med tech on duty and two nurses."""

    def __init__(self) -> None:
        self.facility = FacilityFactory(requires_second_check=True)
        self.cart = MedCartFactory(facility=self.facility)
        room = RoomFactory(facility=self.facility, unit=self.cart.unit, cart=self.cart)
        self.resident = ResidentFactory(facility=self.facility, room=room)
        self.tech = UserFactory(role=User.Role.MED_TECH, facility=self.facility)
        CertificationFactory(user=self.tech)
        self.nurse = UserFactory(role=User.Role.NURSE, title="RN", facility=self.facility)
        self.second_nurse = UserFactory(role=User.Role.NURSE, title="LPN", facility=self.facility)
        self.medication = MedicationFactory()

    def put_on_duty(self, user: User, at: dt.datetime = NOW) -> CartAssignment:
        return CartAssignment.objects.create(cart=self.cart, user=user, started_at=at)


@pytest.fixture
def community(db) -> Community:
    return Community()
