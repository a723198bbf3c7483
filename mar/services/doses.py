"""Materialization of scheduled doses, and the passage of time over them.

Orders are turned into ScheduledDose rows for a rolling horizon (48 hours by
default). An order change re-syncs that order's future, uncharted doses in the
same transaction; a periodic task keeps the horizon filled. Both insert with
ON CONFLICT DO NOTHING against the (order, scheduled_at) unique constraint, so
running them twice, or at the same time, never makes a duplicate. Doses that
were charted, or whose window has already closed, are never touched here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet

from mar import schedule
from mar.models import Notification, Order, ScheduledDose
from mar.selectors import late_deadline, pass_times_by_facility, resident_was_away
from mar.services.notifications import notifications_create, notifications_settle
from residents.models import Facility, Resident
from staff.selectors import nurses_by_facility

DEFAULT_HORIZON = dt.timedelta(hours=48)
# What the engine reads of an order (loading only these keeps the horizon fill cheap).
SCHEDULE_FIELDS = (
    "id",
    "resident_id",
    "frequency",
    "administration_times",
    "days_of_week",
    "days_of_month",
    "interval",
    "is_time_critical",
    "window_minutes",
    "starts_at",
    "ends_at",
)


@dataclass(frozen=True)
class FacilitySchedule:
    """What the engine needs to know about a facility: zone, pass times, windows."""

    zone: ZoneInfo
    pass_times: dict[str, dt.time]
    windows: schedule.FacilityWindows

    @classmethod
    def load(cls, facilities: Iterable[Facility]) -> dict[int, FacilitySchedule]:
        facilities = list(facilities)
        pass_times = pass_times_by_facility(facility_ids=[facility.pk for facility in facilities])
        return {
            facility.pk: cls(
                zone=facility.zone,
                pass_times=pass_times[facility.pk],
                windows=schedule.FacilityWindows.from_facility(facility),
            )
            for facility in facilities
        }


@dataclass(frozen=True, slots=True)
class DoseTime:
    scheduled_at: dt.datetime
    window_start: dt.datetime
    window_end: dt.datetime


def _desired_doses(
    *, order: Order, facility: FacilitySchedule, now: dt.datetime, horizon: dt.timedelta
) -> list[DoseTime]:
    """The doses the order calls for whose window has not closed, up to the horizon."""
    frequency = schedule.Frequency.from_order(order, pass_times=facility.pass_times)
    if frequency.kind == schedule.FrequencyKind.PRN:
        return []
    minutes = schedule.window_minutes(
        frequency=frequency,
        is_time_critical=order.is_time_critical,
        override_minutes=order.window_minutes,
        facility_windows=facility.windows,
    )
    times = schedule.scheduled_times(
        frequency=frequency,
        starts_at=order.starts_at,
        ends_at=order.ends_at,
        zone=facility.zone,
        range_start=now - dt.timedelta(minutes=minutes),
        range_end=now + horizon,
    )
    return [DoseTime(at, *schedule.window_for(scheduled_at=at, minutes=minutes)) for at in times]


def _insert_doses(rows: list[tuple[int, int, DoseTime]]) -> int:
    """Insert ``(order id, resident id, dose time)`` rows as pending doses; returns how many
    were new. One INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, so a dose that
    exists already (another worker, a second run) is skipped, never doubled.

    Written out rather than ``bulk_create``: the horizon fill writes thousands of rows a
    tick, and building a model instance per row plus the ORM's per-value preparation
    took as long as the insert itself (profile in docs/benchmarks.md).
    """
    if not rows:
        return 0
    meta = ScheduledDose._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in (
            "public_id",
            "status",
            "order",
            "resident",
            "scheduled_at",
            "window_start",
            "window_end",
        )
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 (names from _meta)
        "SELECT gen_random_uuid(), %s, * FROM unnest("
        "%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[]"
        ") ON CONFLICT DO NOTHING"
    )
    params = [
        ScheduledDose.Status.PENDING.value,
        [order_id for order_id, _, _ in rows],
        [resident_id for _, resident_id, _ in rows],
        [time.scheduled_at for _, _, time in rows],
        [time.window_start for _, _, time in rows],
        [time.window_end for _, _, time in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _open_uncharted_doses(*, now: dt.datetime):
    """Doses nobody has charted whose window has not yet closed: safe to remove or redo."""
    return ScheduledDose.objects.filter(
        status=ScheduledDose.Status.PENDING, window_end__gt=now, administrations__isnull=True
    )


def _is_no_longer_owed() -> ExpressionWrapper:
    """Whether a pending dose is no longer owed: its order was held or discontinued (the
    end of a stay discontinues every order) before the dose's late limit passed. Such a
    dose is cancelled, never missed; one stopped after its late limit had been missed.

    Needs the ``late_deadline`` annotation (``mar.selectors.late_deadline``)."""
    return ExpressionWrapper(
        ~Q(order__status=Order.Status.ACTIVE)
        & Q(order__status_changed_at__isnull=False)
        & Q(order__status_changed_at__lte=F("late_deadline")),
        output_field=BooleanField(),
    )


def _doses_cancel(*, doses: QuerySet[ScheduledDose], now: dt.datetime) -> list[int]:
    """Cancel the pending doses of ``doses`` that are no longer owed; their dose-due
    reminders are settled for everyone. Returns the ids cancelled."""
    ids = list(
        doses.filter(status=ScheduledDose.Status.PENDING)
        .annotate(late_deadline=late_deadline(), no_longer_owed=_is_no_longer_owed())
        .filter(no_longer_owed=True)
        .values_list("id", flat=True)
    )
    if ids:
        ScheduledDose.objects.filter(pk__in=ids, status=ScheduledDose.Status.PENDING).update(
            status=ScheduledDose.Status.CANCELLED, status_changed_at=now
        )
        notifications_settle(subject_keys=[f"dose:{pk}" for pk in ids], now=now)
    return ids


def doses_sync_for_order(
    *, order: Order, now: dt.datetime, horizon: dt.timedelta = DEFAULT_HORIZON
) -> int:
    """Bring one order's future doses in line with the order, in the caller's transaction.

    Called by every service that creates, verifies, holds, resumes or discontinues an
    order. An order that is not active keeps no open doses: those nobody charted are
    removed, and those it still owed (late ones, and those whose only record was marked
    entered in error) are cancelled. An active one gets exactly the doses its schedule
    calls for up to the horizon (a cancelled one still ahead is owed again). Returns the
    number created.
    """
    open_doses = _open_uncharted_doses(now=now).filter(order=order)
    if order.status != Order.Status.ACTIVE:
        open_doses.delete()
        _doses_cancel(doses=ScheduledDose.objects.filter(order=order), now=now)
        return 0
    facility = FacilitySchedule.load([order.resident.facility])[order.resident.facility_id]
    desired = _desired_doses(order=order, facility=facility, now=now, horizon=horizon)
    desired_times = [time.scheduled_at for time in desired]
    open_doses.exclude(scheduled_at__in=desired_times).delete()
    ScheduledDose.objects.filter(
        order=order,
        status=ScheduledDose.Status.CANCELLED,
        window_end__gt=now,
        scheduled_at__in=desired_times,
    ).update(status=ScheduledDose.Status.PENDING, status_changed_at=now)
    return _insert_doses([(order.pk, order.resident_id, time) for time in desired])


def doses_materialize(*, now: dt.datetime, horizon: dt.timedelta = DEFAULT_HORIZON) -> int:
    """Fill the horizon for every active order. Safe to run twice or in two workers.

    Orders are locked FOR NO KEY UPDATE with SKIP LOCKED: an order that another
    transaction is changing right now is skipped (its own change re-syncs it), and
    charting, which only takes a key-share lock on the order, is never blocked.
    Returns the number of doses created.
    """
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(
                status=Order.Status.ACTIVE,
                starts_at__lt=now + horizon,
                resident__status__in=[Resident.Status.ACTIVE, Resident.Status.AWAY],
            )
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now - dt.timedelta(days=1)))
            .exclude(frequency=Order.Frequency.PRN)
            .annotate(facility_id=F("resident__facility_id"))
            .order_by("id")
            # Plain rows, not models: the engine reads them duck-typed, and building
            # hundreds of deferred-field Order instances cost more than the query.
            .values_list(*SCHEDULE_FIELDS, "facility_id", named=True)
        )
        if not orders:
            return 0
        facilities = FacilitySchedule.load(
            Facility.objects.filter(pk__in={order.facility_id for order in orders})
        )
        existing = set(
            ScheduledDose.objects.filter(
                order__in=[order.id for order in orders],
                scheduled_at__gte=now - dt.timedelta(days=1),
                scheduled_at__lt=now + horizon,
            ).values_list("order_id", "scheduled_at")
        )
        missing = [
            (order.id, order.resident_id, time)
            for order in orders
            for time in _desired_doses(
                order=order, facility=facilities[order.facility_id], now=now, horizon=horizon
            )
            if (order.id, time.scheduled_at) not in existing
        ]
        return _insert_doses(missing)


def doses_close_missed(*, now: dt.datetime) -> dict[str, int]:
    """Close uncharted doses past their late limit: missed; or away if the resident was
    away at the dose's time (``mar.selectors.resident_was_away``); or cancelled if the
    dose is no longer owed (its order stopped before the late limit passed).

    Only a missed dose notifies the facility's nurses, once, in the same transaction, so
    a worker that dies half-way leaves either both the status and the alerts or
    neither. Doses being charted at this instant are locked and skipped.
    """
    with transaction.atomic():
        overdue = list(
            ScheduledDose.objects.select_for_update(skip_locked=True, of=("self",))
            .annotate(late_deadline=late_deadline())
            .annotate(was_away=resident_was_away(), no_longer_owed=_is_no_longer_owed())
            .filter(status=ScheduledDose.Status.PENDING, late_deadline__lt=now)
            .select_related("resident__facility", "resident__room", "order__medication")
            .order_by("scheduled_at", "id")
        )
        cancelled = [dose.pk for dose in overdue if dose.no_longer_owed]
        away = [dose.pk for dose in overdue if dose.was_away and not dose.no_longer_owed]
        missed = [dose for dose in overdue if not (dose.was_away or dose.no_longer_owed)]
        ScheduledDose.objects.filter(pk__in=cancelled).update(
            status=ScheduledDose.Status.CANCELLED, status_changed_at=now
        )
        ScheduledDose.objects.filter(pk__in=away).update(
            status=ScheduledDose.Status.AWAY, status_changed_at=now
        )
        ScheduledDose.objects.filter(pk__in=[dose.pk for dose in missed]).update(
            status=ScheduledDose.Status.MISSED, status_changed_at=now
        )
        _alert_nurses_of_missed(doses=missed, now=now)
    return {"missed": len(missed), "away": len(away), "cancelled": len(cancelled)}


def _alert_nurses_of_missed(*, doses: list[ScheduledDose], now: dt.datetime) -> None:
    if not doses:
        return
    nurses = nurses_by_facility(facility_ids={dose.resident.facility_id for dose in doses})
    notifications = []
    for dose in doses:
        facility = dose.resident.facility
        local = dose.scheduled_at.astimezone(facility.zone)
        room = dose.resident.room.number if dose.resident.room else "no room"
        for nurse_id in nurses.get(facility.pk, []):
            notifications.append(
                Notification(
                    recipient_id=nurse_id,
                    facility_id=facility.pk,
                    kind=Notification.Kind.DOSE_MISSED,
                    subject_key=f"dose:{dose.pk}",
                    title=f"Missed {local:%H:%M} dose: Room {room}, {dose.resident.display_name}",
                    body=f"{dose.order.medication} was not charted by the end of its window "
                    f"({local:%a %b %-d, %H:%M}).",
                    created_at=now,
                )
            )
    notifications_create(notifications=notifications)
