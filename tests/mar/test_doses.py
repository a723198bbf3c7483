import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from mar.models import Administration, Notification, Order, ScheduledDose
from mar.selectors import DoseState, dose_state, doses_with_state
from mar.services import orders
from mar.services.doses import doses_close_missed, doses_materialize
from residents.models import ResidentAbsence
from tests.factories import OrderFactory, ResidentFactory
from tests.mar.conftest import NOW, Community

HOUR = dt.timedelta(hours=1)


def enter_order(community: Community, *, now=NOW, **fields) -> Order:
    defaults = {
        "dose_amount": Decimal("1"),
        "dose_unit": "tablet",
        "route": "oral",
        "frequency": Order.Frequency.TIMES_OF_DAY,
        "administration_times": ["AM", "20:00"],
        "starts_at": now - dt.timedelta(days=1),
        "prescriber": "Dr. Ana Ortiz",
    }
    return orders.order_create(
        resident=community.resident,
        medication=community.medication,
        entered_by=community.nurse,
        now=now,
        **(defaults | fields),
    )


def active_order(community: Community, *, now=NOW, **fields) -> Order:
    order = enter_order(community, now=now, **fields)
    return orders.order_verify(order=order, verified_by=community.second_nurse, now=now)


def local_times(order: Order) -> list[str]:
    zone = order.resident.facility.zone
    return [
        f"{at.astimezone(zone):%a %H:%M}"
        for at in order.doses.order_by("scheduled_at").values_list("scheduled_at", flat=True)
    ]


def give(dose: ScheduledDose, *, by, key: str) -> Administration:
    administration = Administration.objects.create(
        scheduled_dose=dose,
        order=dose.order,
        resident=dose.resident,
        status=Administration.Status.GIVEN,
        administered_at=dose.scheduled_at,
        documented_at=dose.scheduled_at,
        administered_by=by,
        idempotency_key=key,
    )
    ScheduledDose.objects.filter(pk=dose.pk).update(status=ScheduledDose.Status.CHARTED)
    return administration


def test_it_schedules_nothing_until_a_second_nurse_verifies_the_order(community):
    order = enter_order(community)

    assert order.status == Order.Status.PENDING_VERIFICATION
    assert order.doses.count() == 0


def test_it_schedules_the_next_48_hours_at_once_when_the_order_is_verified(community):
    order = active_order(community)

    # 07:00 Friday in Chicago: the 08:00 (AM) dose up to Sunday 07:00.
    assert local_times(order) == ["Fri 08:00", "Fri 20:00", "Sat 08:00", "Sat 20:00"]


def test_it_gives_each_dose_the_ismp_window_for_its_frequency(community):
    twice_daily = active_order(community)
    daily = active_order(community, administration_times=["HS"])
    critical = active_order(
        community, frequency=Order.Frequency.EVERY_N_HOURS, administration_times=[], interval=4,
        is_time_critical=True,
    )  # fmt: skip

    def half_window(order):
        dose = order.doses.order_by("scheduled_at").first()
        return dose.window_end - dose.scheduled_at

    assert half_window(twice_daily) == dt.timedelta(minutes=60)
    assert half_window(daily) == dt.timedelta(minutes=120)
    assert half_window(critical) == dt.timedelta(minutes=30)


def test_it_schedules_the_order_at_once_when_the_facility_has_no_second_check(community):
    community.facility.requires_second_check = False
    community.facility.save()

    order = enter_order(community)

    assert order.status == Order.Status.ACTIVE
    assert order.doses.count() == 4


def test_it_refuses_an_order_naming_a_pass_time_the_facility_does_not_have(community):
    with pytest.raises(orders.OrderInvalid, match="Unknown pass time 'Brunch'"):
        enter_order(community, administration_times=["Brunch"])

    assert not Order.objects.exists()


def test_it_refuses_a_nurse_verifying_her_own_order(community):
    order = enter_order(community)

    with pytest.raises(orders.OrderNotPermitted, match="second nurse"):
        orders.order_verify(order=order, verified_by=community.nurse, now=NOW)


def test_it_refuses_a_med_tech_entering_an_order(community):
    with pytest.raises(orders.OrderNotPermitted, match="Only a nurse"):
        orders.order_create(
            resident=community.resident,
            medication=community.medication,
            entered_by=community.tech,
            now=NOW,
        )


def test_it_removes_future_uncharted_doses_on_hold_and_keeps_the_charted_ones(community):
    order = active_order(community)
    charted = order.doses.order_by("scheduled_at").first()
    give(charted, by=community.tech, key="k1")

    orders.order_hold(order=order, by=community.nurse, reason="NPO for procedure", now=NOW)

    assert list(order.doses.values_list("pk", flat=True)) == [charted.pk]
    assert charted.administrations.count() == 1


def test_it_brings_the_doses_back_when_the_order_resumes(community):
    order = active_order(community)
    orders.order_hold(order=order, by=community.nurse, reason="NPO", now=NOW)

    orders.order_resume(order=order, by=community.nurse, now=NOW + HOUR)

    assert local_times(order)[0] == "Fri 08:00"
    assert order.doses.count() == 4


def test_it_keeps_doses_whose_window_closed_when_the_order_is_discontinued(community):
    order = active_order(community, now=NOW - dt.timedelta(hours=12))
    past = order.doses.filter(window_end__lt=NOW).order_by("scheduled_at")

    orders.order_discontinue(order=order, by=community.nurse, reason="Ended by MD", now=NOW)

    assert past.count() == 1  # Thursday 20:00 stays, to be marked missed or charted late
    assert order.doses.filter(window_end__gt=NOW).count() == 0


def test_it_changes_an_order_by_discontinuing_it_and_linking_a_new_one(community):
    order = active_order(community)

    new = orders.order_change(
        order=order, by=community.nurse, reason="Dose increased", now=NOW, dose_amount=2
    )

    order.refresh_from_db()
    assert order.status == Order.Status.DISCONTINUED
    assert new.replaces == order
    assert new.status == Order.Status.PENDING_VERIFICATION
    assert new.dose_amount == 2
    assert order.doses.count() == 0


def test_it_fills_the_horizon_for_every_active_order_and_twice_changes_nothing(community):
    order = active_order(community)
    ScheduledDose.objects.all().delete()

    first = doses_materialize(now=NOW)
    second = doses_materialize(now=NOW)

    assert first == 4
    assert second == 0
    assert order.doses.count() == 4


def test_it_moves_the_horizon_forward_as_time_passes(community):
    order = active_order(community)

    doses_materialize(now=NOW + dt.timedelta(hours=24))

    assert local_times(order)[-2:] == ["Sun 08:00", "Sun 20:00"]


def test_it_skips_prn_orders_and_residents_who_left(community):
    prn = active_order(
        community,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=4,
    )
    gone = OrderFactory(resident=ResidentFactory(facility=community.facility, status="discharged"))

    doses_materialize(now=NOW)

    assert prn.doses.count() == 0
    assert gone.doses.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_makes_no_duplicates_when_two_workers_fill_the_horizon_at_once():
    community = Community()
    orders_made = [OrderFactory(resident=community.resident) for _ in range(20)]
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            doses_materialize(now=NOW)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ScheduledDose.objects.count() == 20 * 4
    for order in orders_made:
        assert order.doses.values("scheduled_at").distinct().count() == order.doses.count()


def test_it_marks_an_uncharted_dose_missed_after_the_late_limit_and_alerts_nurses_once(community):
    order = active_order(community)
    dose = order.doses.order_by("scheduled_at").first()  # Fri 08:00, window to 09:00
    late_limit_passed = dose.window_end + dt.timedelta(minutes=121)

    first = doses_close_missed(now=late_limit_passed)
    second = doses_close_missed(now=late_limit_passed + HOUR)

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.MISSED
    assert first == {"missed": 1, "away": 0, "cancelled": 0}
    assert second == {"missed": 0, "away": 0, "cancelled": 0}
    alerts = Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED)
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(
        [community.nurse.pk, community.second_nurse.pk]
    )


def test_it_leaves_a_late_dose_chartable_until_the_late_limit(community):
    order = active_order(community)
    dose = order.doses.order_by("scheduled_at").first()

    doses_close_missed(now=dose.window_end + dt.timedelta(minutes=119))

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.PENDING


def test_it_marks_doses_away_not_missed_while_the_resident_is_in_hospital(community):
    order = active_order(community)
    dose = order.doses.order_by("scheduled_at").first()
    ResidentAbsence.objects.create(
        resident=community.resident,
        kind="hospital",
        started_at=NOW,
        recorded_by=community.nurse,
    )

    result = doses_close_missed(now=NOW + dt.timedelta(hours=5))

    dose.refresh_from_db()
    assert result == {"missed": 0, "away": 1, "cancelled": 0}
    assert dose.status == ScheduledDose.Status.AWAY
    assert not Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED).exists()


@pytest.mark.parametrize(
    ("minutes_after_scheduled", "expected"),
    [
        (-61, DoseState.UPCOMING),
        (-60, DoseState.DUE),
        (0, DoseState.DUE),
        (60, DoseState.DUE),
        (61, DoseState.LATE),
        (180, DoseState.LATE),
        (181, DoseState.MISSED),
    ],
)
def test_it_names_a_dose_state_from_its_window_and_the_clock(
    community, minutes_after_scheduled, expected
):
    order = active_order(community)
    dose = order.doses.order_by("scheduled_at").first()
    now = dose.scheduled_at + dt.timedelta(minutes=minutes_after_scheduled)

    in_python = dose_state(
        status=dose.status,
        window_start=dose.window_start,
        window_end=dose.window_end,
        late_limit=dt.timedelta(minutes=community.facility.late_limit_minutes),
        now=now,
        is_away=False,
    )
    in_sql = doses_with_state(ScheduledDose.objects.filter(pk=dose.pk), now=now).get().state

    assert in_python == expected
    assert in_sql == expected
