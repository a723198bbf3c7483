import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import StockItem, StockTransaction
from mar.models import Administration, Notification, Order, ScheduledDose
from mar.services import administrations as charting
from mar.services import concerns
from mar.services.doses import doses_sync_for_order
from residents.models import ConcernReport
from staff.models import User
from tests.factories import (
    DEMO_PASSWORD,
    CertificationFactory,
    FacilityFactory,
    OrderFactory,
    StockItemFactory,
    UserFactory,
)
from tests.mar.conftest import NOW, Community

MINUTE = dt.timedelta(minutes=1)


def stock_for(order: Order, cart, quantity="30", **fields) -> StockItem:
    return StockItemFactory(
        cart=cart,
        resident=order.resident,
        medication=order.medication,
        order=order,
        quantity_on_hand=Decimal(quantity),
        **fields,
    )


def first_dose(order: Order) -> ScheduledDose:
    doses_sync_for_order(order=order, now=NOW)
    return order.doses.order_by("scheduled_at").first()


@pytest.fixture
def order(community) -> Order:
    order = OrderFactory(resident=community.resident)
    stock_for(order, community.cart)
    return order


@pytest.fixture
def dose(order) -> ScheduledDose:
    return first_dose(order)  # Friday 08:00 in Chicago, window 07:00-09:00


def chart(dose=None, *, user, key=None, status="given", at=None, now=None, **fields):
    at = at or (dose.scheduled_at if dose else NOW)
    return charting.administration_record(
        user=user,
        idempotency_key=key or str(uuid.uuid4()),
        now=now or at,
        entry=charting.ChartEntry(status=status, administered_at=at, scheduled_dose=dose, **fields),
    )


def prn_order(community, **fields) -> Order:
    limits = {"prn_min_interval_minutes": 240, "prn_max_per_24h": 3} | fields
    order = OrderFactory(
        resident=community.resident,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        **limits,
    )
    stock_for(order, community.cart)
    return order


def test_it_charts_a_given_dose_and_takes_it_off_the_cart_in_one_go(community, dose):
    result = chart(dose, user=community.tech)

    dose.refresh_from_db()
    item = StockItem.objects.get()
    assert result.created
    assert result.administration.status == Administration.Status.GIVEN
    assert dose.status == ScheduledDose.Status.CHARTED
    assert item.quantity_on_hand == Decimal("29")
    ledger = StockTransaction.objects.get(administration=result.administration)
    assert (ledger.kind, ledger.quantity, ledger.balance_after) == ("administer", -1, 29)


def test_it_returns_the_first_result_when_the_same_request_is_retried(community, dose):
    first = chart(dose, user=community.tech, key="tablet-1:abc")

    again = chart(dose, user=community.tech, key="tablet-1:abc")

    assert again.created is False
    assert again.administration.pk == first.administration.pk
    assert Administration.objects.count() == 1
    assert StockItem.objects.get().quantity_on_hand == Decimal("29")


def test_it_refuses_the_same_key_with_a_different_request(community, dose):
    chart(dose, user=community.tech, key="tablet-1:abc")

    with pytest.raises(charting.IdempotencyKeyReused):
        chart(dose, user=community.tech, key="tablet-1:abc", status="refused")


def test_it_refuses_a_second_chart_of_the_same_dose_naming_who_charted_it(community, dose):
    community.tech.initials = "JD"
    community.tech.save()
    chart(dose, user=community.tech, at=dose.scheduled_at + 4 * MINUTE)
    other = UserFactory(facility=community.facility)
    CertificationFactory(user=other)

    with pytest.raises(charting.DoseAlreadyCharted, match=r"Already charted by J\.D\. at 08:04"):
        chart(dose, user=other)

    assert Administration.objects.count() == 1


def test_it_tells_a_med_tech_with_an_expired_certification_why_charting_is_refused(community, dose):
    community.tech.certifications.update(expires_on=dt.date(2026, 11, 19))

    with pytest.raises(charting.ChartingNotPermitted, match="expired on Nov 19, 2026"):
        chart(dose, user=community.tech)

    assert not Administration.objects.exists()


def test_it_refuses_staff_of_another_community(community, dose):
    stranger = UserFactory(facility=FacilityFactory())
    CertificationFactory(user=stranger)

    with pytest.raises(charting.ChartingNotPermitted, match="not a member"):
        chart(dose, user=stranger)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Order.Status.ON_HOLD, "on hold"),
        (Order.Status.DISCONTINUED, "discontinued"),
        (Order.Status.PENDING_VERIFICATION, "waiting for a nurse's verification"),
    ],
)
def test_it_refuses_an_order_that_is_not_active(community, order, dose, status, message):
    Order.objects.filter(pk=order.pk).update(status=status, status_reason="MD order")

    with pytest.raises(charting.OrderNotChartable, match=message):
        chart(dose, user=community.tech)


def test_it_refuses_charting_before_the_window_opens_unless_a_nurse_overrides(community, dose):
    early = dose.window_start - MINUTE

    with pytest.raises(charting.TooEarly, match="opens at 07:00"):
        chart(dose, user=community.tech, at=early)
    result = chart(
        dose,
        user=community.tech,
        at=early,
        override_by=community.nurse,
        override_secret=DEMO_PASSWORD,
        override_reason="Leaving for dialysis",
    )

    override = result.administration.override
    assert (override.granted_by, override.requested_by) == (community.nurse, community.tech)
    assert (override.reason, override.granted_at) == ("Leaving for dialysis", early)
    assert "Leaving for dialysis" in result.administration.override_reason


def test_it_flags_a_dose_given_after_its_window_as_late(community, dose):
    result = chart(dose, user=community.tech, at=dose.window_end + MINUTE)

    assert result.administration.is_late
    assert not result.administration.is_late_entry


def test_it_accepts_a_late_entry_with_a_note_and_keeps_both_times(community, dose):
    given_at = dose.scheduled_at + 5 * MINUTE  # 08:05
    documented_at = given_at + dt.timedelta(hours=3)

    with pytest.raises(charting.ChartingInvalid, match="needs a note"):
        chart(dose, user=community.tech, at=given_at, now=documented_at)
    result = chart(
        dose, user=community.tech, at=given_at, now=documented_at, note="Charting was down"
    )

    record = result.administration
    assert (record.administered_at, record.documented_at) == (given_at, documented_at)
    assert record.is_late_entry
    assert not record.is_late


def test_it_refuses_documenting_more_than_24_hours_back(community, dose):
    with pytest.raises(charting.ChartingInvalid, match="24 hours"):
        chart(dose, user=community.tech, now=dose.scheduled_at + dt.timedelta(hours=25), note="x")


def test_it_refuses_a_time_in_the_future(community, dose):
    with pytest.raises(charting.ChartingInvalid, match="future"):
        chart(dose, user=community.tech, at=dose.scheduled_at, now=dose.scheduled_at - 6 * MINUTE)


def test_it_asks_for_the_vitals_an_order_requires_and_holds_past_the_limit(community):
    order = OrderFactory(
        resident=community.resident,
        required_vitals=["systolic", "pulse"],
        hold_parameters=[
            {"vital": "systolic", "comparator": "<", "limit": 100},
            {"vital": "pulse", "comparator": "<", "limit": 60},
        ],
    )
    stock_for(order, community.cart)
    dose = first_dose(order)

    with pytest.raises(charting.ChartingInvalid, match="Pulse"):
        chart(dose, user=community.tech, vitals={"systolic": 120, "diastolic": 80})
    with pytest.raises(charting.HoldParameterMet, match="systolic 92 < 100: hold"):
        chart(dose, user=community.tech, vitals={"systolic": "92", "diastolic": 60, "pulse": 72})
    held = chart(
        dose,
        user=community.tech,
        status="held",
        reason="systolic 92 < 100: hold",
        vitals={"systolic": "92", "diastolic": 60, "pulse": 72},
    )

    assert held.administration.status == "held"
    assert held.administration.vitals == {"systolic": "92", "diastolic": "60", "pulse": "72"}
    assert StockItem.objects.get(order=order).quantity_on_hand == 30


def test_it_refuses_an_impossible_vital_reading(community, dose):
    with pytest.raises(charting.ChartingInvalid, match="outside"):
        chart(dose, user=community.tech, vitals={"pulse": "720"})


def test_it_needs_a_note_for_other_and_a_reason_for_held(community, dose):
    with pytest.raises(charting.ChartingInvalid, match="needs a note"):
        chart(dose, user=community.tech, status="other")
    with pytest.raises(charting.ChartingInvalid, match="why the dose is held"):
        chart(dose, user=community.tech, status="held")


def test_it_refuses_given_without_stock_and_allows_not_available(community, order, dose):
    StockItem.objects.filter(order=order).update(expires_on=dt.date(2026, 11, 1))

    with pytest.raises(charting.NoStock, match="not available"):
        chart(dose, user=community.tech)
    result = chart(dose, user=community.tech, status="not_available")

    assert result.administration.status == "not_available"
    assert Administration.objects.count() == 1
    assert not StockTransaction.objects.exists()


def test_it_takes_the_dose_from_the_item_that_expires_first(community, order, dose):
    later = StockItem.objects.get(order=order)
    sooner = stock_for(order, community.cart, quantity="5", expires_on=dt.date(2026, 12, 1))

    chart(dose, user=community.tech)

    later.refresh_from_db()
    sooner.refresh_from_db()
    assert (sooner.quantity_on_hand, later.quantity_on_hand) == (4, 30)


def test_it_refuses_a_prn_dose_too_soon_and_says_when_it_will_be_allowed(community):
    prn = prn_order(community)
    chart(order=prn, user=community.tech, at=NOW, prn_reason="Knee pain 6/10")

    with pytest.raises(charting.PrnLimitReached, match="Allowed again at 11:00") as refused:
        chart(order=prn, user=community.tech, at=NOW + 90 * MINUTE, prn_reason="Pain")

    assert refused.value.allowed_at == NOW + dt.timedelta(hours=4)


def test_it_refuses_more_prn_doses_than_the_daily_maximum(community):
    prn = prn_order(community, prn_min_interval_minutes=60)
    for hours in (0, 2, 4):
        chart(order=prn, user=community.tech, at=NOW + dt.timedelta(hours=hours), prn_reason="x")

    with pytest.raises(charting.PrnLimitReached, match="Too many") as refused:
        chart(order=prn, user=community.tech, at=NOW + dt.timedelta(hours=6), prn_reason="x")

    assert refused.value.allowed_at == NOW + dt.timedelta(hours=24)


def test_it_records_the_prn_follow_up_once(community):
    prn = prn_order(community)
    given = chart(order=prn, user=community.tech, at=NOW, prn_reason="Pain").administration
    colleague = UserFactory(facility=community.facility)
    CertificationFactory(user=colleague)

    check = charting.administration_record_effectiveness(
        administration=given, user=colleague, result="effective", note="", now=NOW + 61 * MINUTE
    )
    with pytest.raises(charting.ChartingInvalid, match="already charted"):
        charting.administration_record_effectiveness(
            administration=given, user=community.tech, result="effective", note="", now=NOW
        )

    assert check.recorded_by == colleague


def test_it_lets_the_same_person_undo_within_two_minutes_without_losing_anything(community, dose):
    record = chart(dose, user=community.tech).administration

    amendment = charting.administration_mark_entered_in_error(
        administration=record,
        user=community.tech,
        reason="Wrong resident",
        now=record.documented_at + 2 * MINUTE,
    )
    again = chart(dose, user=community.tech, at=dose.scheduled_at + 3 * MINUTE)

    record.refresh_from_db()
    assert record.is_entered_in_error
    assert (amendment.field, amendment.old_value, amendment.new_value) == (
        "entered_in_error",
        "false",
        "true",
    )
    assert again.created
    assert Administration.objects.count() == 2
    assert StockItem.objects.get().quantity_on_hand == Decimal("29")


def test_it_refuses_an_undo_after_two_minutes_but_lets_a_nurse_correct_it(community, dose):
    record = chart(dose, user=community.tech).administration
    later = record.documented_at + 2 * MINUTE + dt.timedelta(seconds=1)

    with pytest.raises(charting.ChartingNotPermitted, match="within 2 minutes"):
        charting.administration_mark_entered_in_error(
            administration=record, user=community.tech, reason="Oops", now=later
        )
    charting.administration_mark_entered_in_error(
        administration=record, user=community.nurse, reason="Charted on wrong resident", now=later
    )

    record.refresh_from_db()
    assert record.is_entered_in_error


def test_a_concern_report_reaches_every_nurse_at_once(community, dose):
    record = chart(dose, user=community.tech).administration

    report = concerns.concern_report(
        resident=community.resident,
        user=community.tech,
        kind=ConcernReport.Kind.ADVERSE_REACTION,
        description="Hives on both forearms 20 minutes after the dose",
        observed_at=NOW,
        now=NOW,
        administration=record,
    )

    alerts = Notification.objects.filter(kind=Notification.Kind.CONCERN_REPORTED)
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(
        [community.nurse.pk, community.second_nurse.pk]
    )
    assert report.acknowledged_at is None


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_charting_one_dose_make_exactly_one_record():
    community = Community()
    order = OrderFactory(resident=community.resident)
    stock_for(order, community.cart)
    dose = first_dose(order)
    techs = [community.tech]
    for _ in range(4):
        tech = UserFactory(role=User.Role.MED_TECH, facility=community.facility)
        CertificationFactory(user=tech)
        techs.append(tech)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def attempt(index: int) -> None:
        try:
            barrier.wait()
            chart(dose, user=techs[index % len(techs)], key=f"tablet-{index}")
            outcomes.append("created")
        except charting.DoseAlreadyCharted as refusal:
            outcomes.append("conflict" if "Already charted by" in str(refusal) else "bad")
        except Exception as error:  # pragma: no cover - shows up in the assertion
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(outcomes)) == ["conflict", "created"]
    assert outcomes.count("created") == 1
    assert Administration.objects.filter(scheduled_dose=dose).count() == 1
    assert StockItem.objects.get().quantity_on_hand == Decimal("29")
    assert StockTransaction.objects.count() == 1
