"""The nurse's review of exceptions: a missed, late, refused, held, not-available or
away dose, or a concern report. Acknowledging one writes an ExceptionReview with the
nurse's follow-up note; it then leaves the open list. A concern report is also marked
acknowledged on the report itself, so the concerns page agrees.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from mar.models import Administration, ExceptionReview, FollowUp, ScheduledDose
from mar.selectors import DoseState, doses_with_state
from mar.services.concerns import concern_acknowledge
from mar.services.notifications import notifications_settle
from medtech.core import permissions
from medtech.core.audit import audit_write
from medtech.core.errors import Conflict, DomainError, Invalid, NotPermitted
from residents.models import ConcernReport
from staff.models import User


class ReviewError(DomainError):
    """An acknowledgement that cannot be made; the message says why."""


class ReviewNotPermitted(NotPermitted, ReviewError):
    pass


class ReviewInvalid(Invalid, ReviewError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AlreadyReviewed(Conflict, ReviewError):
    pass


NOT_GIVEN_KINDS = {
    Administration.Status.REFUSED: ExceptionReview.Kind.REFUSED,
    Administration.Status.HELD: ExceptionReview.Kind.HELD,
    Administration.Status.NOT_AVAILABLE: ExceptionReview.Kind.NOT_AVAILABLE,
    Administration.Status.AWAY: ExceptionReview.Kind.AWAY,
    Administration.Status.ASLEEP: ExceptionReview.Kind.OTHER,
    Administration.Status.OTHER: ExceptionReview.Kind.OTHER,
}

# How the notifications about each kind of subject name it (``Notification.subject_key``).
_SUBJECT_KEYS = {"scheduled_dose": "dose", "administration": "administration", "concern": "concern"}


def exception_kind_for_dose(*, dose: ScheduledDose, now: dt.datetime) -> str | None:
    """Missed, or away once its window has passed, or None when the dose is no exception
    to acknowledge (yet): a late dose is still chartable, and stays on the list until it
    is charted or turns missed. One query (``doses_with_state``)."""
    state = (
        doses_with_state(ScheduledDose.objects.filter(pk=dose.pk), now=now)
        .values_list("state", flat=True)
        .get()
    )
    if state == DoseState.AWAY and dose.window_end < now:
        return ExceptionReview.Kind.AWAY
    return ExceptionReview.Kind.MISSED if state == DoseState.MISSED else None


def exception_kind_for_administration(*, administration: Administration) -> str | None:
    """Not given (by its reason); given past a nurse's override, late, or without a scan
    where one is required; or None for a dose given as it should be."""
    if administration.is_entered_in_error:
        return None
    if administration.status in NOT_GIVEN_KINDS:
        return NOT_GIVEN_KINDS[administration.status]
    if administration.override_id:
        return ExceptionReview.Kind.OVERRIDE
    if administration.is_late:
        return ExceptionReview.Kind.LATE
    return ExceptionReview.Kind.UNSCANNED if administration.scan_skipped else None


@transaction.atomic
def _followups_close(
    *, administration: Administration, user: User, note: str, now: dt.datetime
) -> int:
    """A refusal or hold acknowledged with the physician notified closes its follow-up:
    what the follow-up asks for has been done. Returns how many were closed."""
    return FollowUp.objects.filter(administration=administration, done_at__isnull=True).update(
        done_at=now,
        done_by=user,
        done_note=f"Acknowledged: {note.strip()}",
        prescriber_notified=True,
    )


def exception_acknowledge(
    *,
    user: User,
    note: str,
    now: dt.datetime,
    scheduled_dose: ScheduledDose | None = None,
    administration: Administration | None = None,
    concern: ConcernReport | None = None,
    physician_notified: bool = False,
    family_notified: bool = False,
) -> ExceptionReview:
    """A nurse of the resident's community acknowledges one exception, with a note.

    Give exactly one subject. Each is acknowledged once: the subject row is locked, and
    the database keeps one review per subject. A refused or held dose acknowledged with the
    physician notified also closes its open follow-up. The page (one or many at once) and
    the API both acknowledge through here: one behaviour, one audit row.
    """
    subjects = [s for s in (scheduled_dose, administration, concern) if s is not None]
    if len(subjects) != 1:
        raise ReviewInvalid("Acknowledge one dose, record or concern report at a time.")
    permissions.require(
        user,
        permissions.Area.EXCEPTION_ACK,
        error=ReviewNotPermitted,
        message="Only a nurse acknowledges an exception.",
    )
    subject = (
        type(subjects[0])
        .objects.select_for_update(of=("self",))
        .select_related("resident__facility")
        .get(pk=subjects[0].pk)
    )
    resident = subject.resident
    if not user.memberships.filter(facility_id=resident.facility_id).exists():
        raise ReviewNotPermitted("You are not a member of this resident's community.")
    if not note.strip():
        raise ReviewInvalid("Write what you did about it.", field="note")

    if isinstance(subject, ScheduledDose):
        kind = exception_kind_for_dose(dose=subject, now=now)
        subject_field = "scheduled_dose"
    elif isinstance(subject, Administration):
        kind = exception_kind_for_administration(administration=subject)
        subject_field = "administration"
    else:
        kind = ExceptionReview.Kind.CONCERN
        subject_field = "concern"
        if subject.acknowledged_at is not None:
            raise AlreadyReviewed(
                f"Already acknowledged by {subject.acknowledged_by.signature_name}."
            )
    if kind is None and isinstance(subject, ScheduledDose) and subject.window_end < now:
        raise ReviewInvalid(
            "This dose is late and can still be charted: have it charted now. It can be "
            "acknowledged once it is charted late or turns missed."
        )
    if kind is None:
        raise ReviewInvalid("This is not an exception: nothing to acknowledge.")
    existing = (
        ExceptionReview.objects.filter(**{subject_field: subject})
        .select_related("reviewed_by")
        .first()
    )
    if existing is not None:
        raise AlreadyReviewed(f"Already acknowledged by {existing.reviewed_by.signature_name}.")
    if isinstance(subject, ConcernReport):
        concern_acknowledge(report=subject, user=user, note=note, now=now)
    try:
        with transaction.atomic():
            review = ExceptionReview.objects.create(
                kind=kind,
                note=note.strip(),
                physician_notified=physician_notified,
                family_notified=family_notified,
                reviewed_by=user,
                reviewed_at=now,
                **{subject_field: subject},
            )
            notifications_settle(
                subject_keys=[f"{_SUBJECT_KEYS[subject_field]}:{subject.pk}"], now=now
            )
            closed = 0
            if physician_notified and isinstance(subject, Administration):
                closed = _followups_close(administration=subject, user=user, note=note, now=now)
            audit_write(
                actor=user,
                action="exception.acknowledge",
                target=review,
                resident=resident,
                after={
                    "kind": kind,
                    subject_field: subject.pk,
                    "note": review.note,
                    "physician_notified": physician_notified,
                    "family_notified": family_notified,
                    "followups_closed": closed,
                },
                now=now,
            )
            return review
    except IntegrityError:  # pragma: no cover - the row lock above makes this a backstop
        raise AlreadyReviewed("Someone acknowledged it a moment ago.") from None
