"""Reads of the supervising nurse's screens: orders, the exceptions review, follow-ups,
amendments, the resident's record. The reports are in ``nurse.reports``.

Every read is scoped to the user's communities (``medtech.core.permissions``): another
community's ids answer 404. Lists cost a fixed number of queries whatever their length.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from inventory.models import MedCart
from mar import schedule
from mar import selectors as mar_selectors
from mar.models import (
    Administration,
    Amendment,
    EffectivenessCheck,
    FollowUp,
    Medication,
    Order,
    OrderAcknowledgement,
    ScheduledDose,
)
from mar.selectors import DoseState, dose_state, doses_with_state, resident_was_away
from mar.services import order_checks
from medtech.core import permissions
from medtech.core.scope import facility_ids_of, scope
from residents.models import Allergy, ConcernReport, Facility, Resident, Unit
from staff.models import User

# --- Allergies ----------------------------------------------------------------------------


def allergy_matches(*, resident: Resident, medication: Medication) -> list[Allergy]:
    """The resident's allergies that the medication matches, by the rule of order entry
    (``mar.services.order_checks.allergy_matches``)."""
    return order_checks.allergy_matches(
        allergens=list(resident.allergies.order_by("allergen", "id")), medication=medication
    )


# --- Scope --------------------------------------------------------------------------------


def resident_for_nurse(*, user: User, public_id: uuid.UUID) -> Resident:
    """A resident of the user's communities, for the nurse's screens (404 otherwise)."""
    return get_object_or_404(
        scope(Resident.objects.select_related("facility", "room__unit", "room__cart"), user=user),
        public_id=public_id,
    )


def order_for_nurse(*, user: User, public_id: uuid.UUID) -> Order:
    return get_object_or_404(
        scope(Order.objects, user=user, path="resident__facility").select_related(
            "resident__facility",
            "resident__room",
            "medication",
            "entered_by",
            "verified_by",
            "status_changed_by",
            "replaces__medication",
        ),
        public_id=public_id,
    )


@dataclass
class PreviewDay:
    day: dt.date
    times: list[dt.datetime]


@dataclass
class SchedulePreview:
    description: str
    days: list[PreviewDay]
    window_minutes: int | None
    error: str = ""


def order_schedule_preview(
    *,
    order: Any,
    facility: Facility,
    pass_times: dict[str, dt.time],
    now: dt.datetime,
    days: int = 7,
) -> SchedulePreview:
    """The next ``days`` days of an order's scheduled times, in the facility's time zone.

    ``order`` is Order-like (an unsaved Order from the form); nothing is read from the
    database here. A schedule the engine refuses gives ``error`` instead of days.
    """
    zone: ZoneInfo = facility.zone
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
        if frequency.kind == schedule.FrequencyKind.PRN:
            return SchedulePreview(
                description="As needed (PRN): never scheduled", days=[], window_minutes=None
            )
        minutes = schedule.window_minutes(
            frequency=frequency,
            is_time_critical=bool(order.is_time_critical),
            override_minutes=order.window_minutes,
            facility_windows=schedule.FacilityWindows.from_facility(facility),
        )
        first_day = max(order.starts_at, now).astimezone(zone).date()
        range_start = dt.datetime.combine(first_day, dt.time(), tzinfo=zone)
        range_end = dt.datetime.combine(first_day + dt.timedelta(days=days), dt.time(), tzinfo=zone)
        times = schedule.scheduled_times(
            frequency=frequency,
            starts_at=order.starts_at,
            ends_at=order.ends_at,
            zone=zone,
            range_start=range_start,
            range_end=range_end,
        )
    except (ValueError, TypeError) as error:
        return SchedulePreview(description="", days=[], window_minutes=None, error=str(error))
    by_day: dict[dt.date, list[dt.datetime]] = {
        first_day + dt.timedelta(days=offset): [] for offset in range(days)
    }
    for at in times:
        local = at.astimezone(zone)
        by_day.setdefault(local.date(), []).append(local)
    return SchedulePreview(
        description=schedule.describe(frequency),
        days=[PreviewDay(day=day, times=slots) for day, slots in sorted(by_day.items())],
        window_minutes=minutes,
    )


def orders_awaiting_verification(*, user: User) -> list[Order]:
    """Orders waiting for a nurse: new ones to verify, and open ones an allergy recorded
    after them stopped until a nurse reviews them."""
    return list(
        scope(Order.objects, user=user, path="resident__facility")
        .filter(
            Q(status=Order.Status.PENDING_VERIFICATION)
            | Q(allergy_conflict_at__isnull=False) & ~Q(status=Order.Status.DISCONTINUED)
        )
        .select_related("resident__room", "medication", "entered_by")
        .order_by("entered_at", "id")
    )


def order_acknowledgements(*, order: Order) -> list[OrderAcknowledgement]:
    """The nurses' answers to the order's warnings, oldest first."""
    return list(
        order.acknowledgements.select_related("acknowledged_by").order_by("acknowledged_at", "id")
    )


# --- The overdue board ----------------------------------------------------------------------


@dataclass
class OverdueDose:
    medication: str
    dose: str
    due_at: dt.datetime  # in the community's time
    missed_at: dt.datetime  # when it turns missed, in the community's time
    public_id: uuid.UUID


@dataclass
class OverdueResident:
    resident: Resident
    doses: list[OverdueDose] = field(default_factory=list)


@dataclass
class OverdueCart:
    facility: Facility
    name: str  # the cart's name, or "No cart" for residents whose room has none
    residents: list[OverdueResident] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(row.doses) for row in self.residents)


def overdue_board(*, user: User, now: dt.datetime) -> list[OverdueCart]:
    """What is unrecorded now across every cart of the nurse's communities: the doses whose
    window has passed and that nobody has charted (late: ``mar.selectors.dose_state``),
    by cart and resident, oldest first, times in each community's zone. One query."""
    doses = (
        doses_with_state(
            ScheduledDose.objects.filter(
                resident__facility_id__in=facility_ids_of(user=user),
                status=ScheduledDose.Status.PENDING,
                window_end__lt=now,
            ),
            now=now,
        )
        .filter(state=DoseState.LATE.value)
        .select_related("resident__facility", "resident__room__cart", "order__medication")
        .order_by(
            "resident__facility__name",
            "resident__room__cart__name",
            "resident__room__number",
            "resident__last_name",
            "resident_id",
            "scheduled_at",
            "id",
        )
    )
    carts: dict[tuple[int, int | None], OverdueCart] = {}
    rows: dict[int, OverdueResident] = {}
    for dose in doses:
        resident = dose.resident
        zone = resident.facility.zone
        cart = resident.room.cart if resident.room else None
        key = (resident.facility_id, cart.pk if cart else None)
        if key not in carts:
            carts[key] = OverdueCart(
                facility=resident.facility, name=cart.name if cart else "No cart"
            )
        if resident.pk not in rows:
            rows[resident.pk] = OverdueResident(resident=resident)
            carts[key].residents.append(rows[resident.pk])
        order = dose.order
        rows[resident.pk].doses.append(
            OverdueDose(
                medication=str(order.medication),
                dose=f"{order.dose_amount.normalize():f} {order.dose_unit}",
                due_at=dose.scheduled_at.astimezone(zone),
                missed_at=dose.late_until.astimezone(zone),
                public_id=dose.public_id,
            )
        )
    return list(carts.values())


# --- Exceptions review ----------------------------------------------------------------------

KINDS = [
    ("missed", "Missed"),
    ("late", "Late"),
    ("refused", "Refused"),
    ("held", "Held"),
    ("not_available", "Not available"),
    ("away", "Away"),
    ("other", "Other not given"),
    ("override", "Nurse override"),
    ("unscanned", "Given without a scan"),
    ("concern", "Concern report"),
]
STREAK = 3


@dataclass
class ExceptionFilters:
    """What the nurse narrowed the list to. Ids are public UUIDs (unit: its integer id)."""

    facility: uuid.UUID | None = None
    unit: int | None = None
    cart: uuid.UUID | None = None
    resident: uuid.UUID | None = None
    staff: uuid.UUID | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    kind: str | None = None
    status: str = "open"  # open, acknowledged, all


@dataclass
class ExceptionItem:
    row: Any  # api.selectors.ExceptionRow
    in_refusal_streak: bool = False
    followup: FollowUp | None = None
    staff_name: str = ""
    unit_name: str = ""

    @property
    def key(self) -> str:
        return f"{self.row.subject}:{self.row.id}"

    @property
    def kind_label(self) -> str:
        return dict(KINDS).get(self.row.kind, self.row.kind)

    @property
    def is_still_chartable(self) -> bool:
        """A late dose nobody has charted: chart it (nothing to acknowledge yet)."""
        return self.row.subject == mar_selectors.DOSE and self.row.kind == "late"


@dataclass
class ExceptionsPage:
    items: list[ExceptionItem]
    total: int
    page: int
    pages: int
    filters: ExceptionFilters


def _zone_bounds(filters: ExceptionFilters, zone: ZoneInfo) -> tuple[Any, Any]:
    since = until = None
    if filters.date_from:
        since = dt.datetime.combine(filters.date_from, dt.time(), tzinfo=zone)
    if filters.date_to:
        until = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return since, until


def _exception_parts(*, facility_ids: list[int], now: dt.datetime) -> list[tuple[str, QuerySet]]:
    # The three parts of the API's exceptions list, reused so the page and the API agree.
    # The doses' part is first narrowed to what can be an exception (missed or away, or
    # still pending after its window), which the indexes on status and window answer,
    # instead of computing every dose's state.
    doses = mar_selectors.exception_doses(facility_ids=facility_ids, now=now).filter(
        Q(status__in=[ScheduledDose.Status.MISSED, ScheduledDose.Status.AWAY])
        | Q(status=ScheduledDose.Status.PENDING, window_end__lt=now)
    )
    return [
        (mar_selectors.DOSE, doses),
        (mar_selectors.RECORD, mar_selectors.exception_records(facility_ids=facility_ids)),
        (mar_selectors.CONCERN, mar_selectors.exception_concerns(facility_ids=facility_ids)),
    ]


def exceptions_query(
    *, user: User, now: dt.datetime, filters: ExceptionFilters, zone: ZoneInfo | None = None
) -> QuerySet:
    """One UNION ALL query of the matching exceptions (rows of ``COLUMNS``), newest first.

    The staff filter keeps the records that person charted and the concern reports they
    wrote (a missed dose was charted by nobody, so it leaves the list)."""
    facility_ids = facility_ids_of(user=user)
    since, until = _zone_bounds(filters, zone or ZoneInfo("UTC"))
    parts = []
    for subject, part in _exception_parts(facility_ids=facility_ids, now=now):
        if filters.status in ("open", "acknowledged"):
            part = part.filter(x_reviewed=filters.status == "acknowledged")
        if filters.kind:
            part = part.filter(x_kind=filters.kind)
        if filters.facility:
            part = part.filter(resident__facility__public_id=filters.facility)
        if filters.unit:
            part = part.filter(resident__room__unit_id=filters.unit)
        if filters.cart:
            part = part.filter(resident__room__cart__public_id=filters.cart)
        if filters.resident:
            part = part.filter(resident__public_id=filters.resident)
        if filters.staff:
            if subject == mar_selectors.DOSE:
                part = part.none()
            elif subject == mar_selectors.RECORD:
                part = part.filter(administered_by__public_id=filters.staff)
            else:
                part = part.filter(reported_by__public_id=filters.staff)
        if since:
            part = part.filter(x_at__gte=since)
        if until:
            part = part.filter(x_at__lt=until)
        parts.append(part.values(*mar_selectors.COLUMNS))
    first, *rest = parts
    return first.union(*rest, all=True).order_by("-x_at", "-x_id")


def refusal_streak_ids(*, records: list[Administration]) -> set[int]:
    """The refused records that are part of 3 refusals in a row of the same medication
    for the same resident (scheduled doses, entries in error left out). One query."""
    refused = [r for r in records if r.status == Administration.Status.REFUSED]
    if not refused:
        return set()
    pairs = {(r.resident_id, r.order.medication_id) for r in refused}
    lo = min(r.administered_at for r in refused) - dt.timedelta(days=14)
    hi = max(r.administered_at for r in refused) + dt.timedelta(days=14)
    pair_q = Q()
    for resident_id, medication_id in pairs:
        pair_q |= Q(resident_id=resident_id, order__medication_id=medication_id)
    history = (
        Administration.objects.filter(pair_q)
        .filter(
            is_entered_in_error=False,
            scheduled_dose__isnull=False,
            administered_at__gte=lo,
            administered_at__lte=hi,
        )
        .order_by("resident_id", "order__medication_id", "administered_at", "id")
        .values_list("id", "resident_id", "order__medication_id", "status")
    )
    streaks: set[int] = set()
    run: list[int] = []
    previous = None
    for record_id, resident_id, medication_id, status in history:
        if (resident_id, medication_id) != previous:
            run, previous = [], (resident_id, medication_id)
        if status == Administration.Status.REFUSED:
            run.append(record_id)
            if len(run) >= STREAK:
                streaks.update(run)
        else:
            run = []
    return streaks


def exceptions_page(
    *,
    user: User,
    now: dt.datetime,
    filters: ExceptionFilters,
    page: int = 1,
    per_page: int = 50,
    zone: ZoneInfo | None = None,
) -> ExceptionsPage:
    """One page of the exceptions review: at most eight queries for any page size."""
    query = exceptions_query(user=user, now=now, filters=filters, zone=zone)
    total = query.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(query[(page - 1) * per_page : page * per_page])
    loaded = mar_selectors.exception_rows(rows)
    records = [row.instance for row in loaded if row.subject == mar_selectors.RECORD]
    streaks = refusal_streak_ids(records=records)
    followups = {}
    if records:
        followups = {
            followup.administration_id: followup
            for followup in FollowUp.objects.filter(
                administration_id__in=[r.pk for r in records]
            ).select_related("done_by")
        }
    people = _people_for(loaded)
    unit_ids = {row.instance.resident.room.unit_id for row in loaded if row.instance.resident.room}
    units = dict(Unit.objects.filter(pk__in=unit_ids).values_list("id", "name")) if unit_ids else {}
    items = []
    for row in loaded:
        instance = row.instance
        staff_id = getattr(instance, "administered_by_id", None) or getattr(
            instance, "reported_by_id", None
        )
        room = instance.resident.room
        items.append(
            ExceptionItem(
                row=row,
                in_refusal_streak=instance.pk in streaks
                if row.subject == mar_selectors.RECORD
                else False,
                followup=followups.get(instance.pk)
                if row.subject == mar_selectors.RECORD
                else None,
                staff_name=people.get(staff_id, ""),
                unit_name=units.get(room.unit_id, "") if room is not None else "",
            )
        )
    return ExceptionsPage(items=items, total=total, page=page, pages=pages, filters=filters)


def _people_for(rows: list[Any]) -> dict[int, str]:
    ids = {
        getattr(row.instance, "administered_by_id", None)
        or getattr(row.instance, "reported_by_id", None)
        for row in rows
    } - {None}
    if not ids:
        return {}
    return {
        user.pk: user.signature_name
        for user in User.objects.filter(pk__in=ids).only("id", "first_name", "last_name", "title")
    }


def exceptions_unreviewed_count(*, user: User, now: dt.datetime) -> int:
    if not permissions.can(user, permissions.Area.EXCEPTIONS_READ):
        return 0
    return exceptions_query(user=user, now=now, filters=ExceptionFilters(status="open")).count()


def exception_subjects_for_nurse(
    *, user: User, now: dt.datetime, keys: list[str]
) -> list[ScheduledDose | Administration | ConcernReport]:
    """The subjects behind ``"<subject>:<public id>"`` keys of the list, in the user's
    communities (anything else is silently left out). Three queries at most."""
    wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
    for key in keys:
        subject, _, raw = key.partition(":")
        try:
            wanted[subject].append(uuid.UUID(raw))
        except ValueError:
            continue
    models = {
        mar_selectors.DOSE: ScheduledDose,
        mar_selectors.RECORD: Administration,
        mar_selectors.CONCERN: ConcernReport,
    }
    found: list[Any] = []
    for subject, model in models.items():
        if wanted.get(subject):
            found.extend(
                scope(
                    model.objects.select_related("resident__facility"),
                    user=user,
                    path="resident__facility",
                )
                .filter(public_id__in=wanted[subject])
                .order_by("id")
            )
    return found


@dataclass
class FilterChoices:
    facilities: list[Facility]
    units: list[Unit]
    carts: list[MedCart]
    residents: list[Resident]
    staff: list[User]
    kinds: list[tuple[str, str]] = field(default_factory=lambda: KINDS)


def exception_filter_choices(*, user: User) -> FilterChoices:
    """The options of the filter form: five queries."""
    facility_ids = facility_ids_of(user=user)
    return FilterChoices(
        facilities=list(Facility.objects.filter(pk__in=facility_ids).order_by("name", "id")),
        units=list(
            Unit.objects.filter(facility_id__in=facility_ids)
            .select_related("facility")
            .order_by("facility__name", "name", "id")
        ),
        carts=list(
            MedCart.objects.filter(facility_id__in=facility_ids, is_active=True).order_by(
                "name", "id"
            )
        ),
        residents=list(
            Resident.objects.filter(
                facility_id__in=facility_ids,
                status__in=[Resident.Status.ACTIVE, Resident.Status.AWAY],
            ).order_by("last_name", "first_name", "id")
        ),
        staff=list(
            User.objects.filter(memberships__facility_id__in=facility_ids, is_active=True)
            .distinct()
            .order_by("last_name", "first_name", "id")
        ),
    )


def followups_open(*, user: User, now: dt.datetime, limit: int = 25) -> list[FollowUp]:
    """The first ``limit`` open follow-ups of the user's communities, by deadline (so the
    overdue ones first)."""
    return list(
        scope(FollowUp.objects, user=user, path="resident__facility")
        .filter(done_at__isnull=True, administration__is_entered_in_error=False)
        .select_related("resident__room", "resident__facility", "administration__order__medication")
        .order_by("due_at", "id")[:limit]
    )


def followup_for_nurse(*, user: User, public_id: uuid.UUID) -> FollowUp:
    return get_object_or_404(
        scope(FollowUp.objects.select_related("resident"), user=user, path="resident__facility"),
        public_id=public_id,
    )


# --- Amendments ---------------------------------------------------------------------------


def administration_with_history(*, user: User, public_id: uuid.UUID) -> Administration:
    """A record of the user's communities with everything its history page shows."""
    return get_object_or_404(
        scope(Administration.objects, user=user, path="resident__facility")
        .select_related(
            "resident__facility",
            "resident__room",
            "order__medication",
            "scheduled_dose",
            "administered_by",
            "override__granted_by",
            "witness",
        )
        .prefetch_related(
            Prefetch(
                "amendments",
                queryset=Amendment.objects.select_related("amended_by").order_by(
                    "amended_at", "id"
                ),
            )
        ),
        public_id=public_id,
    )


# --- The resident's record ------------------------------------------------------------------


@dataclass
class GridCell:
    time: str
    code: str  # initials, or the status word
    status: str  # given, refused, ..., missed, pending, away
    record_id: uuid.UUID | None = None
    is_late: bool = False
    is_amended: bool = False
    vitals: str = ""  # the readings taken before the dose (``mar.models.vitals_text``)


@dataclass
class GridRow:
    order: Order
    cells: list[list[GridCell]]  # one list per day


@dataclass
class ResidentRecord:
    resident: Resident
    allergies: list[Allergy]
    diagnoses: list
    active_orders: list[Order]
    past_orders: list[Order]
    days: list[dt.date]
    grid: list[GridRow]
    prn_history: list[Administration]
    concerns: list[ConcernReport]
    followups: list[FollowUp]
    # The community's pass times, so "Every 2 days at AM" reads "Every 2 days at 08:00".
    pass_times: dict[str, dt.time] = field(default_factory=dict)


def resident_record(*, resident: Resident, now: dt.datetime, days: int = 7) -> ResidentRecord:
    """Everything the record page shows, in ten queries whatever the history."""
    zone = resident.facility.zone
    today = now.astimezone(zone).date()
    day_list = [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = dt.datetime.combine(day_list[0], dt.time(), tzinfo=zone)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)

    orders = list(
        Order.objects.filter(resident=resident)
        .select_related("medication", "entered_by", "verified_by", "status_changed_by")
        .order_by("medication__generic_name", "entered_at", "id")
    )
    current = {Order.Status.ACTIVE, Order.Status.ON_HOLD, Order.Status.PENDING_VERIFICATION}
    active_orders = [order for order in orders if order.status in current]
    past_orders = sorted(
        (order for order in orders if order.status not in current),
        key=lambda order: (order.status_changed_at or order.entered_at, order.pk),
        reverse=True,
    )

    amended_ids = set(
        Amendment.objects.filter(
            administration__resident=resident,
            administration__administered_at__gte=since - dt.timedelta(days=1),
        ).values_list("administration_id", flat=True)
    )
    doses = (
        ScheduledDose.objects.filter(
            resident=resident, scheduled_at__gte=since, scheduled_at__lt=until
        )
        .prefetch_related(
            Prefetch(
                "administrations",
                queryset=Administration.objects.filter(is_entered_in_error=False)
                .select_related("administered_by")
                .order_by("id"),
                to_attr="active_records",
            )
        )
        .annotate(is_away=resident_was_away())
        .order_by("scheduled_at", "id")
    )
    late_limit = dt.timedelta(minutes=resident.facility.late_limit_minutes)
    orders_by_id = {order.pk: order for order in orders}
    cells: dict[int, dict[dt.date, list[GridCell]]] = defaultdict(lambda: defaultdict(list))
    for dose in doses:
        local = dose.scheduled_at.astimezone(zone)
        record = dose.active_records[0] if dose.active_records else None
        if record is not None:
            status = record.status
            code = (
                record.administered_by.initials
                if status == "given"
                else record.get_status_display()
            )
        else:
            status = dose_state(
                status=dose.status,
                window_start=dose.window_start,
                window_end=dose.window_end,
                late_limit=late_limit,
                now=now,
                is_away=dose.is_away,
            ).value
            code = {
                "missed": "Missed",
                "away": "Away",
                "late": "Late, open",
                "due": "Due",
                "cancelled": "Cancelled",
            }.get(status, "—")
        cells[dose.order_id][local.date()].append(
            GridCell(
                time=f"{local:%H:%M}",
                code=code,
                status=status,
                record_id=record.public_id if record else None,
                is_late=bool(record and record.is_late),
                is_amended=bool(record and record.pk in amended_ids),
                vitals=record.vitals_text if record else "",
            )
        )
    grid = [
        GridRow(order=orders_by_id[order_id], cells=[by_day.get(day, []) for day in day_list])
        for order_id, by_day in cells.items()
    ]
    grid.sort(key=lambda row: (row.order.medication.generic_name, row.order.pk))

    prn_history = list(
        Administration.objects.filter(
            resident=resident,
            scheduled_dose__isnull=True,
            administered_at__gte=now - dt.timedelta(days=30),
        )
        .select_related("order__medication", "administered_by", "effectiveness__recorded_by")
        .order_by("-administered_at", "-id")
    )
    concerns = list(
        ConcernReport.objects.filter(resident=resident)
        .select_related("reported_by", "acknowledged_by")
        .order_by("-reported_at", "-id")[:50]
    )
    followups = list(
        FollowUp.objects.filter(resident=resident, done_at__isnull=True)
        .filter(administration__is_entered_in_error=False)
        .select_related("administration__order__medication")
        .order_by("due_at", "id")
    )
    return ResidentRecord(
        resident=resident,
        allergies=list(resident.allergies.order_by("allergen", "id")),
        diagnoses=list(resident.diagnoses.order_by("description", "id")),
        active_orders=active_orders,
        past_orders=past_orders,
        days=day_list,
        grid=grid,
        prn_history=prn_history,
        concerns=concerns,
        followups=followups,
        pass_times=mar_selectors.facility_pass_times(facility=resident.facility),
    )


def prn_effectiveness_counts(records: list[Administration]) -> dict[str, int]:
    counts = {"effective": 0, "not_effective": 0, "owed": 0}
    for record in records:
        try:
            counts[record.effectiveness.result] += 1
        except EffectivenessCheck.DoesNotExist:
            counts["owed"] += 1
    return counts
