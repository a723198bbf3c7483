"""Celery entry points. Each one reads the clock, calls one service and returns.

Every service they call is idempotent (derived from the database, unique keys on what
it writes), so with acks_late a task redelivered after a worker died does no harm.
"""

from celery import shared_task
from django.utils import timezone

from mar.services import doses, drug_reference, followups, notifications, reminders


@shared_task(name="mar.materialize_doses")
def materialize_doses() -> int:
    return doses.doses_materialize(now=timezone.now())


@shared_task(name="mar.close_missed_doses")
def close_missed_doses() -> dict[str, int]:
    return doses.doses_close_missed(now=timezone.now())


@shared_task(name="mar.remind_doses_due")
def remind_doses_due() -> None:
    reminders.reminders_dose_due(now=timezone.now())


@shared_task(name="mar.remind_prn_followups")
def remind_prn_followups() -> None:
    reminders.reminders_prn_followup(now=timezone.now())


@shared_task(name="mar.remind_order_verifications")
def remind_order_verifications() -> None:
    reminders.reminders_order_verification(now=timezone.now())


@shared_task(name="mar.remind_certification_expiry")
def remind_certification_expiry() -> None:
    now = timezone.now()
    reminders.reminders_certification_expiry(today=timezone.localdate(now), now=now)


@shared_task(name="mar.send_notification_emails")
def send_notification_emails() -> int:
    return notifications.notifications_send_email(now=timezone.now())


@shared_task(name="mar.raise_overdue_followups")
def raise_overdue_followups() -> dict[str, int]:
    return followups.followups_raise_overdue(now=timezone.now())


@shared_task(name="mar.remind_psychotropic_prn_ending")
def remind_psychotropic_prn_ending() -> int:
    return drug_reference.reminders_psychotropic_prn_ending(now=timezone.now())
