"""The nurse's reports over the last N days of one community, aggregated in SQL.

Six queries whatever the number of residents, doses or days:

- scheduled doses by local day, unit and who charted them (due, on time, missed, late);
- doses given on time whose amount was corrected later (a wrong dose), by day and unit;
- the staff members who charted (their names);
- refusals by resident and medication; PRN doses by resident and medication, with their
  effectiveness; the facility's units.

Definitions (DESIGN.md): a dose is *due* once its window has closed, unless the resident
was away or its order was stopped first; it is *on time* when charted (given or not)
inside its window; *missed* when never charted past the late limit; *late, not charted
yet* while it still can be (the nurse sees those at once, on the overdue board too). The
medication error rate is the CMS one: errors over opportunities, where an opportunity is
a dose due and an error a missed dose, a dose given outside its window, or a dose given
whose amount was amended afterwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, FilteredRelation, Q
from django.db.models.functions import TruncDate

from mar.models import Administration, Amendment, EffectivenessCheck, ScheduledDose
from mar.selectors import DoseState, doses_with_state
from residents.models import Facility, Unit
from staff.models import User

NO_UNIT = "No unit"


@dataclass
class DayStat:
    day: dt.date
    due: int = 0
    on_time: int = 0
    missed: int = 0
    late_given: int = 0
    wrong_dose: int = 0
    late_open: int = 0  # window passed, not charted yet, still chartable (not an error yet)

    @property
    def errors(self) -> int:
        return self.missed + self.late_given + self.wrong_dose

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.due if self.due else None

    def add(self, other: DayStat) -> None:
        self.due += other.due
        self.on_time += other.on_time
        self.missed += other.missed
        self.late_given += other.late_given
        self.wrong_dose += other.wrong_dose
        self.late_open += other.late_open


@dataclass
class StaffStat:
    name: str
    initials: str
    charted: int
    on_time: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.charted if self.charted else None


@dataclass
class CountRow:
    resident: str
    medication: str
    count: int
    effective: int = 0
    not_effective: int = 0
    owed: int = 0


@dataclass
class Report:
    facility: Facility
    days: list[dt.date]
    daily: list[DayStat]
    by_unit: dict[str, list[DayStat]]
    by_staff: list[StaffStat]
    refusals: list[CountRow]
    prn_use: list[CountRow]
    totals: DayStat = field(default_factory=lambda: DayStat(day=dt.date.min))


def _name(last: str, first: str) -> str:
    return f"{last}, {first}"


def _medication(generic: str, strength: str) -> str:
    return f"{generic} {strength}".strip()


def facility_report(*, facility: Facility, now: dt.datetime, days: int = 30) -> Report:
    zone = facility.zone
    today = now.astimezone(zone).date()
    day_list = [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = dt.datetime.combine(day_list[0], dt.time(), tzinfo=zone)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    in_window = Q(
        rec__administered_at__gte=F("window_start"), rec__administered_at__lte=F("window_end")
    )

    # Each dose's state at ``now`` is the one definition (``mar.selectors.doses_with_state``):
    # away and cancelled doses were not owed; late ones are not charted yet; missed ones never.
    due = (
        doses_with_state(
            ScheduledDose.objects.filter(
                resident__facility=facility,
                scheduled_at__gte=since,
                scheduled_at__lt=until,
                window_end__lt=now,
            ),
            now=now,
        )
        .exclude(state__in=[DoseState.AWAY.value, DoseState.CANCELLED.value])
        .annotate(
            rec=FilteredRelation(
                "administrations", condition=Q(administrations__is_entered_in_error=False)
            )
        )
        # Positive conditions (no NOT on the filtered join): a plain LEFT JOIN.
        .filter(
            Q(rec__id__isnull=True)
            | Q(rec__status__in=[v for v in Administration.Status.values if v != "away"])
        )
    )
    by_day_unit = (
        due.annotate(
            day=TruncDate("scheduled_at", tzinfo=zone), unit_id=F("resident__room__unit_id")
        )
        # One scan for the days, the units and the staff: grouped by all three here, summed
        # up each way below.
        .values("day", "unit_id", "rec__administered_by")
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=in_window),
            missed=Count("id", filter=Q(state=DoseState.MISSED.value)),
            late_open=Count("id", filter=Q(state=DoseState.LATE.value)),
            late_given=Count(
                "id",
                filter=Q(
                    rec__status=Administration.Status.GIVEN,
                    rec__administered_at__gt=F("window_end"),
                ),
            ),
        )
        .order_by("day", "unit_id", "rec__administered_by")
    )
    wrong_dose = (
        Amendment.objects.filter(
            field=Amendment.Field.DOSE_AMOUNT,
            administration__is_entered_in_error=False,
            administration__status=Administration.Status.GIVEN,
            administration__resident__facility=facility,
            administration__scheduled_dose__scheduled_at__gte=since,
            administration__scheduled_dose__scheduled_at__lt=until,
            administration__scheduled_dose__window_end__lt=now,
            administration__administered_at__lte=F("administration__scheduled_dose__window_end"),
        )
        .annotate(
            day=TruncDate("administration__scheduled_dose__scheduled_at", tzinfo=zone),
            unit_id=F("administration__resident__room__unit_id"),
        )
        .values("day", "unit_id")
        .annotate(n=Count("administration_id", distinct=True))
        .order_by("day", "unit_id")
    )
    units = dict(Unit.objects.filter(facility=facility).values_list("id", "name"))

    daily = {day: DayStat(day=day) for day in day_list}
    by_unit: dict[str, dict[dt.date, DayStat]] = {
        name: {day: DayStat(day=day) for day in day_list} for name in sorted(units.values())
    }
    grouped = list(by_day_unit)
    for row in grouped:
        stat = DayStat(
            day=row["day"],
            due=row["due"],
            on_time=row["on_time"],
            missed=row["missed"],
            late_given=row["late_given"],
            late_open=row["late_open"],
        )
        unit = units.get(row["unit_id"], NO_UNIT)
        by_unit.setdefault(unit, {day: DayStat(day=day) for day in day_list})
        if row["day"] in daily:
            daily[row["day"]].add(stat)
            by_unit[unit][row["day"]].add(stat)
    for row in wrong_dose:
        unit = units.get(row["unit_id"], NO_UNIT)
        if row["day"] in daily:
            daily[row["day"]].wrong_dose += row["n"]
            by_unit.setdefault(unit, {day: DayStat(day=day) for day in day_list})
            by_unit[unit][row["day"]].wrong_dose += row["n"]

    charted_by: dict[int, list[int]] = {}
    for row in grouped:
        if row["rec__administered_by"] is not None:
            counts = charted_by.setdefault(row["rec__administered_by"], [0, 0])
            counts[0] += row["due"]  # every dose of a staff member's group has a record
            counts[1] += row["on_time"]
    people = User.objects.filter(pk__in=list(charted_by)).order_by("last_name", "first_name", "id")
    by_staff = [
        StaffStat(
            name=f"{person.first_name} {person.last_name}".strip(),
            initials=person.initials,
            charted=charted_by[person.pk][0],
            on_time=charted_by[person.pk][1],
        )
        for person in people
    ]

    records = Administration.objects.filter(
        resident__facility=facility,
        is_entered_in_error=False,
        administered_at__gte=since,
        administered_at__lt=until,
    )
    who_what = (
        "resident__last_name",
        "resident__first_name",
        "resident_id",
        "order__medication__generic_name",
        "order__medication__strength",
    )
    refusals = [
        CountRow(
            resident=_name(row["resident__last_name"], row["resident__first_name"]),
            medication=_medication(
                row["order__medication__generic_name"], row["order__medication__strength"]
            ),
            count=row["n"],
        )
        for row in records.filter(status=Administration.Status.REFUSED)
        .values(*who_what)
        .annotate(n=Count("id"))
        .order_by("-n", *who_what)
    ]
    prn_use = [
        CountRow(
            resident=_name(row["resident__last_name"], row["resident__first_name"]),
            medication=_medication(
                row["order__medication__generic_name"], row["order__medication__strength"]
            ),
            count=row["n"],
            effective=row["effective"],
            not_effective=row["not_effective"],
            owed=row["owed"],
        )
        for row in records.filter(scheduled_dose__isnull=True, status=Administration.Status.GIVEN)
        .values(*who_what)
        .annotate(
            n=Count("id"),
            effective=Count(
                "id", filter=Q(effectiveness__result=EffectivenessCheck.Result.EFFECTIVE)
            ),
            not_effective=Count(
                "id", filter=Q(effectiveness__result=EffectivenessCheck.Result.NOT_EFFECTIVE)
            ),
            owed=Count("id", filter=Q(effectiveness__isnull=True)),
        )
        .order_by("-n", *who_what)
    ]
    totals = DayStat(day=day_list[-1])
    for stat in daily.values():
        totals.add(stat)
    return Report(
        facility=facility,
        days=day_list,
        daily=list(daily.values()),
        by_unit={name: list(stats.values()) for name, stats in by_unit.items()},
        by_staff=by_staff,
        refusals=refusals,
        prn_use=prn_use,
        totals=totals,
    )
