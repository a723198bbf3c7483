import datetime as dt

from django.core import mail

from mar.models import Administration, Notification, Order
from mar.services.doses import doses_close_missed
from mar.services.notifications import notifications_send_email
from mar.services.reminders import (
    reminders_certification_expiry,
    reminders_dose_due,
    reminders_order_verification,
    reminders_prn_followup,
)
from staff.models import User
from tests.factories import CertificationFactory, OrderFactory, UserFactory
from tests.mar.conftest import NOW

MINUTE = dt.timedelta(minutes=1)


def first_dose(community):
    order = OrderFactory(resident=community.resident)
    from mar.services.doses import doses_sync_for_order

    doses_sync_for_order(order=order, now=NOW)
    return order.doses.order_by("scheduled_at").first()


def due_reminders():
    return Notification.objects.filter(kind=Notification.Kind.DOSE_DUE)


def test_it_reminds_the_med_tech_on_duty_once_a_set_time_before_the_window_opens(community):
    community.put_on_duty(community.tech)
    dose = first_dose(community)  # 08:00 Chicago, window opens 07:00
    lead = dt.timedelta(minutes=community.facility.reminder_lead_minutes)

    reminders_dose_due(now=dose.window_start - lead - MINUTE)
    too_early = due_reminders().count()
    reminders_dose_due(now=dose.window_start - lead)
    reminders_dose_due(now=dose.window_start)

    assert too_early == 0
    reminder = due_reminders().get()
    assert reminder.recipient == community.tech
    assert reminder.subject_key == f"dose:{dose.pk}"
    assert reminder.title.startswith("Due 08:00: Room ")


def test_it_reminds_nobody_who_is_not_on_duty_for_the_cart(community):
    dose = first_dose(community)

    reminders_dose_due(now=dose.window_start)

    assert not due_reminders().exists()


def test_it_stops_reminding_once_the_med_tech_hands_the_cart_over(community):
    assignment = community.put_on_duty(community.tech)
    assignment.ended_at = NOW
    assignment.save()
    dose = first_dose(community)

    reminders_dose_due(now=dose.window_start)

    assert not due_reminders().exists()


def test_it_asks_for_the_prn_follow_up_after_the_follow_up_time(community):
    prn = OrderFactory(
        resident=community.resident,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=4,
        followup_minutes=60,
    )
    Administration.objects.create(
        order=prn,
        resident=prn.resident,
        status=Administration.Status.GIVEN,
        prn_reason="Pain 6/10 in left knee",
        administered_at=NOW,
        documented_at=NOW,
        administered_by=community.tech,
        idempotency_key="prn-1",
    )

    reminders_prn_followup(now=NOW + 59 * MINUTE)
    before = Notification.objects.count()
    reminders_prn_followup(now=NOW + 60 * MINUTE)
    reminders_prn_followup(now=NOW + 90 * MINUTE)

    assert before == 0
    followup = Notification.objects.get(kind=Notification.Kind.PRN_FOLLOWUP)
    assert followup.recipient == community.tech


def test_it_reminds_the_other_nurses_of_an_order_waiting_an_hour_for_verification(community):
    from mar.services import orders

    order = orders.order_create(
        resident=community.resident,
        medication=community.medication,
        entered_by=community.nurse,
        now=NOW,
        dose_amount=1,
        dose_unit="tablet",
        route="oral",
        frequency=Order.Frequency.TIMES_OF_DAY,
        administration_times=["AM"],
        starts_at=NOW,
        prescriber="Dr. Ortiz",
    )

    reminders_order_verification(now=NOW + 59 * MINUTE)
    early = Notification.objects.count()
    reminders_order_verification(now=NOW + 61 * MINUTE)
    reminders_order_verification(now=NOW + 90 * MINUTE)

    assert early == 0
    reminder = Notification.objects.get(kind=Notification.Kind.ORDER_VERIFICATION)
    assert reminder.recipient == community.second_nurse
    assert reminder.subject_key == f"order:{order.pk}"


def test_it_warns_of_an_expiring_certification_at_30_and_again_at_7_days(community):
    administrator = UserFactory(role=User.Role.ADMINISTRATOR, facility=community.facility)
    today = dt.date(2026, 11, 20)
    certification = CertificationFactory(
        user=community.tech, expires_on=today + dt.timedelta(days=30)
    )
    certification.user.certifications.exclude(pk=certification.pk).delete()

    reminders_certification_expiry(today=today, now=NOW)
    reminders_certification_expiry(today=today + dt.timedelta(days=1), now=NOW)
    reminders_certification_expiry(today=today + dt.timedelta(days=23), now=NOW)

    warnings = Notification.objects.filter(kind=Notification.Kind.CERTIFICATION_EXPIRING)
    assert sorted(warnings.values_list("recipient_id", "subject_key")) == sorted(
        [
            (community.tech.pk, f"certification:{certification.pk}:30"),
            (administrator.pk, f"certification:{certification.pk}:30"),
            (community.tech.pk, f"certification:{certification.pk}:7"),
            (administrator.pk, f"certification:{certification.pk}:7"),
        ]
    )


def test_it_mails_each_missed_dose_alert_once_without_naming_the_resident(community):
    community.nurse.email = "nurse@example.org"
    community.nurse.save()
    dose = first_dose(community)
    doses_close_missed(now=dose.window_end + dt.timedelta(hours=3))

    sent = notifications_send_email(now=NOW)
    again = notifications_send_email(now=NOW)

    assert (sent, again) == (1, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nurse@example.org"]
    assert community.resident.last_name not in mail.outbox[0].body
    assert community.resident.last_name not in mail.outbox[0].subject
