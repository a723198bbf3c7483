"""The nurse's follow-ups and the bulk acknowledgement of exceptions.

A refused or held dose opens a follow-up: notify the prescriber within the facility's
``refusal_followup_hours`` (24 by default, as some state rules require). The charting
service opens it in the charting transaction; the overdue job (``followups_raise_overdue``,
every few minutes) opens any that a path around the charting service left unopened,
then raises the overdue ones to the facility's nurses once. A follow-up is done when a
nurse says what was done, or acknowledges the exception saying the physician was notified.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef

from mar.models import (
    Administration,
    ExceptionReview,
    FollowUp,
    Notification,
    ScheduledDose,
)
from mar.services.charting_rules import hold_parameter_reasons
from mar.services.notifications import notifications_create, notifications_settle
from mar.services.reviews import ReviewError, exception_acknowledge
from medtech.core import permissions
from medtech.core.audit import audit_write, snapshot
from medtech.core.errors import DomainError, Invalid, NotPermitted
from medtech.core.scope import is_member
from residents.models import ConcernReport
from staff.models import User
from staff.selectors import nurses_by_facility

FOLLOWUP_STATUSES = (Administration.Status.REFUSED, Administration.Status.HELD)
# How far back the overdue job looks for refusals and holds left without a follow-up.
BACKFILL_WINDOW = dt.timedelta(days=7)


class FollowUpError(DomainError):
    """A follow-up change that cannot be made; the message says why."""


class FollowUpNotPermitted(NotPermitted, FollowUpError):
    pass


class FollowUpInvalid(Invalid, FollowUpError):
    pass


def _due_at(administration: Administration) -> dt.datetime:
    hours = administration.resident.facility.refusal_followup_hours or 24
    return administration.administered_at + dt.timedelta(hours=hours)


def followup_open(*, administration: Administration, now: dt.datetime) -> FollowUp | None:
    """Open the follow-up of a refused or held dose (once; None for anything else).

    Call it inside the charting transaction. ``administration.resident.facility`` is read.
    """
    if administration.status not in FOLLOWUP_STATUSES or administration.is_entered_in_error:
        return None
    due_at = max(_due_at(administration), now + dt.timedelta(minutes=1))
    followup, created = FollowUp.objects.get_or_create(
        administration=administration,
        defaults={"resident_id": administration.resident_id, "opened_at": now, "due_at": due_at},
    )
    if created:
        audit_write(
            actor=None,
            action="followup.open",
            now=now,
            target=followup,
            resident=administration.resident,
            after=snapshot(followup, fields=["administration", "opened_at", "due_at"]),
        )
        _alert_nurses_of_hold(administration=administration, now=now)
    return followup


def _alert_nurses_of_hold(*, administration: Administration, now: dt.datetime) -> None:
    """A dose held under one of its order's hold parameters (insulin held for a glucose
    of 64) tells every nurse of the community at once, with the vitals that were taken."""
    order = administration.order
    if administration.status != Administration.Status.HELD or not order.hold_parameters:
        return
    resident = administration.resident
    local = administration.administered_at.astimezone(resident.facility.zone)
    room = resident.room.number if resident.room else "no room"
    crossed = hold_parameter_reasons(order=order, vitals=administration.vitals or {})
    readings = administration.vitals_text
    body = f"{order.medication} held at {local:%H:%M}: {administration.reason}"
    if crossed:
        body += f" ({'; '.join(crossed)})"
    if readings:
        body += f". Vitals: {readings}"
    notifications_create(
        notifications=[
            Notification(
                recipient_id=nurse_id,
                facility_id=resident.facility_id,
                kind=Notification.Kind.DOSE_HELD,
                subject_key=f"administration:{administration.pk}",
                title=f"Dose held (hold parameter): Room {room}, {resident.display_name}",
                body=body + ".",
                link=f"/review/?kind={ExceptionReview.Kind.HELD}",
                created_at=now,
            )
            for nurse_id in nurses_by_facility(facility_ids={resident.facility_id}).get(
                resident.facility_id, []
            )
        ]
    )


def followups_open_missing(*, now: dt.datetime) -> int:
    """Open the follow-ups of recent refusals and holds that have none (idempotent)."""
    records = list(
        Administration.objects.filter(
            status__in=FOLLOWUP_STATUSES,
            is_entered_in_error=False,
            administered_at__gte=now - BACKFILL_WINDOW,
        )
        .exclude(Exists(FollowUp.objects.filter(administration=OuterRef("pk"))))
        .select_related("resident__facility")
        .order_by("administered_at", "id")
    )
    opened = 0
    for record in records:
        with transaction.atomic():
            if followup_open(administration=record, now=now) is not None:
                opened += 1
    return opened


def followups_raise_overdue(*, now: dt.datetime) -> dict[str, int]:
    """The Celery job: open missing follow-ups, then raise each newly overdue one once
    (``raised_at`` and a notification to every nurse of the facility). Safe to run twice."""
    opened = followups_open_missing(now=now)
    with transaction.atomic():
        overdue = list(
            FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(done_at__isnull=True, raised_at__isnull=True, due_at__lt=now)
            .filter(administration__is_entered_in_error=False)
            .select_related("resident__facility", "resident__room", "administration__order")
            .select_related("administration__order__medication")
            .order_by("due_at", "id")
        )
        FollowUp.objects.filter(pk__in=[f.pk for f in overdue]).update(raised_at=now)
        nurses = nurses_by_facility(facility_ids={f.resident.facility_id for f in overdue})
        notifications = []
        for followup in overdue:
            resident = followup.resident
            record = followup.administration
            local = followup.due_at.astimezone(resident.facility.zone)
            room = resident.room.number if resident.room else "no room"
            for nurse_id in nurses.get(resident.facility_id, []):
                notifications.append(
                    Notification(
                        recipient_id=nurse_id,
                        facility_id=resident.facility_id,
                        kind=Notification.Kind.FOLLOWUP_OVERDUE,
                        subject_key=f"followup:{followup.pk}",
                        title=f"Follow-up overdue: Room {room}, {resident.display_name}",
                        body=f"{record.get_status_display()} {record.order.medication}: the "
                        f"prescriber was to be notified by {local:%a %b %-d, %H:%M}.",
                        link="/review/?followups=overdue",
                        created_at=now,
                    )
                )
        notifications_create(notifications=notifications)
        for followup in overdue:
            audit_write(
                actor=None,
                action="followup.raise_overdue",
                now=now,
                target=followup,
                resident=followup.resident,
                after={"raised_at": now.isoformat()},
            )
    return {"opened": opened, "raised": len(overdue)}


@transaction.atomic
def followup_complete(
    *,
    followup: FollowUp,
    user: User,
    note: str,
    prescriber_notified: bool,
    now: dt.datetime,
) -> FollowUp:
    """A nurse of the resident's community says what was done; the follow-up is closed."""
    permissions.require(
        user,
        permissions.Area.EXCEPTION_ACK,
        error=FollowUpNotPermitted,
        message="Only a nurse closes a follow-up.",
    )
    followup = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("resident", "done_by")
        .get(pk=followup.pk)
    )
    if not is_member(user=user, facility_id=followup.resident.facility_id):
        raise FollowUpNotPermitted("You are not a member of this resident's community.")
    if followup.done_at is not None:
        raise FollowUpInvalid(f"Already done by {followup.done_by.signature_name}.")
    if not note.strip():
        raise FollowUpInvalid("Write what you did (who was notified, what they said).")
    before = snapshot(followup, fields=["done_at", "done_by", "done_note", "prescriber_notified"])
    followup.done_at = now
    followup.done_by = user
    followup.done_note = note.strip()
    followup.prescriber_notified = prescriber_notified
    followup.save(update_fields=["done_at", "done_by", "done_note", "prescriber_notified"])
    notifications_settle(subject_keys=[f"followup:{followup.pk}"], now=now)
    audit_write(
        actor=user,
        action="followup.complete",
        now=now,
        target=followup,
        resident=followup.resident,
        before=before,
        after=snapshot(followup, fields=["done_at", "done_by", "done_note", "prescriber_notified"]),
    )
    return followup


# --- Acknowledging exceptions, one or many -----------------------------------------------


@dataclass
class BulkResult:
    reviews: list[ExceptionReview] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    followups_closed: int = 0


Subject = ScheduledDose | Administration | ConcernReport


def exceptions_acknowledge_many(
    *,
    user: User,
    subjects: list[Subject],
    note: str,
    physician_notified: bool,
    family_notified: bool,
    now: dt.datetime,
) -> BulkResult:
    """Acknowledge each subject with the same note (``reviews.exception_acknowledge``), each
    in its own transaction, so one that someone else acknowledged a moment ago does not
    undo the others: it is reported in ``refused``. A refusal or hold acknowledged with
    the physician notified also closes its follow-up (``exception_acknowledge`` does, for
    the API alike); ``followups_closed`` counts them."""
    permissions.require(
        user,
        permissions.Area.EXCEPTION_ACK,
        error=FollowUpNotPermitted,
        message="Only a nurse acknowledges an exception.",
    )
    if not subjects:
        raise FollowUpInvalid("Tick at least one exception to acknowledge.")
    if not note.strip():
        raise FollowUpInvalid("Write what you did about it.")
    result = BulkResult()
    for subject in subjects:
        argument = {
            ScheduledDose: "scheduled_dose",
            Administration: "administration",
            ConcernReport: "concern",
        }[type(subject)]
        try:
            with transaction.atomic():
                review = exception_acknowledge(
                    user=user,
                    note=note,
                    now=now,
                    physician_notified=physician_notified,
                    family_notified=family_notified,
                    **{argument: subject},
                )
                if physician_notified and isinstance(subject, Administration):
                    result.followups_closed += FollowUp.objects.filter(
                        administration=subject, done_at=now, done_by=user
                    ).count()
        except ReviewError as error:
            result.refused.append((str(subject.public_id), str(error)))
        else:
            result.reviews.append(review)
    return result
