"""Celery entry points. Each one reads the clock, calls one service and returns.

Every service they call is idempotent (derived from the database, unique keys on what
it writes), so with acks_late a task redelivered after a worker died does no harm.
"""

from celery import shared_task
from django.utils import timezone

from mar.services import doses, followups, notifications, printing, reminders


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


# --- Printing (mar.services.printing) ------------------------------------------------------


@shared_task(name="mar.prerender_resident_months")
def prerender_resident_months() -> int:
    """Find the residents whose current month changed since its last render; one render
    task each, so both worker processes share the work."""
    stale = printing.resident_months_stale(now=timezone.now())
    for resident_id, month_key in stale:
        render_resident_month.delay(resident_id, month_key)
    return len(stale)


@shared_task(name="mar.render_resident_month")
def render_resident_month(resident_id: int, month_key: str) -> None:
    printing.resident_month_prerender(
        resident_id=resident_id, month_key=month_key, now=timezone.now()
    )


@shared_task(name="mar.render_community_month")
def render_community_month(job_id: int) -> None:
    for part_id in printing.community_month_start(job_id=job_id, now=timezone.now()):
        render_community_part.delay(part_id)


@shared_task(name="mar.render_community_part")
def render_community_part(part_id: int) -> None:
    printing.community_part_render(part_id=part_id, now=timezone.now())


@shared_task(name="mar.merge_community_month")
def merge_community_month(job_id: int) -> None:
    printing.community_month_merge(job_id=job_id, now=timezone.now())


@shared_task(name="mar.refresh_downtime_sheets")
def refresh_downtime_sheets() -> int:
    return printing.downtime_sheets_refresh(now=timezone.now())


@shared_task(name="mar.prune_print_files")
def prune_print_files() -> int:
    return printing.print_files_prune(now=timezone.now())


@shared_task(name="mar.raise_overdue_followups")
def raise_overdue_followups() -> dict[str, int]:
    return followups.followups_raise_overdue(now=timezone.now())
