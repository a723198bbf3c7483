"""factory_boy factories for the domain models.

Tests build state through the real services where those exist; these factories
make the rows those services start from (a facility, a resident, an order).
"""

import datetime as dt
from decimal import Decimal

import factory

from inventory.models import MedCart, StockItem
from mar.models import Medication, Order, Route
from residents.models import Facility, MedPassTime, Resident, Room, Unit
from staff.models import Certification, FacilityMembership, User
from tests import clock

DEMO_PASSWORD = "demo-pass-2026"


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Test Community {n}")
    time_zone = "America/Chicago"
    # Scanning is the product's default; the tests of scanning ask for it, the others chart
    # without a package in hand.
    requires_scan = False

    @factory.post_generation
    def pass_times(self, create, extracted, **kwargs):
        if not create:
            return
        for name, hour in (extracted or {"AM": 8, "Noon": 12, "PM": 17, "HS": 21}).items():
            MedPassTime.objects.create(facility=self, name=name, time_of_day=dt.time(hour))


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"Unit {n}")


class MedCartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedCart

    facility = factory.SubFactory(FacilityFactory)
    unit = factory.SubFactory(UnitFactory, facility=factory.SelfAttribute("..facility"))
    name = factory.Sequence(lambda n: f"Cart {n}")


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    facility = factory.SubFactory(FacilityFactory)
    unit = factory.SubFactory(UnitFactory, facility=factory.SelfAttribute("..facility"))
    number = factory.Sequence(lambda n: f"{100 + n}")
    cart = None


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    facility = factory.SubFactory(FacilityFactory)
    room = factory.SubFactory(RoomFactory, facility=factory.SelfAttribute("..facility"))
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = dt.date(1940, 5, 17)
    admitted_on = dt.date(2024, 1, 8)
    physician = "Dr. Ana Ortiz"
    pharmacy = "Corner Pharmacy"
    has_no_known_allergies = True


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = User.Role.MED_TECH
    initials = factory.Sequence(lambda n: f"U{chr(65 + n % 26)}{n % 10}")
    title = "CMA"
    password = factory.PostGenerationMethodCall("set_password", DEMO_PASSWORD)

    @factory.post_generation
    def facility(self, create, extracted, **kwargs):
        if create and extracted is not None:
            FacilityMembership.objects.create(user=self, facility=extracted)
        if create:
            self.save()


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certification

    user = factory.SubFactory(UserFactory)
    kind = Certification.Kind.MEDICATION_AIDE
    number = factory.Sequence(lambda n: f"CMA-{10000 + n}")
    state = "IL"
    issued_on = factory.LazyFunction(lambda: clock.today() - dt.timedelta(days=300))
    expires_on = factory.LazyFunction(lambda: clock.today() + dt.timedelta(days=400))


class MedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Medication

    generic_name = factory.Sequence(lambda n: f"testamine {n}")
    strength = "10 mg"
    form = Medication.Form.TABLET
    default_route = Route.ORAL


class OrderFactory(factory.django.DjangoModelFactory):
    """An active, verified order for 08:00 and 20:00 daily."""

    class Meta:
        model = Order

    resident = factory.SubFactory(ResidentFactory)
    medication = factory.SubFactory(MedicationFactory)
    dose_amount = Decimal("1")
    dose_unit = "tablet"
    route = Route.ORAL
    frequency = Order.Frequency.TIMES_OF_DAY
    administration_times = factory.LazyFunction(lambda: ["08:00", "20:00"])
    starts_at = factory.LazyFunction(lambda: clock.now() - dt.timedelta(days=7))
    prescriber = "Dr. Ana Ortiz"
    status = Order.Status.ACTIVE
    entered_by = factory.SubFactory(UserFactory, role=User.Role.NURSE, title="RN", facility=None)
    # Entered and verified an hour before it starts, as a nurse would.
    entered_at = factory.LazyAttribute(lambda order: order.starts_at - dt.timedelta(hours=1))
    verified_by = factory.SubFactory(UserFactory, role=User.Role.NURSE, title="LPN")
    verified_at = factory.LazyAttribute(lambda order: order.starts_at - dt.timedelta(hours=1))


class StockItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockItem

    cart = factory.SubFactory(MedCartFactory)
    resident = factory.SubFactory(ResidentFactory)
    medication = factory.SubFactory(MedicationFactory)
    package = StockItem.Package.BLISTER_CARD
    quantity_on_hand = Decimal("30")
    unit = "tablet"
    expires_on = factory.LazyFunction(lambda: clock.today() + dt.timedelta(days=180))
    received_at = factory.LazyFunction(clock.now)


def api_token(user: User) -> str:
    """A new API token of ``user``, as ``POST /api/v1/auth/token/`` hands it out."""
    from staff.tokens import api_token_issue

    return api_token_issue(user=user, now=clock.now())[1]
