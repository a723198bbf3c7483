"""Notifications about something already handled are marked handled for everyone (issue 17,
item 12): a dose-due reminder once the dose is charted, a concern once a nurse acknowledged
it, a missed dose once a nurse reviewed it; and a dose held for a hold parameter alerts
the nurses. (The count discrepancy is in tests/inventory/test_counts.py.)

The tests stand at ``AT`` (07:30 in Chicago): the 08:00 dose is due.
"""

import datetime as dt
import uuid

import pytest
from django.urls import reverse

from inventory.models import CartAssignment
from mar.models import Administration, Notification
from mar.services import administrations as charting
from mar.services.concerns import concern_acknowledge, concern_report
from mar.services.doses import doses_close_missed
from mar.services.reminders import reminders_dose_due
from mar.services.reviews import exception_acknowledge
from tests.api.conftest import AT, client_for, due_dose, stocked_order
from tests.mar.conftest import Community

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def moment() -> dt.datetime:
    return AT


@pytest.fixture
def community(db) -> Community:
    community = Community()
    CartAssignment.objects.create(
        cart=community.cart, user=community.tech, started_at=AT - 2 * HOUR
    )
    return community


def unread(kind: str) -> list[int]:
    return sorted(
        Notification.objects.filter(kind=kind, read_at__isnull=True).values_list(
            "recipient_id", flat=True
        )
    )


def test_it_settles_the_dose_due_reminder_when_the_dose_is_charted_through_the_api(community):
    dose = due_dose(stocked_order(community))
    reminders_dose_due(now=dose.window_start - dt.timedelta(minutes=10))
    assert unread(Notification.Kind.DOSE_DUE) == [community.tech.pk]

    response = client_for(community.tech).post(
        "/api/v1/administrations/",
        {"scheduled_dose": str(dose.public_id), "status": "given", "administered_at": AT},
        format="json",
        HTTP_IDEMPOTENCY_KEY="tablet-1:0001",
    )

    assert response.status_code == 201
    assert unread(Notification.Kind.DOSE_DUE) == []


def test_it_settles_the_dose_due_reminder_when_the_dose_is_charted_on_the_page(client, community):
    dose = due_dose(stocked_order(community))
    reminders_dose_due(now=dose.window_start - dt.timedelta(minutes=10))
    client.force_login(community.tech)

    client.post(
        reverse("mar:dose_chart", args=[dose.public_id]),
        {"idempotency_key": str(uuid.uuid4()), "status": "refused"},
    )

    assert unread(Notification.Kind.DOSE_DUE) == []


def test_a_second_nurse_sees_a_concern_closed_by_the_first_as_handled(community):
    report = concern_report(
        resident=community.resident,
        user=community.tech,
        kind="change_of_condition",
        description="Confused this morning",
        observed_at=AT,
        now=AT,
    )
    assert len(unread(Notification.Kind.CONCERN_REPORTED)) == 2

    concern_acknowledge(report=report, user=community.nurse, note="Assessed; MD called", now=AT)

    assert unread(Notification.Kind.CONCERN_REPORTED) == []


def test_a_missed_dose_reviewed_by_one_nurse_is_handled_for_the_other(community):
    dose = due_dose(stocked_order(community))
    doses_close_missed(now=AT + 4 * HOUR)
    assert len(unread(Notification.Kind.DOSE_MISSED)) == 2

    exception_acknowledge(
        user=community.second_nurse,
        note="Physician notified",
        now=AT + 5 * HOUR,
        scheduled_dose=dose,
    )

    assert unread(Notification.Kind.DOSE_MISSED) == []


def hold_insulin_for_glucose_64(community: Community) -> Administration:
    insulin = stocked_order(
        community,
        hold_parameters=[{"vital": "blood_glucose", "comparator": "<", "limit": 70}],
        required_vitals=["blood_glucose"],
    )
    return charting.administration_record(
        user=community.tech,
        idempotency_key=str(uuid.uuid4()),
        now=AT,
        entry=charting.ChartEntry(
            status="held",
            reason="Blood glucose 64: hold parameter",
            vitals={"blood_glucose": "64"},
            administered_at=AT,
            scheduled_dose=due_dose(insulin),
        ),
    ).administration


def test_an_insulin_held_for_a_low_glucose_alerts_every_nurse_with_the_reading(community):
    record = hold_insulin_for_glucose_64(community)

    alerts = Notification.objects.filter(kind=Notification.Kind.DOSE_HELD).order_by("id")
    assert sorted(alert.recipient_id for alert in alerts) == sorted(
        [community.nurse.pk, community.second_nurse.pk]
    )
    assert "Glucose 64 mg/dL" in alerts[0].body
    assert "blood glucose 64 < 70: hold" in alerts[0].body
    assert alerts[0].subject_key == f"administration:{record.pk}"


def test_a_held_dose_of_an_order_without_hold_parameters_alerts_nobody_at_once(community):
    order = stocked_order(community)
    assert order.hold_parameters == []

    charting.administration_record(
        user=community.tech,
        idempotency_key="held-2",
        now=AT,
        entry=charting.ChartEntry(
            status="held",
            reason="Resident vomiting",
            administered_at=AT,
            scheduled_dose=due_dose(order),
        ),
    )

    assert not Notification.objects.filter(kind=Notification.Kind.DOSE_HELD).exists()


def test_it_settles_the_held_alert_when_a_nurse_acknowledges_the_held_dose(community):
    record = hold_insulin_for_glucose_64(community)

    exception_acknowledge(
        user=community.nurse, note="Snack given, recheck at 10", now=AT, administration=record
    )

    assert unread(Notification.Kind.DOSE_HELD) == []
