"""Reads for the printed record: the monthly MAR, the downtime sheet, the count sheet.

Each builder returns frozen dataclasses of strings, numbers, dates and tuples: the
same record gives an equal value, so it renders the same PDF and hashes to the same
fingerprint (``printing.render.fingerprint``). Nothing here reads the clock: ``now``
comes from the caller. Times are converted to the facility's zone here, once.

The monthly MAR is built for many residents at once in a fixed number of queries
(``monthly_mars``), so the pre-render job and the whole-community print can check
120 residents for changes in a dozen queries per batch.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import (
    Exists,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

from inventory.models import (
    CartAssignment,
    ControlledCount,
    ControlledCountLine,
    MedCart,
    StockItem,
    StockTransaction,
)
from inventory.selectors import active_carts
from mar import schedule, wording
from mar.models import (
    Administration,
    Amendment,
    ExceptionReview,
    Medication,
    Order,
    PrintJob,
    ScheduledDose,
    Vital,
)
from mar.selectors import (
    DoseState,
    amendments_in_effect,
    doses_with_state,
    facility_pass_times,
)
from medtech.core import permissions
from medtech.core.scope import is_member
from residents.models import Allergy, Diagnosis, Facility, Resident, ResidentAbsence
from staff.models import User

# --- Codes, as the paper MAR prints them ---------------------------------------------------

# Not-given codes: one letter, circled in the grid.
NOT_GIVEN_CODES: dict[str, str] = {
    Administration.Status.REFUSED: "R",
    Administration.Status.HELD: "H",
    Administration.Status.NOT_AVAILABLE: "N",
    Administration.Status.AWAY: "A",
    Administration.Status.ASLEEP: "S",
    Administration.Status.OTHER: "O",
}
MISSED_CODE = "M"
LATE_MARK = "*"
AMENDED_MARK = "\u2020"  # dagger: see the amendments on the notes page


class CellState:
    GIVEN = "given"
    NOT_GIVEN = "not-given"
    MISSED = "missed"
    OPEN = "open"  # due: nothing recorded (yet)
    UNSCHEDULED = "unscheduled"  # the order gives no dose at this time that day
    INACTIVE = "inactive"  # before the order started, after it stopped, or while on hold
    PRN = "prn"  # PRN row: how many doses were given that day


@dataclass(frozen=True, slots=True)
class Cell:
    state: str
    text: str = ""
    mark: str = ""


OPEN_CELL = Cell(CellState.OPEN)
UNSCHEDULED_CELL = Cell(CellState.UNSCHEDULED)
INACTIVE_CELL = Cell(CellState.INACTIVE)


# --- Months --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Month:
    first_day: dt.date

    def __post_init__(self) -> None:
        if self.first_day.day != 1:
            raise ValueError(f"A month starts on its first day, not {self.first_day}.")

    @classmethod
    def parse(cls, value: str) -> Month:
        """ "2026-11" -> November 2026; anything else raises ValueError."""
        try:
            year, month = (int(part) for part in value.split("-"))
            return cls(dt.date(year, month, 1))
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a month like 2026-11.") from None

    @classmethod
    def containing(cls, instant: dt.datetime, zone: ZoneInfo) -> Month:
        return cls(instant.astimezone(zone).date().replace(day=1))

    @property
    def key(self) -> str:
        return f"{self.first_day:%Y-%m}"

    @property
    def label(self) -> str:
        return f"{self.first_day:%B %Y}"

    @property
    def length(self) -> int:
        return calendar.monthrange(self.first_day.year, self.first_day.month)[1]

    @property
    def last_day(self) -> dt.date:
        return self.first_day.replace(day=self.length)

    def dates(self) -> list[dt.date]:
        return [self.first_day.replace(day=day) for day in range(1, self.length + 1)]

    def next(self) -> Month:
        return Month(self.last_day + dt.timedelta(days=1))

    def previous(self) -> Month:
        return Month((self.first_day - dt.timedelta(days=1)).replace(day=1))

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """Local midnight of the first day to local midnight after the last, in UTC."""
        return _local_midnight(self.first_day, zone), _local_midnight(self.next().first_day, zone)


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return schedule.local_to_utc(day=day, clock=dt.time(0), zone=zone)


# --- The monthly MAR -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayColumn:
    number: int
    weekday: str  # "M", "T", "W", ...


@dataclass(frozen=True, slots=True)
class GridRow:
    label: str  # "08:00", or "PRN"
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class OrderBlock:
    medication: str
    dose: str
    route: str
    frequency: str
    instructions: str
    indication: str
    prescriber: str
    rx_number: str
    starts_at: dt.datetime
    stops_at: dt.datetime | None
    status_note: str
    flags: tuple[str, ...]
    conditions: tuple[str, ...]  # hold parameters and vitals to take first
    is_prn: bool
    rows: tuple[GridRow, ...]


@dataclass(frozen=True, slots=True)
class ResidentHeader:
    community: str
    community_license: str
    name: str
    preferred_name: str
    date_of_birth: dt.date
    age: int
    room: str
    admitted_on: dt.date
    physician: str
    physician_phone: str
    pharmacy: str
    pharmacy_phone: str
    allergies: tuple[str, ...]
    has_no_known_allergies: bool
    diagnoses: tuple[str, ...]
    code_status: str
    status_note: str
    photo: str  # storage name of the photo, or ""


@dataclass(frozen=True, slots=True)
class PrnRecord:
    at: dt.datetime
    medication: str
    dose: str
    outcome: str  # "Given", or the not-given reason
    reason: str
    result: str
    result_at: dt.datetime | None
    result_by: str
    initials: str
    witness: str
    mark: str


@dataclass(frozen=True, slots=True)
class NotGivenNote:
    due_at: dt.datetime
    medication: str
    code: str
    label: str
    reason: str
    note: str
    initials: str
    follow_up: str


@dataclass(frozen=True, slots=True)
class VitalsNote:
    """The vitals taken before a dose, as the notes page prints them."""

    at: dt.datetime
    medication: str
    outcome: str  # "Given", or the not-given reason
    vitals: str
    initials: str


@dataclass(frozen=True, slots=True)
class MissedNote:
    due_at: dt.datetime
    medication: str
    follow_up: str


@dataclass(frozen=True, slots=True)
class AbsenceNote:
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    note: str
    doses_away: int


@dataclass(frozen=True, slots=True)
class AmendmentNote:
    dose_at: dt.datetime
    medication: str
    field: str
    old_value: str
    new_value: str
    amended_at: dt.datetime
    amended_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class OverrideNote:
    """A dose charted past a rule on a nurse's override: who, when, why."""

    dose_at: dt.datetime
    medication: str
    given_at: dt.datetime
    initials: str
    granted_by: str
    granted_at: dt.datetime
    reason: str
    stopped_by: str


@dataclass(frozen=True, slots=True)
class Signer:
    initials: str
    name: str
    title: str
    role: str
    meanings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MonthlyMar:
    """Everything one resident's monthly MAR prints. Equal values print equal pages."""

    resident_id: int
    time_zone: str
    month: Month
    header: ResidentHeader
    days: tuple[DayColumn, ...]
    orders: tuple[OrderBlock, ...]
    prn_records: tuple[PrnRecord, ...]
    not_given: tuple[NotGivenNote, ...]
    vitals: tuple[VitalsNote, ...]
    missed: tuple[MissedNote, ...]
    absences: tuple[AbsenceNote, ...]
    amendments: tuple[AmendmentNote, ...]
    overrides: tuple[OverrideNote, ...]
    signers: tuple[Signer, ...]


SIGNER_MEANINGS = {
    "charted": "Initials in the grid: gave the dose, or charted why it was not given",
    "prn": "Gave or charted PRN doses (PRN record)",
    "witness": "Witnessed a dose",
    "follow_up": "Recorded a PRN result",
    "amended": "Amended an entry (notes page)",
    "reviewed": "Reviewed an exception as nurse (notes page)",
}


def residents_for_month(*, facility: Facility, month: Month) -> QuerySet[Resident]:
    """The residents whose MAR a month has: in the building some time that month."""
    return (
        Resident.objects.filter(facility=facility, admitted_on__lte=month.last_day)
        .filter(Q(discharged_on__isnull=True) | Q(discharged_on__gte=month.first_day))
        .select_related("facility", "room__unit")
        .order_by("room__number", "last_name", "first_name", "id")
    )


def monthly_mars(
    *, residents: Sequence[Resident], month: Month, now: dt.datetime
) -> list[MonthlyMar]:
    """The monthly MAR of each resident (all of one facility), in the order given.

    A fixed number of queries whatever the number of residents, orders or doses. A
    dose still pending after its late limit at ``now`` prints as missed.
    """
    if not residents:
        return []
    facility = residents[0].facility
    if any(resident.facility_id != facility.pk for resident in residents):
        raise ValueError("monthly_mars builds one facility's residents at a time.")
    zone = facility.zone
    start, end = month.bounds(zone)
    ids = [resident.pk for resident in residents]
    pass_times = facility_pass_times(facility=facility)

    allergies: dict[int, list[str]] = defaultdict(list)
    for resident_id, allergen, reaction, severity in (
        Allergy.objects.filter(resident_id__in=ids)
        .order_by("allergen", "id")
        .values_list("resident_id", "allergen", "reaction", "severity")
    ):
        details = ", ".join(part for part in (reaction, severity) if part and part != "unknown")
        allergies[resident_id].append(f"{allergen} ({details})" if details else allergen)
    diagnoses: dict[int, list[str]] = defaultdict(list)
    for resident_id, code, description in (
        Diagnosis.objects.filter(resident_id__in=ids)
        .order_by("icd10_code", "description", "id")
        .values_list("resident_id", "icd10_code", "description")
    ):
        diagnoses[resident_id].append(f"{code} {description}".strip())

    orders_by_resident: dict[int, list[Order]] = defaultdict(list)
    for order in _orders_in_range(resident_ids=ids, start=start, end=end):
        orders_by_resident[order.resident_id].append(order)

    # The grid: every scheduled dose of the month with its active record and its state at
    # ``now`` (``mar.selectors.doses_with_state``), as plain rows (tens of thousands for a
    # community, so no model instances).
    doses = [
        DoseRow(*row)
        for row in doses_with_state(
            ScheduledDose.objects.filter(
                resident_id__in=ids, scheduled_at__gte=start, scheduled_at__lt=end
            ),
            now=now,
        )
        .annotate(
            active=FilteredRelation(
                "administrations", condition=Q(administrations__is_entered_in_error=False)
            ),
        )
        .order_by("scheduled_at", "id")
        .values_list(*DOSE_ROW_COLUMNS)
    ]
    # Every record that prints more than initials: PRN doses, doses not given, records
    # amended or entered in error, witnessed doses, doses given on a nurse's override,
    # doses with vitals taken before them.
    in_month = Q(scheduled_dose__scheduled_at__gte=start, scheduled_dose__scheduled_at__lt=end) | Q(
        scheduled_dose__isnull=True, administered_at__gte=start, administered_at__lt=end
    )
    records = list(
        Administration.objects.filter(in_month, resident_id__in=ids)
        .filter(
            Q(scheduled_dose__isnull=True)
            | ~Q(status=Administration.Status.GIVEN)
            | Q(is_entered_in_error=True)
            | Q(witness__isnull=False)
            | Q(override__isnull=False)
            | ~Q(vitals={})
            | Exists(Amendment.objects.filter(administration=OuterRef("pk")))
        )
        .select_related(
            "administered_by",
            "witness",
            "override__granted_by",
            "effectiveness__recorded_by",
            "scheduled_dose",
            "order__medication",
        )
        .order_by("administered_at", "id")
    )
    amendments = list(
        Amendment.objects.filter(administration__in=[record.pk for record in records])
        .select_related("amended_by")
        .order_by("amended_at", "id")
    )
    not_given_ids = [
        record.pk
        for record in records
        if record.status != Administration.Status.GIVEN and not record.is_entered_in_error
    ]
    missed_ids = [dose.id for dose in doses if dose.is_missed and dose.record_id is None]
    reviews = {
        (review.scheduled_dose_id or 0, review.administration_id or 0): review
        for review in ExceptionReview.objects.filter(
            Q(scheduled_dose_id__in=missed_ids) | Q(administration_id__in=not_given_ids)
        )
        .select_related("reviewed_by")
        .order_by("id")
    }
    absences: dict[int, list[ResidentAbsence]] = defaultdict(list)
    for absence in (
        ResidentAbsence.objects.filter(resident_id__in=ids, started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .order_by("started_at", "id")
    ):
        absences[absence.resident_id].append(absence)
    charting_users = {
        user.pk: user
        for user in User.objects.filter(
            pk__in={dose.record_by_id for dose in doses if dose.record_by_id}
        ).order_by("id")
    }

    doses_by_resident: dict[int, list[DoseRow]] = defaultdict(list)
    for dose in doses:
        doses_by_resident[dose.resident_id].append(dose)
    records_by_resident: dict[int, list[Administration]] = defaultdict(list)
    for record in records:
        records_by_resident[record.resident_id].append(record)
    amendments_by_record: dict[int, list[Amendment]] = defaultdict(list)
    for amendment in amendments:
        amendments_by_record[amendment.administration_id].append(amendment)

    context = _MonthContext(
        facility=facility,
        zone=zone,
        month=month,
        start=start,
        end=end,
        now=now,
        pass_times=pass_times,
        days=tuple(
            DayColumn(number=day.day, weekday="MTWTFSS"[day.weekday()]) for day in month.dates()
        ),
    )
    return [
        _monthly_mar(
            context,
            resident=resident,
            allergies=allergies[resident.pk],
            diagnoses=diagnoses[resident.pk],
            orders=orders_by_resident[resident.pk],
            doses=doses_by_resident[resident.pk],
            records=records_by_resident[resident.pk],
            amendments=amendments_by_record,
            reviews=reviews,
            absences=absences[resident.pk],
            charting_users=charting_users,
        )
        for resident in residents
    ]


class DoseRow(NamedTuple):
    """A scheduled dose of the month and its active record, if any (one grid cell)."""

    id: int
    order_id: int
    resident_id: int
    scheduled_at: dt.datetime
    state: str  # mar.selectors.DoseState at ``now``
    record_id: int | None
    record_status: str | None
    record_is_late: bool | None
    record_initials: str | None
    record_by_id: int | None

    @property
    def is_missed(self) -> bool:
        return self.state == DoseState.MISSED


# The query's names for DoseRow's fields, in order.
DOSE_ROW_COLUMNS = (
    "id",
    "order_id",
    "resident_id",
    "scheduled_at",
    "state",
    "active__id",
    "active__status",
    "active__is_late",
    "active__administered_by__initials",
    "active__administered_by_id",
)


@dataclass(frozen=True)
class _MonthContext:
    facility: Facility
    zone: ZoneInfo
    month: Month
    start: dt.datetime
    end: dt.datetime
    now: dt.datetime
    pass_times: dict[str, dt.time]
    days: tuple[DayColumn, ...]

    def instant(self, day: dt.date, clock: dt.time) -> dt.datetime:
        """A wall-clock time on a day of this month, in UTC (``schedule.local_to_utc``,
        which remembers: every order of every resident asks for the same few)."""
        return schedule.local_to_utc(day=day, clock=clock, zone=self.zone)


def _orders_in_range(
    *, resident_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> QuerySet[Order]:
    """Orders that were in force some time in [start, end): verified (or active without a
    second check), started before the end, not stopped before the start."""
    ever_scheduled = ScheduledDose.objects.filter(order=OuterRef("pk"))
    return (
        Order.objects.filter(resident_id__in=list(resident_ids), starts_at__lt=end)
        .exclude(status=Order.Status.PENDING_VERIFICATION)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
        .exclude(status=Order.Status.DISCONTINUED, status_changed_at__lte=start)
        .exclude(
            Q(status=Order.Status.DISCONTINUED, verified_at__isnull=True)
            & ~Exists(ever_scheduled)
            & ~Q(frequency=Order.Frequency.PRN)
        )
        .select_related("medication")
        .order_by("resident_id", "starts_at", "id")
    )


def medication_label(medication: Medication, *, route: str | None = None) -> str:
    """ "Lisinopril 10 mg tablet (Zestril)", as the pharmacy label reads; the form as the
    route gives it ("DuoNeb ... inhalation solution", not "oral solution")."""
    brand = f" ({medication.brand_name})" if medication.brand_name else ""
    name = medication.generic_name[:1].upper() + medication.generic_name[1:]
    form = wording.form_words(medication, route=route)
    return f"{name} {medication.strength} {form}{brand}"


def dose_label(amount: Decimal, unit: str) -> str:
    return wording.dose_words(amount, unit)


def _order_flags(order: Order) -> tuple[str, ...]:
    flags = []
    if order.medication.dea_schedule:
        flags.append(f"Controlled C-{order.medication.dea_schedule}")
    if order.medication.is_high_alert:
        flags.append("High alert")
    if order.is_time_critical:
        flags.append("Time-critical")
    return tuple(flags)


def _order_conditions(order: Order) -> tuple[str, ...]:
    conditions = []
    for rule in order.hold_parameters or []:
        name = str(rule.get("vital", "")).replace("_", " ")
        conditions.append(f"Hold if {name} {rule.get('comparator', '')} {rule.get('limit', '')}")
    if order.vitals_needed:
        labels = ", ".join(Vital(name).label for name in order.vitals_needed)
        conditions.append(f"Before giving: {labels}")
    if order.is_prn:
        conditions.append(
            f"At least {_minutes_label(order.prn_min_interval_minutes or 0)} apart, "
            f"at most {order.prn_max_per_24h} in 24 h"
        )
    return tuple(conditions)


def _minutes_label(minutes: int) -> str:
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} min"


def _active_span(order: Order) -> tuple[dt.datetime, dt.datetime | None, dt.datetime | None]:
    """(from, until, held_since): when the order was in force, as far as the record says."""
    until = order.ends_at
    if order.status == Order.Status.DISCONTINUED and order.status_changed_at:
        until = min(until, order.status_changed_at) if until else order.status_changed_at
    held_since = order.status_changed_at if order.status == Order.Status.ON_HOLD else None
    return order.starts_at, until, held_since


def _status_note(order: Order, zone: ZoneInfo) -> str:
    if order.status == Order.Status.DISCONTINUED and order.status_changed_at:
        at = order.status_changed_at.astimezone(zone)
        return f"Discontinued {at:%b %-d %H:%M}: {order.status_reason}"
    if order.status == Order.Status.ON_HOLD and order.status_changed_at:
        at = order.status_changed_at.astimezone(zone)
        return f"On hold since {at:%b %-d %H:%M}: {order.status_reason}"
    return ""


def _initials(user: User | None) -> str:
    return user.initials if user else ""


def _monthly_mar(
    context: _MonthContext,
    *,
    resident: Resident,
    allergies: list[str],
    diagnoses: list[str],
    orders: list[Order],
    doses: list[DoseRow],
    records: list[Administration],
    amendments: dict[int, list[Amendment]],
    reviews: dict[tuple[int, int], ExceptionReview],
    absences: list[ResidentAbsence],
    charting_users: dict[int, User],
) -> MonthlyMar:
    zone = context.zone
    active_records = [record for record in records if not record.is_entered_in_error]
    doses_by_order: dict[int, list[DoseRow]] = defaultdict(list)
    for dose in doses:
        doses_by_order[dose.order_id].append(dose)
    # A record prints as last amended; the notes page lists what changed.
    current = {record.pk: _as_amended(record, amendments.get(record.pk, [])) for record in records}
    status_overrides = {
        record.pk: current[record.pk].status
        for record in active_records
        if current[record.pk].status != record.status
    }
    # Doses with a record marked entered in error: their cell carries the amended mark.
    voided_doses = {
        record.scheduled_dose_id
        for record in records
        if record.is_entered_in_error and record.scheduled_dose_id
    }
    prn_given_by_order_day: dict[tuple[int, dt.date], int] = defaultdict(int)
    for record in active_records:
        values = current[record.pk]
        if record.scheduled_dose_id is None and values.status == Administration.Status.GIVEN:
            day = values.administered_at.astimezone(zone).date()
            prn_given_by_order_day[(record.order_id, day)] += 1

    blocks = []
    for order in orders:
        if order.is_prn:
            rows = (_prn_row(context, order=order, given=prn_given_by_order_day),)
        else:
            rows = _scheduled_rows(
                context,
                order=order,
                doses=doses_by_order[order.pk],
                amended=amendments.keys(),
                status_overrides=status_overrides,
                voided=voided_doses,
            )
        _, stops_at, _ = _active_span(order)
        blocks.append(
            OrderBlock(
                medication=medication_label(order.medication, route=order.route),
                dose=dose_label(order.dose_amount, order.dose_unit),
                route=wording.route_label(order.route),
                frequency=_frequency_label(order, context.pass_times),
                instructions=order.instructions,
                indication=order.indication,
                prescriber=order.prescriber,
                rx_number=order.rx_number,
                starts_at=order.starts_at.astimezone(zone),
                stops_at=stops_at.astimezone(zone) if stops_at else None,
                status_note=_status_note(order, zone),
                flags=_order_flags(order),
                conditions=_order_conditions(order),
                is_prn=order.is_prn,
                rows=rows,
            )
        )
    blocks.sort(key=lambda block: (block.is_prn, block.rows[0].label, block.medication.lower()))

    prn_records = []
    not_given = []
    for record in active_records:
        values = current[record.pk]
        amended_mark = AMENDED_MARK if record.pk in amendments else ""
        if record.scheduled_dose_id is None:
            prn_records.append(_prn_record(record, values, zone=zone, mark=amended_mark))
        elif values.status != Administration.Status.GIVEN:
            review = reviews.get((0, record.pk))
            not_given.append(
                NotGivenNote(
                    due_at=record.scheduled_dose.scheduled_at.astimezone(zone),
                    medication=medication_label(record.order.medication, route=record.order.route),
                    code=NOT_GIVEN_CODES[values.status],
                    label=Administration.Status(values.status).label,
                    reason=values.reason,
                    note=values.note,
                    initials=record.administered_by.initials,
                    follow_up=_review_text(review),
                )
            )
    not_given.sort(key=lambda note: (note.due_at, note.medication))
    vitals = sorted(
        (
            VitalsNote(
                at=current[record.pk].administered_at.astimezone(zone),
                medication=medication_label(record.order.medication, route=record.order.route),
                outcome=Administration.Status(current[record.pk].status).label,
                vitals=record.vitals_text,
                initials=record.administered_by.initials,
            )
            for record in active_records
            if record.vitals
        ),
        key=lambda note: (note.at, note.medication),
    )
    medication_by_order = {order.pk: medication_label(order.medication) for order in orders}
    missed = [
        MissedNote(
            due_at=dose.scheduled_at.astimezone(zone),
            medication=medication_by_order.get(dose.order_id, ""),
            follow_up=_review_text(reviews.get((dose.id, 0))),
        )
        for dose in doses
        if dose.is_missed and dose.record_id is None
    ]
    away_times = [
        dose.scheduled_at
        for dose in doses
        if dose.state == DoseState.AWAY and dose.record_id is None
    ]
    absence_notes = tuple(
        AbsenceNote(
            kind=absence.get_kind_display(),
            started_at=absence.started_at.astimezone(zone),
            ended_at=absence.ended_at.astimezone(zone) if absence.ended_at else None,
            note=absence.note,
            doses_away=sum(
                1
                for at in away_times
                if absence.started_at <= at and (absence.ended_at is None or at < absence.ended_at)
            ),
        )
        for absence in absences
    )
    amendment_notes = []
    for record in records:
        for amendment in amendments.get(record.pk, []):
            amendment_notes.append(
                AmendmentNote(
                    dose_at=_dose_time(record, zone),
                    medication=medication_label(record.order.medication, route=record.order.route),
                    field=amendment.get_field_display(),
                    old_value=_amendment_text(amendment.field, amendment.old_value, zone),
                    new_value=_amendment_text(amendment.field, amendment.new_value, zone),
                    amended_at=amendment.amended_at.astimezone(zone),
                    amended_by=amendment.amended_by.signature_name,
                    reason=amendment.reason,
                )
            )
    amendment_notes.sort(key=lambda note: (note.amended_at, note.dose_at))
    override_notes = tuple(
        OverrideNote(
            dose_at=_dose_time(record, zone),
            medication=medication_label(record.order.medication, route=record.order.route),
            given_at=current[record.pk].administered_at.astimezone(zone),
            initials=record.administered_by.initials,
            granted_by=record.override.granted_by.signature_name,
            granted_at=record.override.granted_at.astimezone(zone),
            reason=record.override.reason,
            stopped_by=record.override.stopped_by,
        )
        for record in active_records
        if record.override_id
    )

    return MonthlyMar(
        resident_id=resident.pk,
        time_zone=context.facility.time_zone,
        month=context.month,
        header=_resident_header(
            resident, month=context.month, allergies=allergies, diagnoses=diagnoses
        ),
        days=context.days,
        orders=tuple(blocks),
        prn_records=tuple(prn_records),
        not_given=tuple(not_given),
        vitals=tuple(vitals),
        missed=tuple(missed),
        absences=absence_notes,
        amendments=tuple(amendment_notes),
        overrides=override_notes,
        signers=_signers(
            doses=doses,
            charting_users=charting_users,
            records=records,
            amendments=amendments,
            reviews=[
                review
                for review in reviews.values()
                if review.administration_id in {record.pk for record in records}
                or review.scheduled_dose_id in {dose.id for dose in doses}
            ],
        ),
    )


def _dose_time(record: Administration, zone: ZoneInfo) -> dt.datetime:
    """The time a record's notes name it by: its scheduled time, or a PRN dose's own."""
    at = record.scheduled_dose.scheduled_at if record.scheduled_dose_id else record.administered_at
    return at.astimezone(zone)


def _frequency_label(order: Order, pass_times: dict[str, dt.time]) -> str:
    return wording.frequency_words(order, pass_times=pass_times)


def _resident_header(
    resident: Resident, *, month: Month, allergies: list[str], diagnoses: list[str]
) -> ResidentHeader:
    born = resident.date_of_birth
    on = month.last_day
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    room = ""
    if resident.room:
        room = resident.room.number
        if resident.room.unit_id:
            room = f"{room} ({resident.room.unit.name})"
    status_note = ""
    if resident.status == Resident.Status.AWAY:
        status_note = f"Away: {resident.get_away_kind_display()}"
    elif resident.status != Resident.Status.ACTIVE:
        status_note = resident.get_status_display()
        if resident.discharged_on:
            status_note += f" {resident.discharged_on:%b %-d, %Y}"
    return ResidentHeader(
        community=resident.facility.name,
        community_license=resident.facility.license_number,
        name=f"{resident.last_name}, {resident.first_name}",
        preferred_name=resident.preferred_name,
        date_of_birth=born,
        age=age,
        room=room,
        admitted_on=resident.admitted_on,
        physician=resident.physician,
        physician_phone=resident.physician_phone,
        pharmacy=resident.pharmacy,
        pharmacy_phone=resident.pharmacy_phone,
        allergies=tuple(allergies),
        has_no_known_allergies=resident.has_no_known_allergies and not allergies,
        diagnoses=tuple(diagnoses),
        code_status=resident.get_code_status_display(),
        status_note=status_note,
        photo=resident.photo.name or "",
    )


def _scheduled_rows(
    context: _MonthContext,
    *,
    order: Order,
    doses: list[DoseRow],
    amended: Iterable[int],
    status_overrides: dict[int, str],
    voided: set[int],
) -> tuple[GridRow, ...]:
    """A row per time of day, a cell per day of the month."""
    zone = context.zone
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=context.pass_times)
    except ValueError:
        frequency = None
    pattern: dict[tuple[dt.date, dt.time], dt.datetime] = {}
    if frequency is not None:
        # The order's own pattern over the month, ignoring when it stopped: stopped
        # days print as not active, days the pattern skips as not scheduled.
        instants = schedule.scheduled_times(
            frequency=frequency,
            starts_at=order.starts_at,
            ends_at=None,
            zone=zone,
            range_start=context.start,
            range_end=context.end,
        )
        if frequency.kind in schedule.WALL_CLOCK_KINDS:
            # Keyed by the order's own clock time, so a dose moved by a DST gap (02:30 ->
            # 03:00) stays on its row.
            wanted = set(instants)
            for day in context.month.dates():
                for clock in frequency.times:
                    instant = context.instant(day, clock)
                    if instant in wanted:
                        pattern[(day, clock)] = instant
        else:
            for instant in instants:
                local = instant.astimezone(zone)
                pattern[(local.date(), local.time().replace(second=0, microsecond=0))] = instant
    key_by_instant = {instant: key for key, instant in pattern.items()}

    amended = set(amended)
    recorded: dict[tuple[dt.date, dt.time], Cell] = {}
    for dose in doses:
        key = key_by_instant.get(dose.scheduled_at)
        if key is None:
            local = dose.scheduled_at.astimezone(zone)
            key = (local.date(), local.time().replace(second=0, microsecond=0))
        recorded[key] = _dose_cell(
            dose, amended=amended, status_overrides=status_overrides, voided=voided
        )

    clocks = {clock for _, clock in pattern} | {clock for _, clock in recorded}
    if frequency is not None and frequency.kind in schedule.WALL_CLOCK_KINDS:
        clocks |= set(frequency.times)
    active_from, active_until, held_since = _active_span(order)

    def is_active(instant: dt.datetime) -> bool:
        if instant < active_from or (active_until is not None and instant >= active_until):
            return False
        return held_since is None or instant < held_since

    rows = []
    for clock in sorted(clocks) or [dt.time(0)]:
        cells = []
        for day in context.month.dates():
            key = (day, clock)
            if key in recorded:
                cells.append(recorded[key])
                continue
            instant = pattern.get(key) or context.instant(day, clock)
            if not is_active(instant):
                cells.append(INACTIVE_CELL)
            elif key in pattern:
                cells.append(OPEN_CELL)
            else:
                cells.append(UNSCHEDULED_CELL)
        rows.append(GridRow(label=_clock_label(clock), cells=tuple(cells)))
    return tuple(rows)


def _clock_label(clock: dt.time) -> str:
    return clock.strftime("%H:%M")


def _dose_cell(
    dose: DoseRow, *, amended: set[int], status_overrides: dict[int, str], voided: set[int]
) -> Cell:
    corrected = dose.record_id in amended or dose.id in voided
    if dose.record_id is not None:
        mark = (LATE_MARK if dose.record_is_late else "") + (AMENDED_MARK if corrected else "")
        status = status_overrides.get(dose.record_id, dose.record_status)
        if status == Administration.Status.GIVEN:
            return Cell(CellState.GIVEN, dose.record_initials or "", mark)
        return Cell(CellState.NOT_GIVEN, NOT_GIVEN_CODES[status], mark)
    mark = AMENDED_MARK if corrected else ""
    if dose.state == DoseState.AWAY:
        return Cell(CellState.NOT_GIVEN, NOT_GIVEN_CODES[Administration.Status.AWAY], mark)
    if dose.state == DoseState.CANCELLED:
        return Cell(CellState.INACTIVE, "", mark)
    if dose.is_missed:
        return Cell(CellState.MISSED, MISSED_CODE, mark)
    if mark:
        return Cell(CellState.OPEN, "", mark)
    return OPEN_CELL


def _prn_row(
    context: _MonthContext, *, order: Order, given: dict[tuple[int, dt.date], int]
) -> GridRow:
    active_from, active_until, held_since = _active_span(order)
    stop = min(filter(None, [active_until, held_since]), default=None)
    cells = []
    for day in context.month.dates():
        day_start = context.instant(day, dt.time(0))
        day_end = context.instant(day + dt.timedelta(days=1), dt.time(0))
        count = given.get((order.pk, day), 0)
        if count:
            cells.append(Cell(CellState.PRN, str(count)))
        elif day_end <= active_from or (stop is not None and day_start >= stop):
            cells.append(INACTIVE_CELL)
        else:
            cells.append(OPEN_CELL)
    return GridRow(label="PRN", cells=tuple(cells))


def _prn_record(
    record: Administration, values: _Amended, *, zone: ZoneInfo, mark: str
) -> PrnRecord:
    result, result_at, result_by = "", None, ""
    try:
        check = record.effectiveness
    except Administration.effectiveness.RelatedObjectDoesNotExist:
        check = None
    if check is not None:
        result = check.get_result_display() + (f": {check.note}" if check.note else "")
        result_at = check.recorded_at.astimezone(zone)
        result_by = check.recorded_by.initials
    elif values.status == Administration.Status.GIVEN:
        result = "Not followed up"
    outcome = Administration.Status(values.status).label
    if values.status != Administration.Status.GIVEN and (values.reason or values.note):
        outcome += f" ({values.reason or values.note})"
    return PrnRecord(
        at=values.administered_at.astimezone(zone),
        medication=medication_label(record.order.medication, route=record.order.route),
        dose=dose_label(values.dose_amount or record.order.dose_amount, record.order.dose_unit),
        outcome=outcome,
        reason=record.prn_reason,
        result=result,
        result_at=result_at,
        result_by=result_by,
        initials=record.administered_by.initials,
        witness=_initials(record.witness),
        mark=mark,
    )


class _Amended(NamedTuple):
    """A record's values as last amended (or as charted)."""

    status: str
    reason: str
    note: str
    administered_at: dt.datetime
    dose_amount: Decimal | None


def _as_amended(record: Administration, amendments: list[Amendment]) -> _Amended:
    """The record as it reads now: the amendment in effect for each field (the one
    selector, ``mar.selectors.amendments_in_effect``, the charting service asks too)."""
    values = {
        "status": record.status,
        "reason": record.reason,
        "note": record.note,
        "administered_at": record.administered_at,
        "dose_amount": record.dose_amount,
    }
    for amendment in amendments_in_effect(amendments).values():
        new = amendment.new_value
        try:
            if amendment.field == Amendment.Field.ADMINISTERED_AT:
                values["administered_at"] = dt.datetime.fromisoformat(new)
            elif amendment.field == Amendment.Field.DOSE_AMOUNT:
                values["dose_amount"] = Decimal(new)
            elif amendment.field == Amendment.Field.STATUS and new in Administration.Status.values:
                values["status"] = new
            elif amendment.field in (Amendment.Field.REASON, Amendment.Field.NOTE):
                values[amendment.field] = new
        except (ValueError, ArithmeticError):
            continue  # a value the record cannot take prints on the notes page only
    return _Amended(**values)


def _amendment_text(field: str, value: str, zone: ZoneInfo) -> str:
    """An amendment's old or new value as a reader of the MAR says it."""
    if field == Amendment.Field.ADMINISTERED_AT:
        with contextlib.suppress(ValueError):
            return f"{dt.datetime.fromisoformat(value).astimezone(zone):%m/%d %H:%M}"
    if field == Amendment.Field.STATUS and value in Administration.Status.values:
        return Administration.Status(value).label
    if field == Amendment.Field.ENTERED_IN_ERROR:
        return {"true": "Entered in error", "false": "In effect"}.get(value, value)
    return value


def _review_text(review: ExceptionReview | None) -> str:
    if review is None:
        return ""
    return f"{review.note} ({review.reviewed_by.initials})"


def _signers(
    *,
    doses: list[DoseRow],
    charting_users: dict[int, User],
    records: list[Administration],
    amendments: dict[int, list[Amendment]],
    reviews: Iterable[ExceptionReview],
) -> tuple[Signer, ...]:
    """Everyone whose initials or name the month's record carries, and what they mean."""
    meanings: dict[int, set[str]] = defaultdict(set)
    users: dict[int, User] = {}

    def add(user: User | None, meaning: str) -> None:
        if user is not None:
            users[user.pk] = user
            meanings[user.pk].add(meaning)

    for dose in doses:
        if dose.record_by_id is not None:
            add(charting_users.get(dose.record_by_id), "charted")
    for record in records:
        add(record.administered_by, "prn" if record.scheduled_dose_id is None else "charted")
        add(record.witness, "witness")
        with contextlib.suppress(Administration.effectiveness.RelatedObjectDoesNotExist):
            add(record.effectiveness.recorded_by, "follow_up")
        for amendment in amendments.get(record.pk, []):
            add(amendment.amended_by, "amended")
    for review in reviews:
        add(review.reviewed_by, "reviewed")
    order = list(SIGNER_MEANINGS)
    return tuple(
        Signer(
            initials=user.initials,
            name=user.get_full_name() or user.username,
            title=user.title,
            role=user.get_role_display(),
            meanings=tuple(
                SIGNER_MEANINGS[key] for key in sorted(meanings[user.pk], key=order.index)
            ),
        )
        for user in sorted(users.values(), key=lambda user: (user.initials, user.pk))
    )


# --- The downtime sheet --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DowntimeDose:
    due_at: dt.datetime
    medication: str
    dose: str
    route: str
    instructions: str
    flags: tuple[str, ...]
    conditions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DowntimePrn:
    medication: str
    dose: str
    route: str
    indication: str
    conditions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DowntimeResident:
    name: str
    preferred_name: str
    room: str
    date_of_birth: dt.date
    allergies: tuple[str, ...]
    has_no_known_allergies: bool
    code_status: str
    status_note: str
    doses: tuple[DowntimeDose, ...]
    prn: tuple[DowntimePrn, ...]


@dataclass(frozen=True, slots=True)
class DowntimeSheet:
    community: str
    cart: str
    time_zone: str
    covers_from: dt.datetime
    covers_until: dt.datetime
    residents: tuple[DowntimeResident, ...]

    @property
    def dose_count(self) -> int:
        return sum(len(resident.doses) for resident in self.residents)


# Shift changes, local wall clock: the downtime sheet is renewed at each one.
SHIFT_STARTS = (dt.time(6), dt.time(14), dt.time(22))
DOWNTIME_SPAN = dt.timedelta(hours=24)


def shift_start(*, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The start of the shift ``now`` falls in (06:00, 14:00 or 22:00 local), in UTC."""
    today = now.astimezone(zone).date()
    starts = sorted(
        schedule.local_to_utc(day=day, clock=clock, zone=zone)
        for day in (today - dt.timedelta(days=1), today)
        for clock in SHIFT_STARTS
    )
    return max(start for start in starts if start <= now)


def carts_for_downtime() -> list[MedCart]:
    return list(
        MedCart.objects.filter(is_active=True)
        .select_related("facility")
        .order_by("facility_id", "name", "id")
    )


def downtime_sheet(*, cart: MedCart, covers_from: dt.datetime) -> DowntimeSheet:
    """The cart's residents and every dose due in the 24 hours from ``covers_from``, in a
    fixed number of queries."""
    facility = cart.facility
    zone = facility.zone
    covers_until = covers_from + DOWNTIME_SPAN
    residents = list(
        Resident.objects.filter(
            room__cart=cart, status__in=[Resident.Status.ACTIVE, Resident.Status.AWAY]
        )
        .select_related("room", "facility")
        .prefetch_related(
            Prefetch(
                "allergies",
                queryset=Allergy.objects.order_by("allergen", "id"),
            )
        )
        .order_by("room__number", "last_name", "first_name", "id")
    )
    ids = [resident.pk for resident in residents]
    doses_by_resident: dict[int, list[DowntimeDose]] = defaultdict(list)
    for dose in (
        ScheduledDose.objects.filter(
            resident_id__in=ids,
            scheduled_at__gte=covers_from,
            scheduled_at__lt=covers_until,
            order__status=Order.Status.ACTIVE,
        )
        .select_related("order__medication")
        .order_by("scheduled_at", "order__medication__generic_name", "id")
    ):
        order = dose.order
        doses_by_resident[dose.resident_id].append(
            DowntimeDose(
                due_at=dose.scheduled_at.astimezone(zone),
                medication=medication_label(order.medication, route=order.route),
                dose=dose_label(order.dose_amount, order.dose_unit),
                route=wording.route_label(order.route),
                instructions=order.instructions,
                flags=_order_flags(order),
                conditions=_order_conditions(order),
            )
        )
    prn_by_resident: dict[int, list[DowntimePrn]] = defaultdict(list)
    for order in (
        Order.objects.filter(
            resident_id__in=ids, frequency=Order.Frequency.PRN, status=Order.Status.ACTIVE
        )
        .select_related("medication")
        .order_by("medication__generic_name", "id")
    ):
        prn_by_resident[order.resident_id].append(
            DowntimePrn(
                medication=medication_label(order.medication, route=order.route),
                dose=dose_label(order.dose_amount, order.dose_unit),
                route=wording.route_label(order.route),
                indication=order.indication,
                conditions=_order_conditions(order),
            )
        )
    return DowntimeSheet(
        community=facility.name,
        cart=cart.name,
        time_zone=facility.time_zone,
        covers_from=covers_from.astimezone(zone),
        covers_until=covers_until.astimezone(zone),
        residents=tuple(
            DowntimeResident(
                name=f"{resident.last_name}, {resident.first_name}",
                preferred_name=resident.preferred_name,
                room=resident.room.number if resident.room else "",
                date_of_birth=resident.date_of_birth,
                allergies=tuple(allergy.allergen for allergy in resident.allergies.all()),
                has_no_known_allergies=resident.has_no_known_allergies,
                code_status=resident.get_code_status_display(),
                status_note=f"Away: {resident.get_away_kind_display()}"
                if resident.status == Resident.Status.AWAY
                else "",
                doses=tuple(doses_by_resident[resident.pk]),
                prn=tuple(prn_by_resident[resident.pk]),
            )
            for resident in residents
        ),
    )


# --- The controlled-substance count sheet (inventory item 4's hook) ----------------------


@dataclass(frozen=True, slots=True)
class CountSheetLine:
    medication: str
    resident: str
    rx_number: str
    expected: str
    outgoing: str
    incoming: str
    is_discrepancy: bool


@dataclass(frozen=True, slots=True)
class CountSheetCount:
    started_at: dt.datetime
    status: str
    outgoing: str
    outgoing_signed_at: dt.datetime | None
    incoming: str
    incoming_signed_at: dt.datetime | None
    resolution: str
    lines: tuple[CountSheetLine, ...]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: dt.datetime
    kind: str
    quantity: str
    balance: str
    by: str
    witness: str
    reason: str


@dataclass(frozen=True, slots=True)
class ControlledItemLog:
    medication: str
    schedule: str
    resident: str
    rx_number: str
    lot: str
    unit: str
    entries: tuple[LedgerEntry, ...]


@dataclass(frozen=True, slots=True)
class CountSheet:
    community: str
    cart: str
    time_zone: str
    covers_from: dt.datetime
    covers_until: dt.datetime
    counts: tuple[CountSheetCount, ...]
    items: tuple[ControlledItemLog, ...]


def _quantity(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def count_sheet(
    *, cart: MedCart, covers_from: dt.datetime, covers_until: dt.datetime
) -> CountSheet:
    """The cart's shift counts of controlled substances and each controlled item's
    running log (the stock ledger) between two instants, from the inventory models."""
    zone = cart.facility.zone
    counts = (
        ControlledCount.objects.filter(
            cart=cart, started_at__gte=covers_from, started_at__lt=covers_until
        )
        .select_related("outgoing_user", "incoming_user", "resolved_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ControlledCountLine.objects.select_related(
                    "stock_item__medication", "stock_item__resident"
                ).order_by(
                    "stock_item__resident__last_name", "stock_item__medication__generic_name", "id"
                ),
            )
        )
        .order_by("started_at", "id")
    )
    items = (
        StockItem.objects.filter(cart=cart)
        .exclude(medication__dea_schedule="")
        .select_related("medication", "resident")
        .prefetch_related(
            Prefetch(
                "transactions",
                queryset=StockTransaction.objects.filter(
                    created_at__gte=covers_from, created_at__lt=covers_until
                )
                .select_related("performed_by", "witness")
                .order_by("created_at", "id"),
            )
        )
        .order_by("resident__last_name", "medication__generic_name", "id")
    )
    return CountSheet(
        community=cart.facility.name,
        cart=cart.name,
        time_zone=cart.facility.time_zone,
        covers_from=covers_from.astimezone(zone),
        covers_until=covers_until.astimezone(zone),
        counts=tuple(
            CountSheetCount(
                started_at=count.started_at.astimezone(zone),
                status=count.get_status_display(),
                outgoing=count.outgoing_user.signature_name,
                outgoing_signed_at=count.outgoing_signed_at.astimezone(zone)
                if count.outgoing_signed_at
                else None,
                incoming=count.incoming_user.signature_name,
                incoming_signed_at=count.incoming_signed_at.astimezone(zone)
                if count.incoming_signed_at
                else None,
                resolution=(
                    f"{count.resolution_note} ({count.resolved_by.signature_name})"
                    if count.resolved_by
                    else ""
                ),
                lines=tuple(
                    CountSheetLine(
                        medication=medication_label(line.stock_item.medication),
                        resident=line.stock_item.resident.display_name,
                        rx_number=line.stock_item.rx_number,
                        expected=_quantity(line.expected_quantity),
                        outgoing=_quantity(line.outgoing_quantity),
                        incoming=_quantity(line.incoming_quantity),
                        is_discrepancy=line.outgoing_quantity is not None
                        and line.incoming_quantity is not None
                        and not (
                            line.outgoing_quantity
                            == line.incoming_quantity
                            == line.expected_quantity
                        ),
                    )
                    for line in count.lines.all()
                ),
            )
            for count in counts
        ),
        items=tuple(
            ControlledItemLog(
                medication=medication_label(item.medication),
                schedule=f"C-{item.medication.dea_schedule}",
                resident=item.resident.display_name,
                rx_number=item.rx_number,
                lot=item.lot,
                unit=item.unit,
                entries=tuple(
                    LedgerEntry(
                        at=entry.created_at.astimezone(zone),
                        kind=entry.get_kind_display(),
                        quantity=_quantity(entry.quantity),
                        balance=_quantity(entry.balance_after),
                        by=entry.performed_by.initials,
                        witness=_initials(entry.witness),
                        reason=entry.reason,
                    )
                    for entry in item.transactions.all()
                ),
            )
            for item in items
        ),
    )


# --- Print jobs and who may print what ------------------------------------------------------


PRINTING_ROLES = permissions.roles_for(permissions.Area.PRINT_RECORDS)


def can_print_records(*, user: User, facility: Facility | None = None) -> bool:
    """Monthly MARs and count sheets: administrators and nurses (of ``facility``)."""
    if not permissions.can(user, permissions.Area.PRINT_RECORDS):
        return False
    return facility is None or is_member(user=user, facility_id=facility.pk)


def cart_of_user(*, user: User) -> MedCart | None:
    """The cart the user is on duty for, if any."""
    assignment = (
        CartAssignment.objects.filter(user=user, ended_at__isnull=True)
        .select_related("cart")
        .order_by("-started_at", "-id")
        .first()
    )
    return assignment.cart if assignment else None


def printable_carts(*, user: User) -> list[MedCart]:
    """Carts whose downtime sheet the user may print: all of their communities' for
    administrators and nurses, their own cart for a med tech."""
    if can_print_records(user=user):
        return list(
            active_carts(user=user)
            .select_related("facility")
            .order_by("facility__name", "name", "id")
        )
    cart = cart_of_user(user=user)
    return [cart] if cart is not None and cart.is_active else []


def latest_sheet(*, cart: MedCart, kind: str = PrintJob.Kind.DOWNTIME) -> PrintJob | None:
    return (
        PrintJob.objects.filter(cart=cart, kind=kind, status=PrintJob.Status.READY)
        .order_by("-covers_from", "-finished_at", "-id")
        .first()
    )


def community_jobs(*, facility: Facility, limit: int = 12) -> list[PrintJob]:
    return list(
        PrintJob.objects.filter(facility=facility, kind=PrintJob.Kind.COMMUNITY_MONTH)
        .select_related("requested_by")
        .order_by("-requested_at", "-id")[:limit]
    )


# --- The face sheet --------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceSheet:
    facility: str
    facility_address: str
    facility_license: str
    time_zone: str
    name: str
    preferred_name: str
    date_of_birth: dt.date
    age: int
    status: str
    room: str
    unit: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    code_status: str
    physician: str
    physician_phone: str
    pharmacy: str
    pharmacy_phone: str
    no_known_allergies: bool
    allergies: tuple[tuple[str, str, str], ...]
    diagnoses: tuple[tuple[str, str], ...]
    medications: tuple[tuple[str, str, str], ...]
    photo: str


def face_sheet(*, resident: Resident, today: dt.date) -> FaceSheet:
    """What the printed face sheet shows (one page: who, where, whom to call, allergies,
    diagnoses, current medications)."""
    born = resident.date_of_birth
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    orders = (
        Order.objects.filter(
            resident=resident, status__in=[Order.Status.ACTIVE, Order.Status.ON_HOLD]
        )
        .select_related("medication")
        .order_by("medication__generic_name", "id")
    )
    return FaceSheet(
        facility=resident.facility.name,
        facility_address=resident.facility.address,
        facility_license=resident.facility.license_number,
        time_zone=resident.facility.time_zone,
        name=resident.display_name,
        preferred_name=resident.preferred_name,
        date_of_birth=born,
        age=age,
        status=resident.get_status_display()
        + (f" ({resident.get_away_kind_display()})" if resident.away_kind else ""),
        room=resident.room.number if resident.room else "",
        unit=resident.room.unit.name if resident.room else "",
        admitted_on=resident.admitted_on,
        discharged_on=resident.discharged_on,
        code_status=resident.get_code_status_display(),
        physician=resident.physician,
        physician_phone=resident.physician_phone,
        pharmacy=resident.pharmacy,
        pharmacy_phone=resident.pharmacy_phone,
        no_known_allergies=resident.has_no_known_allergies,
        allergies=tuple(
            (a.allergen, a.reaction, a.get_severity_display())
            for a in resident.allergies.order_by("allergen", "id")
        ),
        diagnoses=tuple(
            (d.icd10_code, d.description) for d in resident.diagnoses.order_by("description", "id")
        ),
        medications=tuple(
            (
                str(order.medication),
                wording.sig_words(order),
                order.get_status_display(),
            )
            for order in orders
        ),
        photo=resident.photo.name if resident.photo else "",
    )
