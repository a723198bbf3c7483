"""What the database itself refuses. These tests poke rows directly on purpose:
they prove the last line of defence holds even when a service has a bug."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from mar.models import Administration, Order, ScheduledDose
from staff.models import User
from tests import clock
from tests.factories import MedicationFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def moment() -> dt.datetime:
    """The moment these tests stand at."""
    return NOW


def make_dose(order: Order, at: dt.datetime = NOW) -> ScheduledDose:
    return ScheduledDose.objects.create(
        order=order,
        resident=order.resident,
        scheduled_at=at,
        window_start=at - dt.timedelta(hours=1),
        window_end=at + dt.timedelta(hours=1),
    )


def chart(dose: ScheduledDose, *, key: str, by: User, **fields) -> Administration:
    return Administration.objects.create(
        scheduled_dose=dose,
        order=dose.order,
        resident=dose.resident,
        status=fields.pop("status", Administration.Status.GIVEN),
        administered_at=NOW,
        documented_at=NOW,
        administered_by=by,
        idempotency_key=key,
        **fields,
    )


@pytest.fixture
def order() -> Order:
    return OrderFactory()


@pytest.fixture
def tech() -> User:
    return UserFactory()


def test_it_refuses_a_second_scheduled_dose_for_the_same_order_and_time(order):
    make_dose(order)

    with pytest.raises(IntegrityError, match="scheduled_dose_once_per_time"):
        make_dose(order)


def test_it_refuses_a_second_active_administration_for_the_same_dose(order, tech):
    dose = make_dose(order)
    chart(dose, key="tablet-a-1", by=tech)

    with pytest.raises(IntegrityError, match="administration_one_active_per_dose"):
        chart(dose, key="tablet-b-1", by=UserFactory())


def test_it_lets_a_dose_be_charted_again_once_the_first_record_is_entered_in_error(order, tech):
    dose = make_dose(order)
    first = chart(dose, key="tablet-a-1", by=tech)
    Administration.objects.filter(pk=first.pk).update(is_entered_in_error=True)

    second = chart(dose, key="tablet-a-2", by=tech)

    assert Administration.objects.filter(scheduled_dose=dose).count() == 2
    assert second.is_entered_in_error is False


def test_it_refuses_a_duplicate_idempotency_key(order, tech):
    chart(make_dose(order), key="same-key", by=tech)

    with pytest.raises(IntegrityError, match="idempotency_key"):
        chart(make_dose(order, NOW + dt.timedelta(hours=6)), key="same-key", by=tech)


def test_it_refuses_negative_stock_on_insert_and_on_update():
    from tests.factories import StockItemFactory

    with transaction.atomic(), pytest.raises(IntegrityError, match="never_negative"):
        StockItemFactory(quantity_on_hand=Decimal("-1"))
    item = StockItemFactory(quantity_on_hand=Decimal("2"))

    with pytest.raises(IntegrityError, match="stock_quantity_never_negative"):
        type(item).objects.filter(pk=item.pk).update(quantity_on_hand=Decimal("-0.5"))


def test_it_refuses_an_order_verified_by_the_nurse_who_entered_it():
    nurse = UserFactory(role=User.Role.NURSE)

    with pytest.raises(IntegrityError, match="order_second_check_by_another"):
        OrderFactory(entered_by=nurse, verified_by=nurse)


def test_it_refuses_a_prn_order_without_limits():
    with pytest.raises(IntegrityError, match="order_frequency_shape"):
        OrderFactory(frequency=Order.Frequency.PRN, administration_times=[])


def test_it_refuses_a_scheduled_order_without_times():
    with pytest.raises(IntegrityError, match="order_frequency_shape"):
        OrderFactory(frequency=Order.Frequency.TIMES_OF_DAY, administration_times=[])


def test_it_refuses_an_every_n_hours_order_without_an_interval():
    with pytest.raises(IntegrityError, match="order_frequency_shape"):
        OrderFactory(frequency=Order.Frequency.EVERY_N_HOURS, administration_times=[])


def test_it_refuses_a_not_given_other_without_a_note(order, tech):
    with pytest.raises(IntegrityError, match="administration_other_has_note"):
        chart(make_dose(order), key="k1", by=tech, status=Administration.Status.OTHER)


def test_it_refuses_a_held_dose_without_a_reason(order, tech):
    with pytest.raises(IntegrityError, match="administration_held_has_reason"):
        chart(make_dose(order), key="k1", by=tech, status=Administration.Status.HELD)


def test_it_refuses_a_prn_record_without_a_prn_reason(tech):
    prn = OrderFactory(
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=4,
    )

    with pytest.raises(IntegrityError, match="administration_prn_has_reason"):
        Administration.objects.create(
            order=prn,
            resident=prn.resident,
            status=Administration.Status.GIVEN,
            administered_at=NOW,
            documented_at=NOW,
            administered_by=tech,
            idempotency_key="prn-1",
        )


def test_it_refuses_a_witness_who_is_the_person_charting(order, tech):
    with pytest.raises(IntegrityError, match="administration_witness_is_another"):
        chart(make_dose(order), key="k1", by=tech, witness=tech)


def test_it_refuses_an_administration_timed_in_the_future(order, tech):
    dose = make_dose(order)

    with pytest.raises(IntegrityError, match="administration_not_in_future"):
        Administration.objects.create(
            scheduled_dose=dose,
            order=order,
            resident=order.resident,
            status=Administration.Status.GIVEN,
            administered_at=NOW + dt.timedelta(hours=1),
            documented_at=NOW,
            administered_by=tech,
            idempotency_key="future",
        )


def test_it_refuses_to_delete_an_order_that_has_doses(order):
    from django.db.models import ProtectedError

    make_dose(order)

    with pytest.raises(ProtectedError):
        order.delete()


def test_it_refuses_a_medication_with_a_malformed_ndc():
    with pytest.raises(IntegrityError, match="medication_ndc_format"):
        MedicationFactory(ndc="12ab")


def test_it_keeps_a_verified_order_active_with_both_signatures(order):
    order.refresh_from_db()

    assert order.status == Order.Status.ACTIVE
    assert order.verified_by_id != order.entered_by_id
    assert order.verified_at <= clock.now()


def test_it_refuses_a_prn_order_with_a_minimum_interval_but_no_daily_maximum():
    with pytest.raises(IntegrityError, match="order_frequency_shape"):
        OrderFactory(
            frequency=Order.Frequency.PRN, administration_times=[], prn_min_interval_minutes=240
        )


def test_it_refuses_an_every_n_days_order_without_an_interval():
    with pytest.raises(IntegrityError, match="order_every_n_days_interval"):
        OrderFactory(frequency=Order.Frequency.EVERY_N_DAYS, administration_times=["09:00"])
