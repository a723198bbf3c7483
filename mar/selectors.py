"""Reads of the MAR: what state a dose is in, a user's notifications."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    DurationField,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import ExpressionWrapper

from mar.models import Notification, ScheduledDose
from staff.models import User

MINUTE = Value(dt.timedelta(minutes=1), output_field=DurationField())


def late_deadline() -> ExpressionWrapper:
    """window_end + the facility's late limit: after this an uncharted dose is missed."""
    return ExpressionWrapper(
        F("window_end") + F("resident__facility__late_limit_minutes") * MINUTE,
        output_field=DateTimeField(),
    )


class DoseState(StrEnum):
    """What a med tech or nurse calls a dose at a given moment."""

    UPCOMING = "upcoming"  # window not open yet
    DUE = "due"  # window open
    LATE = "late"  # window closed, still chartable (late) until the late limit
    MISSED = "missed"  # never charted, past the late limit
    AWAY = "away"  # resident was away (hospital / leave)
    CHARTED = "charted"


def dose_state(
    *,
    status: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    late_limit: dt.timedelta,
    now: dt.datetime,
) -> DoseState:
    """The state of one dose from its recorded status, its window and the clock.

    A pending dose past its late limit is missed even before the job that records
    it has run, so every screen agrees with the clock.
    """
    if status != ScheduledDose.Status.PENDING:
        return DoseState(status)
    if now < window_start:
        return DoseState.UPCOMING
    if now <= window_end:
        return DoseState.DUE
    if now <= window_end + late_limit:
        return DoseState.LATE
    return DoseState.MISSED


def doses_with_state(queryset: QuerySet[ScheduledDose], *, now: dt.datetime):
    """Annotate ``state`` in SQL with the same rules as ``dose_state`` (for filtering)."""
    return queryset.annotate(late_until=late_deadline()).annotate(
        state=Case(
            When(~Q(status=ScheduledDose.Status.PENDING), then=F("status")),
            When(window_start__gt=now, then=Value(DoseState.UPCOMING.value)),
            When(window_end__gte=now, then=Value(DoseState.DUE.value)),
            When(late_until__gte=now, then=Value(DoseState.LATE.value)),
            default=Value(DoseState.MISSED.value),
            output_field=CharField(),
        )
    )


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for_user(*, user: User, limit: int = 50) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user)
        .select_related("facility")
        .order_by("-created_at", "-id")[:limit]
    )
