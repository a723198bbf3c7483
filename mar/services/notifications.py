"""In-app notifications: creating them at most once, reading them, mailing copies.

A notification is unique per (recipient, kind, subject_key), so every job that
raises one can run any number of times and still say it once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from mar.models import Notification
from medtech.core.audit import audit_write
from medtech.core.errors import NotFound
from staff.models import User

logger = logging.getLogger(__name__)

# Kinds that also go out by e-mail. The e-mail carries no resident name or
# medication (no PHI by mail): it says what happened and where to look.
EMAILED_KINDS = (
    Notification.Kind.DOSE_MISSED,
    Notification.Kind.CONCERN_REPORTED,
    Notification.Kind.DOSE_HELD,
)


class NotificationNotFound(NotFound):
    pass


def notifications_create(*, notifications: list[Notification]) -> None:
    """Insert those that do not exist yet.

    Jobs call this every minute with mostly the same candidates, so the ones already
    stored are filtered out with one indexed read; ON CONFLICT DO NOTHING on the unique
    key settles a race with a concurrent run.
    """
    if not notifications:
        return
    existing = set(
        Notification.objects.filter(
            recipient_id__in={n.recipient_id for n in notifications},
            kind__in={n.kind for n in notifications},
            subject_key__in={n.subject_key for n in notifications},
        ).values_list("recipient_id", "kind", "subject_key")
    )
    new = [n for n in notifications if (n.recipient_id, n.kind, n.subject_key) not in existing]
    Notification.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)


def notifications_settle(
    *,
    subject_keys: list[str],
    now: dt.datetime,
    kinds: list[str] | None = None,
    subject_prefixes: tuple[str, ...] = (),
) -> int:
    """Mark the notifications about something already handled as read, for every
    recipient: a dose charted or cancelled, a concern acknowledged, a count discrepancy
    resolved, an exception reviewed. Charting, acknowledging and resolving services call
    this in their transaction, so a second nurse never sees as "New" what another one
    closed. ``kinds`` narrows it (default: every kind about those subjects). Returns how
    many were marked. ``subject_prefixes``: subjects asked about more than once (an
    override asked again later), each ask its own key under the prefix."""
    if not subject_keys and not subject_prefixes:
        return 0
    about = Q(subject_key__in=subject_keys)
    for prefix in subject_prefixes:
        about |= Q(subject_key__startswith=prefix)
    unread = Notification.objects.filter(about, read_at__isnull=True)
    if kinds is not None:
        unread = unread.filter(kind__in=kinds)
    return unread.update(read_at=now)


def notification_mark_read(*, user: User, notification_id: int, now: dt.datetime) -> Notification:
    try:
        notification = Notification.objects.get(pk=notification_id, recipient=user)
    except Notification.DoesNotExist:
        raise NotificationNotFound("That notification does not exist.") from None
    if notification.read_at is None:
        notification.read_at = now
        with transaction.atomic():
            notification.save(update_fields=["read_at"])
            audit_write(
                actor=user,
                action="notification.read",
                target=notification,
                facility=notification.facility_id,
                after={"read_at": now},
                now=now,
            )
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: User, now: dt.datetime) -> int:
    marked = Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now)
    if marked:
        audit_write(actor=user, action="notification.read_all", after={"marked": marked}, now=now)
    return marked


def notifications_send_email(*, now: dt.datetime, limit: int = 200) -> int:
    """Mail the copies not yet sent. At least once: a row is marked after its mail went."""
    sent = 0
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(kind__in=EMAILED_KINDS, emailed_at__isnull=True)
            .exclude(recipient__email="")
            .select_related("recipient", "facility")
            .order_by("created_at", "id")[:limit]
        )
        for notification in pending:
            send_mail(
                subject=f"[MedTech eMAR] {notification.get_kind_display()} at "
                f"{notification.facility.name}",
                message=(
                    f"{notification.get_kind_display()} at {notification.facility.name}.\n"
                    "Sign in to MedTech eMAR to see the details and acknowledge it.\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[notification.recipient.email],
            )
            notification.emailed_at = now
            sent += 1
        Notification.objects.bulk_update(pending, ["emailed_at"])
    return sent
