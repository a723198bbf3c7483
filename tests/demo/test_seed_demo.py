"""seed_demo: the demo community that make run loads and the benchmarks measure.

Each test builds its own community inside its own test transaction (about a second for
40 residents), so the tests share no state and pytest-xdist may run them on any worker in
any order; no xdist_group is needed.
"""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Sum

from inventory.models import CartAssignment, MedCart, StockItem, StockTransaction
from mar.models import Medication, Order, ScheduledDose
from residents.models import Facility, Resident, ResidentAbsence, Room, Unit
from staff.models import Certification, FacilityMembership, User
from tests import clock

DEMO = "Maple Grove Assisted Living"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (Facility, Unit, Room, MedCart, Resident, Order, StockItem, StockTransaction)
    return {
        model.__name__: model.objects.count()
        for model in (*models, User, Medication, Certification, ResidentAbsence)
    }


def fingerprint() -> list[tuple]:
    return sorted(
        Order.objects.values_list(
            "resident__last_name",
            "resident__first_name",
            "resident__room__number",
            "medication__generic_name",
            "frequency",
            "administration_times",
            "dose_amount",
        )
    )


def test_it_builds_forty_residents_on_two_units_with_a_cart_each(db):
    output = seed()

    facility = Facility.objects.get(name=DEMO)
    assert facility.time_zone == "America/Chicago"
    assert facility.license_number
    assert {(p.name, p.time_of_day) for p in facility.pass_times.all()} == {
        ("AM", dt.time(8)),
        ("Noon", dt.time(12)),
        ("PM", dt.time(17)),
        ("HS", dt.time(21)),
    }
    assert sorted(facility.units.values_list("name", flat=True)) == ["Magnolia", "Willow"]
    assert sorted(facility.carts.values_list("unit__name", flat=True)) == ["Magnolia", "Willow"]
    assert not Room.objects.exclude(cart__unit=F("unit")).exists()
    residents = Resident.objects.filter(facility=facility).annotate(
        order_count=Count("orders", distinct=True),
        diagnosis_count=Count("diagnoses", distinct=True),
    )
    assert residents.count() == 40
    assert {r.room.unit.name for r in residents.select_related("room__unit")} == {
        "Magnolia",
        "Willow",
    }
    assert all(6 <= r.order_count <= 12 for r in residents)
    assert all(1 <= r.diagnosis_count <= 3 for r in residents)
    assert not residents.filter(has_no_known_allergies=True, allergies__isnull=False).exists()
    assert not residents.filter(has_no_known_allergies=False, allergies__isnull=True).exists()
    away = residents.filter(status=Resident.Status.AWAY)
    assert sorted(away.values_list("away_kind", flat=True)) == ["hospital", "leave"]
    assert ResidentAbsence.objects.filter(resident__in=away, ended_at__isnull=True).count() == 2
    assert not Order.objects.exclude(status=Order.Status.ACTIVE).exists()
    assert not ScheduledDose.objects.exists()
    assert "residents 40" in output


def test_it_creates_the_demo_users_with_their_roles_and_certifications(db):
    seed()

    facility = Facility.objects.get(name=DEMO)
    today = clock.today(facility.zone)
    users = {user.username: user for user in User.objects.all()}
    assert {name: user.role for name, user in users.items()} == {
        "tech1": "med_tech",
        "tech2": "med_tech",
        "tech3": "med_tech",
        "nurse1": "nurse",
        "nurse2": "nurse",
        "admin1": "administrator",
    }
    assert all(user.check_password("demo-pass-2026") for user in users.values())
    assert FacilityMembership.objects.filter(facility=facility).count() == 6
    assert [u.username for u in users.values() if u.is_staff or u.is_superuser] == ["admin1"]
    assert len({user.initials for user in users.values()}) == 6

    def aide_expires_on(username: str) -> dt.date:
        return users[username].certifications.get(kind="medication_aide").expires_on

    assert aide_expires_on("tech1") > today + dt.timedelta(days=90)
    assert aide_expires_on("tech2") > today + dt.timedelta(days=90)
    assert aide_expires_on("tech3") == today - dt.timedelta(days=1)
    assert users["nurse1"].certifications.filter(kind="nurse_license").exists()
    assert users["nurse2"].certifications.filter(kind="nurse_license").exists()
    assert not Order.objects.exclude(verified_by__role="nurse").exists()
    on_duty = CartAssignment.objects.filter(ended_at__isnull=True).order_by("cart__name")
    assert [(a.cart.name, a.user.username) for a in on_duty] == [
        ("Cart A - Magnolia", "tech1"),
        ("Cart B - Willow", "tech2"),
    ]


def test_every_stock_item_matches_its_ledger_and_its_order(db):
    seed()

    items = StockItem.objects.annotate(ledger=Sum("transactions__quantity")).select_related(
        "order__resident__room", "medication"
    )
    assert items.count() == Order.objects.count()
    today = clock.today(Facility.objects.get().zone)
    for item in items:
        assert item.quantity_on_hand == item.ledger
        assert item.rx_number == item.order.rx_number
        assert item.cart_id == item.order.resident.room.cart_id
        assert item.medication_id == item.order.medication_id
    receives = StockTransaction.objects.filter(kind="receive")
    assert receives.count() == items.count()
    controlled = receives.exclude(stock_item__medication__dea_schedule="")
    assert controlled.exists()
    assert not controlled.filter(witness__isnull=True).exists()
    assert {item.package for item in items} >= {"blister_card", "bottle"}
    assert 1 <= items.filter(expires_on__lt=today).count() <= 2
    assert items.filter(expires_on__gte=today, expires_on__lte=today + dt.timedelta(30)).exists()
    assert any(item.quantity_on_hand < 5 * item.order.dose_amount for item in items)


def test_every_frequency_shape_is_present(db):
    seed()

    orders = Order.objects.select_related("medication")
    assert {order.frequency for order in orders} == set(Order.Frequency.values)
    levodopa = orders.filter(medication__generic_name="carbidopa/levodopa").first()
    assert (levodopa.frequency, levodopa.interval, levodopa.is_time_critical) == (
        "every_n_hours",
        4,
        True,
    )
    alendronate = orders.filter(medication__generic_name="alendronate").first()
    assert (alendronate.days_of_week, alendronate.administration_times) == ([1], ["06:30"])
    assert orders.filter(frequency="monthly", days_of_month=[1]).exists()
    acetaminophen = orders.get(
        resident=alendronate.resident, medication__generic_name="acetaminophen"
    )
    assert (
        acetaminophen.prn_min_interval_minutes,
        acetaminophen.prn_max_per_24h,
        acetaminophen.followup_minutes,
    ) == (240, 4, 60)
    metoprolol = orders.filter(medication__generic_name="metoprolol tartrate").first()
    assert {"vital": "pulse", "comparator": "<", "limit": 60} in metoprolol.hold_parameters
    insulin = orders.filter(medication__generic_name="insulin glargine").first()
    assert insulin.required_vitals == ["blood_glucose"]
    assert insulin.medication.is_high_alert
    assert Medication.objects.get(generic_name="lorazepam").dea_schedule == "IV"


def test_a_second_run_changes_nothing(db):
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "already exists" in output


def test_if_empty_does_nothing_when_any_facility_exists(facility):
    output = seed("--if-empty")

    assert not Facility.objects.filter(name=DEMO).exists()
    assert not User.objects.exists()
    assert "nothing to do" in output


def test_the_same_arguments_give_the_same_community(db):
    with transaction.atomic():
        seed()
        first = fingerprint()
        transaction.set_rollback(True)
    assert not Facility.objects.exists()

    seed()

    assert fingerprint() == first
    assert len(first) == Order.objects.count()


@pytest.mark.slow
def test_it_builds_the_benchmark_community_of_120_residents(db):
    seed("--residents", "120")

    assert Resident.objects.count() == 120
    assert MedCart.objects.count() == 2
    assert Unit.objects.count() == 2
    assert Room.objects.filter(cart__isnull=True).count() == 0
    counts = Resident.objects.annotate(n=Count("orders")).values_list("n", flat=True)
    assert all(6 <= n <= 12 for n in counts)
