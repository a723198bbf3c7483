"""Reads of the MAR: what state a dose is in, a user's notifications."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    DurationField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import ExpressionWrapper
from django.db.models.functions import Cast, Coalesce
from django.shortcuts import get_object_or_404

from inventory.models import MedCart, StockItem
from mar.models import (
    Administration,
    Amendment,
    EffectivenessCheck,
    ExceptionReview,
    Notification,
    Order,
    ScheduledDose,
)
from mar.prn import PrnLimits, prn_allowed_at
from medtech.core.scope import scope
from residents.models import ConcernReport, Facility, MedPassTime, Resident, ResidentAbsence
from staff.models import User

MINUTE = Value(dt.timedelta(minutes=1), output_field=DurationField())
# The person who charted a dose may mark it entered in error this long afterwards.
UNDO_WINDOW = dt.timedelta(minutes=2)


def late_deadline() -> ExpressionWrapper:
    """window_end + the facility's late limit: after this an uncharted dose is missed."""
    return ExpressionWrapper(
        F("window_end") + F("resident__facility__late_limit_minutes") * MINUTE,
        output_field=DateTimeField(),
    )


def administered_at_amended() -> Coalesce:
    """When a dose was given, as last amended (or as charted): the one expression every
    rule and list that needs the corrected time uses."""
    latest = (
        Amendment.objects.filter(
            administration=OuterRef("pk"), field=Amendment.Field.ADMINISTERED_AT
        )
        .order_by("-amended_at", "-id")
        .values("new_value")[:1]
    )
    return Coalesce(
        Cast(Subquery(latest), DateTimeField()), F("administered_at"), output_field=DateTimeField()
    )


def amended_value_text(*, field: str, value: Any) -> str:
    """How a value of an amendable field is written in an Amendment row."""
    if value is None:
        return ""
    if field == Amendment.Field.ADMINISTERED_AT:
        return value.astimezone(dt.UTC).isoformat()
    if field == Amendment.Field.DOSE_AMOUNT:
        return format(Decimal(value).normalize(), "f")
    return str(value).strip()


def amendments_in_effect(amendments: Iterable[Amendment]) -> dict[str, Amendment]:
    """The amendment in effect for each amended field of one record: the latest (by when
    it was made, then by id). The one answer to "what does the record say now", for the
    charting service (the old value of the next amendment), FHIR and the printed MAR."""
    latest: dict[str, Amendment] = {}
    for amendment in amendments:
        seen = latest.get(amendment.field)
        if seen is None or (amendment.amended_at, amendment.pk) > (seen.amended_at, seen.pk):
            latest[amendment.field] = amendment
    return latest


def administration_current_value(
    *, administration: Administration, field: str, amendments: Iterable[Amendment] | None = None
) -> str:
    """The value of a field as last amended (or as charted), as an Amendment writes it.

    Reads ``administration.amendments`` unless ``amendments`` are given (prefetch them to
    avoid a query)."""
    if amendments is None:
        amendments = administration.amendments.all()
    latest = amendments_in_effect(amendments).get(field)
    if latest is not None:
        return latest.new_value
    return amended_value_text(field=field, value=getattr(administration, field))


def doses_given_to_resident_around(
    *,
    resident_id: int,
    at: dt.datetime,
    span: dt.timedelta = dt.timedelta(hours=24),
    leave_out: Administration | None = None,
) -> list[Administration]:
    """The resident's doses given under any order within ``span`` either side of ``at``,
    with their order and medication (what the drug reference's daily maximums count):
    one query."""
    records = (
        Administration.objects.filter(
            resident_id=resident_id,
            status=Administration.Status.GIVEN,
            is_entered_in_error=False,
            administered_at__gt=at - span,
            administered_at__lt=at + span,
            dose_amount__isnull=False,
        )
        .select_related("order__medication")
        .order_by("administered_at", "id")
    )
    if leave_out is not None:
        records = records.exclude(pk=leave_out.pk)
    return list(records)


def given_times_around(
    *,
    order: Order,
    at: dt.datetime,
    span: dt.timedelta = dt.timedelta(hours=24),
    leave_out: Administration | None = None,
) -> list[dt.datetime]:
    """The (amended) times of the order's doses given within ``span`` either side of
    ``at``, documented in any order. One query: records charted in that span, and any
    record whose time was amended (its new time may fall in the span)."""
    moved = Amendment.objects.filter(
        administration__order=order, field=Amendment.Field.ADMINISTERED_AT
    ).values("administration_id")
    records = (
        Administration.objects.filter(
            order=order, status=Administration.Status.GIVEN, is_entered_in_error=False
        )
        .filter(
            Q(administered_at__gt=at - span, administered_at__lt=at + span)
            | Q(pk__in=Subquery(moved))
        )
        .annotate(given_at=administered_at_amended())
    )
    if leave_out is not None:
        records = records.exclude(pk=leave_out.pk)
    return sorted(
        given_at
        for given_at in records.values_list("given_at", flat=True)
        if at - span < given_at < at + span
    )


@dataclass(frozen=True)
class Neighbour:
    """The dose scheduled just before or just after another, and when it was given."""

    scheduled_at: dt.datetime
    window_start: dt.datetime
    window_end: dt.datetime
    given_at: dt.datetime | None


def dose_neighbours(*, dose: ScheduledDose) -> list[Neighbour]:
    """The order's doses scheduled just before and just after ``dose``: one query."""
    siblings = ScheduledDose.objects.filter(order_id=dose.order_id)
    before = siblings.filter(scheduled_at__lt=dose.scheduled_at).order_by("-scheduled_at")
    after = siblings.filter(scheduled_at__gt=dose.scheduled_at).order_by("scheduled_at")
    given = Administration.objects.filter(
        scheduled_dose=OuterRef("pk"),
        status=Administration.Status.GIVEN,
        is_entered_in_error=False,
    ).annotate(given_at=administered_at_amended())
    rows = (
        ScheduledDose.objects.filter(
            Q(pk__in=Subquery(before.values("pk")[:1])) | Q(pk__in=Subquery(after.values("pk")[:1]))
        )
        .annotate(given_at=Subquery(given.values("given_at")[:1]))
        .values_list("scheduled_at", "window_start", "window_end", "given_at")
    )
    return [Neighbour(*row) for row in rows]


class DoseState(StrEnum):
    """What a med tech or nurse calls a dose at a given moment."""

    UPCOMING = "upcoming"  # window not open yet
    DUE = "due"  # window open
    LATE = "late"  # window closed, still chartable (late) until the late limit
    MISSED = "missed"  # never charted, past the late limit
    AWAY = "away"  # resident away (hospital / leave) at the dose's time: not owed, not missed
    CANCELLED = "cancelled"  # its order was held or discontinued before it was missed
    CHARTED = "charted"


def resident_was_away() -> Exists:
    """Whether the dose's resident was away (a hospital stay or leave of absence) at its
    scheduled time: the one test, in SQL, behind every "away" on a screen, a list, the
    API, the offline bundle, the printed MAR and the missed-dose job."""
    return Exists(
        ResidentAbsence.objects.filter(
            resident=OuterRef("resident"), started_at__lte=OuterRef("scheduled_at")
        ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=OuterRef("scheduled_at")))
    )


def resident_absence_at(*, resident: Resident, at: dt.datetime) -> ResidentAbsence | None:
    """The hospital stay or leave of absence the resident was on at ``at`` (the same test
    as ``resident_was_away``), or None. One query."""
    return (
        ResidentAbsence.objects.filter(resident=resident, started_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .order_by("-started_at", "-id")
        .first()
    )


def absence_text(*, resident: Resident, absence: ResidentAbsence) -> str:
    """ "Doe, Jane is in hospital since Wed Nov 18 14:00", as the pass page and a refused
    chart say it (in the community's time)."""
    zone = resident.facility.zone
    where = "in hospital" if absence.kind == Resident.AwayKind.HOSPITAL else "on leave of absence"
    since = f"{absence.started_at.astimezone(zone):%a %b %-d %H:%M}"
    if absence.ended_at is None:
        return f"{resident.display_name} is {where} since {since}"
    until = f"{absence.ended_at.astimezone(zone):%a %b %-d %H:%M}"
    return f"{resident.display_name} was {where} from {since} until {until}"


def resident_away_refusal(*, resident: Resident, at: dt.datetime) -> str | None:
    """Why nothing can be charted for the resident at ``at`` (they were away), or None.
    The charting service asks this for every dose, scheduled or PRN, from every way in."""
    absence = resident_absence_at(resident=resident, at=at)
    if absence is None:
        return None
    if absence.ended_at is None:
        return (
            f"{absence_text(resident=resident, absence=absence)}. Their doses are away, not "
            "due: mark them returned first if they are back."
        )
    return f"{absence_text(resident=resident, absence=absence)}: no dose is charted for then."


def dose_state(
    *,
    status: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    late_limit: dt.timedelta,
    now: dt.datetime,
    is_away: bool,
) -> DoseState:
    """The state of one dose from its recorded status, its window, whether its resident
    was away at its time (``resident_was_away``) and the clock.

    A pending dose past its late limit is missed even before the job that records
    it has run, and a pending dose of a resident away is away at once (not due, not
    late, not missed), so every screen agrees with the clock.
    """
    if status != ScheduledDose.Status.PENDING:
        return DoseState(status)
    if is_away:
        return DoseState.AWAY
    if now < window_start:
        return DoseState.UPCOMING
    if now <= window_end:
        return DoseState.DUE
    if now <= window_end + late_limit:
        return DoseState.LATE
    return DoseState.MISSED


def doses_with_state(queryset: QuerySet[ScheduledDose], *, now: dt.datetime):
    """Annotate ``is_away`` and ``state`` in SQL with the same rules as ``dose_state``
    (for filtering and counting)."""
    return queryset.annotate(late_until=late_deadline(), is_away=resident_was_away()).annotate(
        state=Case(
            When(~Q(status=ScheduledDose.Status.PENDING), then=F("status")),
            When(is_away=True, then=Value(DoseState.AWAY.value)),
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


# --- The med pass ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PassPeriod:
    """One med pass: the span around a named pass time, from the midpoint after the
    previous pass time to the midpoint before the next one (local wall clock)."""

    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def pass_period(*, pass_times: dict[str, dt.time], zone: ZoneInfo, now: dt.datetime) -> PassPeriod:
    local_now = now.astimezone(zone)
    if not pass_times:
        return PassPeriod("Current pass", now - dt.timedelta(hours=2), now + dt.timedelta(hours=2))
    anchors = sorted(
        (
            dt.datetime.combine(local_now.date() + dt.timedelta(days=offset), clock, tzinfo=zone),
            name,
        )
        for offset in (-1, 0, 1)
        for name, clock in pass_times.items()
    )
    for (before, _), (at, name), (after, _) in zip(anchors, anchors[1:], anchors[2:], strict=False):
        starts, ends = before + (at - before) / 2, at + (after - at) / 2
        if starts <= local_now < ends:
            return PassPeriod(name, starts.astimezone(dt.UTC), ends.astimezone(dt.UTC))
    raise AssertionError("the anchors around now always contain it")  # pragma: no cover


@dataclass
class CartResident:
    resident: Resident
    due: int = 0
    late: int = 0
    given: int = 0
    upcoming: int = 0
    away: int = 0
    followups: int = 0  # PRN doses whose effectiveness follow-up is due now


def _pass_doses(*, period: PassPeriod, now: dt.datetime, late_limit: dt.timedelta):
    """Doses of the pass, plus earlier ones still chartable as late."""
    return ScheduledDose.objects.filter(
        Q(scheduled_at__gte=period.starts_at, scheduled_at__lt=period.ends_at)
        | Q(
            status=ScheduledDose.Status.PENDING,
            scheduled_at__lt=period.starts_at,
            window_end__gte=now - late_limit,
        )
    )


def cart_residents(
    *, cart: MedCart, now: dt.datetime, search: str = ""
) -> tuple[PassPeriod, list[CartResident]]:
    """The cart's residents by room, each with the pass's due, late and given counts.

    Four queries whatever the number of residents or doses (the last: PRN doses of the
    last day still waiting for their effectiveness follow-up).
    """
    facility = cart.facility
    period = pass_period(
        pass_times=facility_pass_times(facility=facility), zone=facility.zone, now=now
    )
    residents = (
        Resident.objects.filter(
            room__cart=cart, status__in=[Resident.Status.ACTIVE, Resident.Status.AWAY]
        )
        .select_related("room")
        .order_by("room__number", "last_name", "id")
    )
    if search := search.strip():
        residents = residents.filter(
            Q(last_name__icontains=search)
            | Q(first_name__icontains=search)
            | Q(preferred_name__icontains=search)
            | Q(room__number__istartswith=search)
        )
    rows = {resident.pk: CartResident(resident=resident) for resident in residents}
    late_limit = dt.timedelta(minutes=facility.late_limit_minutes)
    doses = (
        _pass_doses(period=period, now=now, late_limit=late_limit)
        .filter(resident_id__in=list(rows))
        .annotate(is_away=resident_was_away())
        .values_list("resident_id", "status", "window_start", "window_end", "is_away")
    )
    for resident_id, status, window_start, window_end, is_away in doses:
        state = dose_state(
            status=status,
            window_start=window_start,
            window_end=window_end,
            late_limit=late_limit,
            now=now,
            is_away=is_away,
        )
        row = rows[resident_id]
        if state == DoseState.DUE:
            row.due += 1
        elif state == DoseState.LATE:
            row.late += 1
        elif state == DoseState.CHARTED:
            row.given += 1
        elif state == DoseState.UPCOMING:
            row.upcoming += 1
        elif state == DoseState.AWAY:
            row.away += 1
    waiting = (
        Administration.objects.filter(
            resident_id__in=list(rows),
            is_entered_in_error=False,
            scheduled_dose__isnull=True,
            status=Administration.Status.GIVEN,
            effectiveness__isnull=True,
        )
        .annotate(given_at=administered_at_amended())
        .filter(given_at__gt=now - dt.timedelta(hours=24))
        .values_list("resident_id", "administered_at", "order__followup_minutes")
    )
    for resident_id, administered_at, minutes in waiting:
        if followup_is_due(
            administered_at=administered_at,
            minutes=minutes or facility.prn_followup_minutes,
            now=now,
        ):
            rows[resident_id].followups += 1
    return period, list(rows.values())


def current_pass(*, facility: Facility, now: dt.datetime) -> PassPeriod:
    return pass_period(
        pass_times=facility_pass_times(facility=facility), zone=facility.zone, now=now
    )


def pass_times_by_facility(*, facility_ids: Iterable[int]) -> dict[int, dict[str, dt.time]]:
    """Each facility's pass times (name -> wall-clock time, earliest first), in one query:
    the one reading of them that the schedule engine, the med pass, the nurse's order
    preview, printing, stock supply, FHIR and the facility settings all share."""
    by_facility: dict[int, dict[str, dt.time]] = {pk: {} for pk in facility_ids}
    rows = (
        MedPassTime.objects.filter(facility_id__in=by_facility)
        .order_by("time_of_day", "id")
        .values_list("facility_id", "name", "time_of_day")
    )
    for facility_id, name, clock in rows:
        by_facility[facility_id][name] = clock
    return by_facility


def facility_pass_times(*, facility: Facility) -> dict[str, dt.time]:
    """One facility's pass times (``pass_times_by_facility``)."""
    return pass_times_by_facility(facility_ids=[facility.pk])[facility.pk]


def resident_for_user(*, user: User, public_id) -> Resident:
    """A resident of one of the user's facilities; anyone else's answers 404."""
    return get_object_or_404(
        scope(Resident.objects, user=user).select_related("room__cart", "facility"),
        public_id=public_id,
    )


@dataclass
class DoseCard:
    dose: ScheduledDose
    state: DoseState
    record: Administration | None


@dataclass
class PrnCard:
    order: Order
    last_given_at: dt.datetime | None
    given_in_24h: int
    allowed_at: dt.datetime | None  # None: may be given now
    has_stock: bool


@dataclass
class ResidentPass:
    resident: Resident
    allergies: list
    period: PassPeriod
    groups: dict[str, list[DoseCard]]
    prn: list[PrnCard]
    followups_due: list[Administration]
    recent_records: list[Administration]
    awaiting_verification: list[Order]
    out_of_stock_order_ids: set[int]
    away: str = ""  # "Doe, Jane is in hospital since ...", while they are away


def resident_pass(*, resident: Resident, now: dt.datetime) -> ResidentPass:
    """Everything the pass screen shows for one resident, in a fixed number of queries."""
    facility = resident.facility
    late_limit = dt.timedelta(minutes=facility.late_limit_minutes)
    period = pass_period(
        pass_times=facility_pass_times(facility=facility), zone=facility.zone, now=now
    )
    # Whether the cart holds the medication (unexpired, some left) comes with each dose
    # and each order, rather than in a query of its own.
    stocked = StockItem.objects.filter(
        resident=resident,
        expires_on__gte=now.astimezone(facility.zone).date(),
        quantity_on_hand__gt=0,
    )
    doses = list(
        _pass_doses(period=period, now=now, late_limit=late_limit)
        .filter(resident=resident)
        .select_related("order__medication")
        .annotate(
            is_stocked=Exists(stocked.filter(medication_id=OuterRef("order__medication_id"))),
            is_away=resident_was_away(),
        )
        .order_by("scheduled_at", "order__medication__generic_name", "id")
    )

    day_ago = now - dt.timedelta(hours=24)
    # One query for the orders without doses (active PRN, awaiting verification) and one
    # for the records (the pass's doses' records, PRN doses of the last 24 hours, anything
    # still inside the undo window): the page's query count stays fixed and small.
    loose_orders = list(
        Order.objects.filter(resident=resident)
        .filter(
            Q(frequency=Order.Frequency.PRN, status=Order.Status.ACTIVE)
            | Q(status=Order.Status.PENDING_VERIFICATION)
        )
        .select_related("medication")
        .annotate(is_stocked=Exists(stocked.filter(medication_id=OuterRef("medication_id"))))
        .order_by("medication__generic_name", "id")
    )
    prn_orders = [order for order in loose_orders if order.status == Order.Status.ACTIVE]
    awaiting_verification = sorted(
        (order for order in loose_orders if order.status == Order.Status.PENDING_VERIFICATION),
        key=lambda order: (order.entered_at, order.pk),
    )
    undo_since = now - UNDO_WINDOW
    records = list(
        Administration.objects.filter(resident=resident, is_entered_in_error=False)
        .annotate(given_at=administered_at_amended())
        .filter(
            Q(scheduled_dose_id__in=[dose.pk for dose in doses])
            | Q(
                scheduled_dose__isnull=True,
                status=Administration.Status.GIVEN,
                given_at__gt=day_ago,
            )
            | Q(documented_at__gt=undo_since)
        )
        .select_related("order__medication", "administered_by", "effectiveness")
        .order_by("administered_at", "id")
    )
    # A dose has at most one active record (administration_one_active_per_dose).
    record_of_dose = {record.scheduled_dose_id: record for record in records}
    groups: dict[str, list[DoseCard]] = {
        "due": [],
        "late": [],
        "upcoming": [],
        "away": [],
        "done": [],
    }
    group = {
        DoseState.DUE: "due",
        DoseState.LATE: "late",
        DoseState.UPCOMING: "upcoming",
        DoseState.AWAY: "away",
    }
    for dose in doses:
        state = dose_state(
            status=dose.status,
            window_start=dose.window_start,
            window_end=dose.window_end,
            late_limit=late_limit,
            now=now,
            is_away=dose.is_away,
        )
        record = record_of_dose.get(dose.pk)
        groups[group.get(state, "done")].append(DoseCard(dose=dose, state=state, record=record))
    prn_given = [
        record
        for record in records
        if record.scheduled_dose_id is None
        and record.status == Administration.Status.GIVEN
        and record.given_at > day_ago
    ]
    recent_records = sorted(
        (record for record in records if record.documented_at > undo_since),
        key=lambda record: (record.documented_at, record.pk),
        reverse=True,
    )
    prn = []
    for order in prn_orders:
        times = sorted(record.given_at for record in prn_given if record.order_id == order.pk)
        prn.append(
            PrnCard(
                order=order,
                last_given_at=times[-1] if times else None,
                given_in_24h=len(times),
                allowed_at=prn_allowed_at(given=times, now=now, limits=PrnLimits.of(order)),
                has_stock=True,
            )
        )
    followups_due = [record for record in prn_given if _followup_due(record, facility, now)]
    out_of_stock = {dose.order_id for dose in doses if not dose.is_stocked} | {
        order.pk for order in prn_orders if not order.is_stocked
    }
    for card in prn:
        card.has_stock = card.order.pk not in out_of_stock
    absence = None
    if resident.status == Resident.Status.AWAY:  # one more query, only while they are away
        absence = resident_absence_at(resident=resident, at=now)
    return ResidentPass(
        resident=resident,
        allergies=list(resident.allergies.order_by("allergen", "id")),
        period=period,
        groups=groups,
        prn=prn,
        followups_due=followups_due,
        recent_records=recent_records,
        awaiting_verification=awaiting_verification,
        out_of_stock_order_ids=out_of_stock,
        away=absence_text(resident=resident, absence=absence) if absence else "",
    )


def followup_is_due(*, administered_at: dt.datetime, minutes: int, now: dt.datetime) -> bool:
    """A PRN dose's effectiveness follow-up is due ``minutes`` after it was given (the
    resident's pass and the cart's board both ask here)."""
    return now >= administered_at + dt.timedelta(minutes=minutes)


def _followup_due(record: Administration, facility: Facility, now: dt.datetime) -> bool:
    try:
        record.effectiveness  # noqa: B018 - select_related: no query
    except EffectivenessCheck.DoesNotExist:
        return followup_is_due(
            administered_at=record.administered_at,
            minutes=record.order.followup_minutes or facility.prn_followup_minutes,
            now=now,
        )
    return False


def concerns_for_user(*, user: User, now: dt.datetime) -> dict[str, list[ConcernReport]]:
    """Open concern reports of the user's communities, and those closed in the last week."""
    reports = (
        scope(ConcernReport.objects, user=user, path="resident__facility")
        .filter(
            Q(acknowledged_at__isnull=True) | Q(acknowledged_at__gte=now - dt.timedelta(days=7))
        )
        .select_related(
            "resident__room", "reported_by", "acknowledged_by", "administration__order__medication"
        )
        .order_by("-reported_at", "-id")
    )
    grouped: dict[str, list[ConcernReport]] = {"open": [], "closed": []}
    for report in reports:
        grouped["open" if report.acknowledged_at is None else "closed"].append(report)
    return grouped


# --- Exceptions ----------------------------------------------------------------------------
# Three kinds of subject in one list: a scheduled dose never charted (missed) or skipped
# while the resident was away; a record of a dose not given, or given late; a concern
# report. One UNION ALL query pages them; the page's rows are then loaded in bulk. The
# nurse's review page (nurse.selectors) and the API (api.selectors) build on the same
# three parts, so the page and the API always agree on what an exception is.

DOSE, RECORD, CONCERN = "scheduled_dose", "administration", "concern_report"
COLUMNS = ("x_subject", "x_pk", "x_id", "x_kind", "x_resident", "x_at", "x_reviewed")


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def exception_doses(*, facility_ids: list[int], now: dt.datetime) -> QuerySet:
    """Doses never charted: late (window passed, still chartable: the nurse sees it at
    once), missed, or away once their window has passed (``mar.selectors.dose_state``)."""
    return (
        doses_with_state(
            ScheduledDose.objects.filter(resident__facility_id__in=facility_ids), now=now
        )
        .filter(
            Q(state__in=[DoseState.MISSED.value, DoseState.LATE.value])
            | Q(state=DoseState.AWAY.value, window_end__lt=now)
        )
        .annotate(
            x_subject=_text(DOSE),
            x_pk=F("id"),
            x_id=F("public_id"),
            x_kind=Case(
                When(state=DoseState.AWAY.value, then=_text(ExceptionReview.Kind.AWAY)),
                When(state=DoseState.LATE.value, then=_text(ExceptionReview.Kind.LATE)),
                default=_text(ExceptionReview.Kind.MISSED),
            ),
            x_resident=F("resident_id"),
            x_at=F("scheduled_at"),
            x_reviewed=Exists(ExceptionReview.objects.filter(scheduled_dose=OuterRef("pk"))),
        )
    )


def exception_records(*, facility_ids: list[int]) -> QuerySet:
    return (
        Administration.objects.filter(
            resident__facility_id__in=facility_ids, is_entered_in_error=False
        )
        .filter(
            ~Q(status=Administration.Status.GIVEN)
            | Q(is_late=True)
            | Q(override__isnull=False)
            | ~Q(scan_skipped="")
        )
        .annotate(
            x_subject=_text(RECORD),
            x_pk=F("id"),
            x_id=F("public_id"),
            # As mar.services.reviews.exception_kind_for_administration names them.
            x_kind=Case(
                When(
                    status=Administration.Status.GIVEN,
                    override__isnull=False,
                    then=_text(ExceptionReview.Kind.OVERRIDE),
                ),
                When(
                    status=Administration.Status.GIVEN,
                    is_late=True,
                    then=_text(ExceptionReview.Kind.LATE),
                ),
                When(
                    status=Administration.Status.GIVEN, then=_text(ExceptionReview.Kind.UNSCANNED)
                ),
                When(status=Administration.Status.ASLEEP, then=_text(ExceptionReview.Kind.OTHER)),
                default=F("status"),
                output_field=CharField(),
            ),
            x_resident=F("resident_id"),
            x_at=F("administered_at"),
            x_reviewed=Exists(ExceptionReview.objects.filter(administration=OuterRef("pk"))),
        )
    )


def exception_concerns(*, facility_ids: list[int]) -> QuerySet:
    return ConcernReport.objects.filter(resident__facility_id__in=facility_ids).annotate(
        x_subject=_text(CONCERN),
        x_pk=F("id"),
        x_id=F("public_id"),
        x_kind=_text(ExceptionReview.Kind.CONCERN),
        x_resident=F("resident_id"),
        x_at=F("reported_at"),
        x_reviewed=Case(
            When(acknowledged_at__isnull=False, then=Value(True)),
            default=Exists(ExceptionReview.objects.filter(concern=OuterRef("pk"))),
            output_field=BooleanField(),
        ),
    )


@dataclass
class ExceptionRow:
    id: uuid.UUID
    kind: str
    status: str
    subject: str
    occurred_at: dt.datetime
    resident: uuid.UUID
    resident_name: str
    room: str | None
    summary: str
    scheduled_dose: uuid.UUID | None
    administration: uuid.UUID | None
    order: uuid.UUID | None
    concern: uuid.UUID | None
    review: Any
    instance: Any


def _local(at: dt.datetime, resident: Resident) -> str:
    return f"{at.astimezone(resident.facility.zone):%a %b %-d %H:%M}"


def _dose_summary(dose: ScheduledDose, kind: str) -> str:
    order = dose.order
    label = {
        ExceptionReview.Kind.MISSED: "Missed",
        ExceptionReview.Kind.LATE: "Late, not charted yet",
    }.get(kind, "Not given, resident away")
    amount = f"{order.dose_amount.normalize():f} {order.dose_unit}"
    return f"{label}: {order.medication} {amount}, due {_local(dose.scheduled_at, dose.resident)}"


def _record_summary(record: Administration, kind: str) -> str:
    medication = record.order.medication
    at = _local(record.administered_at, record.resident)
    if kind == ExceptionReview.Kind.OVERRIDE:
        override = record.override
        stopped = f" Stopped by: {override.stopped_by}" if override.stopped_by else ""
        return (
            f"Given on a nurse's override: {medication} at {at}, overridden by "
            f"{override.granted_by.signature_name} at "
            f"{_local(override.granted_at, record.resident)}: {override.reason}.{stopped}"
        )
    if kind == ExceptionReview.Kind.UNSCANNED:
        return (
            f"Given without a scan: {medication} at {at} "
            f"({record.get_scan_skipped_display().lower()})"
        )
    if kind == ExceptionReview.Kind.LATE:
        due = f", due {_local(record.scheduled_dose.scheduled_at, record.resident)}"
        return f"Given late: {medication} at {at}{due if record.scheduled_dose else ''}"
    why = record.reason or record.note
    return f"{record.get_status_display()}: {medication} at {at}" + (f" ({why})" if why else "")


def exception_rows(rows: list[dict]) -> list[ExceptionRow]:
    """The page's rows with what they are about: at most four queries for any page."""
    pks: dict[str, list[int]] = {DOSE: [], RECORD: [], CONCERN: []}
    for row in rows:
        pks[row["x_subject"]].append(row["x_pk"])
    related = ("resident__facility", "resident__room")
    loaded: dict[str, dict[int, Any]] = {
        DOSE: ScheduledDose.objects.select_related("order__medication", *related).in_bulk(pks[DOSE])
        if pks[DOSE]
        else {},
        RECORD: Administration.objects.select_related(
            "order__medication", "scheduled_dose", "override__granted_by", *related
        ).in_bulk(pks[RECORD])
        if pks[RECORD]
        else {},
        CONCERN: ConcernReport.objects.select_related("acknowledged_by", *related).in_bulk(
            pks[CONCERN]
        )
        if pks[CONCERN]
        else {},
    }
    reviews: dict[tuple[str, int], Any] = {}
    if rows:
        for review in ExceptionReview.objects.filter(
            Q(scheduled_dose_id__in=pks[DOSE])
            | Q(administration_id__in=pks[RECORD])
            | Q(concern_id__in=pks[CONCERN])
        ).select_related("reviewed_by"):
            if review.scheduled_dose_id:
                reviews[DOSE, review.scheduled_dose_id] = review
            elif review.administration_id:
                reviews[RECORD, review.administration_id] = review
            else:
                reviews[CONCERN, review.concern_id] = review

    result = []
    for row in rows:
        subject, kind = row["x_subject"], row["x_kind"]
        instance = loaded[subject][row["x_pk"]]
        review = reviews.get((subject, instance.pk))
        dose = record = concern = order = None
        if subject == DOSE:
            dose, order = instance.public_id, instance.order.public_id
            summary = _dose_summary(instance, kind)
        elif subject == RECORD:
            record, order = instance.public_id, instance.order.public_id
            dose = instance.scheduled_dose.public_id if instance.scheduled_dose else None
            summary = _record_summary(instance, kind)
        else:
            concern = instance.public_id
            summary = f"{instance.get_kind_display()}: {instance.description[:300]}"
            if review is None and instance.acknowledged_at is not None:
                review = SimpleNamespace(
                    note=instance.acknowledgement_note,
                    reviewed_by=instance.acknowledged_by,
                    reviewed_at=instance.acknowledged_at,
                    physician_notified=False,
                    family_notified=False,
                )
        resident = instance.resident
        result.append(
            ExceptionRow(
                id=instance.public_id,
                kind=kind,
                status="acknowledged" if row["x_reviewed"] else "open",
                subject=subject,
                occurred_at=row["x_at"],
                resident=resident.public_id,
                resident_name=resident.display_name,
                room=resident.room.number if resident.room else None,
                summary=summary,
                scheduled_dose=dose,
                administration=record,
                order=order,
                concern=concern,
                review=review,
                instance=instance,
            )
        )
    return result
