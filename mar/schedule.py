"""The schedule engine: when an order's doses are due, and their on-time windows.

Pure domain code. No database, no Django models, no clock: everything it needs
comes in as arguments, so it can be tested anywhere in time, DST changes included.

Conventions
-----------
- Every datetime given must be aware (any zone); every datetime returned is in UTC.
- Ranges are half-open: a dose at ``t`` is scheduled when
  ``max(starts_at, range_start) <= t < min(ends_at, range_end)``. A dose exactly at
  ``starts_at`` is scheduled, one exactly at ``ends_at`` (or ``range_end``) is not, so
  consecutive ranges ``[a, b)`` and ``[b, c)`` never list a dose twice or drop one.
- Wall-clock orders ("08:00 and 20:00") are read in the facility's zone:

  * a time that does not exist that day (spring forward: 02:30 on 2026-03-08 in
    America/Chicago) moves to the first valid minute after the gap (03:00 CDT);
  * an ambiguous time (fall back: 01:30 on 2026-11-01 in America/Chicago) is taken
    once, at its first occurrence (``fold=0``, 01:30 CDT = 06:30 UTC);
  * when two of an order's times land on the same instant (02:30 and 03:00 on the
    spring-forward day both become 03:00 CDT) the dose is scheduled once.

- Interval orders ("every 6 hours") count elapsed hours from ``starts_at``, DST or
  not, so their local wall-clock times shift by an hour across a DST change.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "FacilityWindows",
    "Frequency",
    "FrequencyKind",
    "describe",
    "doses_per_day_at_most",
    "local_to_utc",
    "resolve_times",
    "scheduled_times",
    "window_for",
    "window_minutes",
]


class FrequencyKind(StrEnum):
    """The same strings as ``mar.models.Order.Frequency``."""

    TIMES_OF_DAY = "times_of_day"
    DAYS_OF_WEEK = "days_of_week"
    EVERY_N_DAYS = "every_n_days"
    MONTHLY = "monthly"
    EVERY_N_HOURS = "every_n_hours"
    PRN = "prn"


# Kinds given as local clock times on chosen dates.
WALL_CLOCK_KINDS = frozenset(
    {
        FrequencyKind.TIMES_OF_DAY,
        FrequencyKind.DAYS_OF_WEEK,
        FrequencyKind.EVERY_N_DAYS,
        FrequencyKind.MONTHLY,
    }
)

WEEKDAY_ABBREVIATIONS = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}

_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ONE_SECOND = timedelta(seconds=1)
_ONE_MINUTE = timedelta(minutes=1)
_ONE_DAY = timedelta(days=1)


class OrderLike(Protocol):
    """The attributes of ``mar.models.Order`` the engine reads."""

    frequency: str
    administration_times: Sequence[str]
    days_of_week: Sequence[int]
    days_of_month: Sequence[int]
    interval: int | None


@dataclass(frozen=True, slots=True)
class Frequency:
    """An order's schedule, independent of the ORM.

    Fields that a kind uses (anything else must be left empty):

    - ``times_of_day``: ``times`` (local clock times, at least one).
    - ``days_of_week``: ``times`` and ``days_of_week`` (ISO weekdays, 1 = Mon ... 7 = Sun).
    - ``every_n_days``: ``times`` and ``interval`` (N >= 1); day 0 is the local date of
      the order's ``starts_at``.
    - ``monthly``: ``times`` and ``days_of_month`` (1..31); a day the month lacks moves
      to the month's last day.
    - ``every_n_hours``: ``interval`` (N >= 1) only; counted from ``starts_at``.
    - ``prn``: nothing; never scheduled.

    Times, weekdays and days of month are stored sorted and without repeats, so two
    equal schedules compare equal.
    """

    kind: FrequencyKind
    times: tuple[time, ...] = ()
    days_of_week: tuple[int, ...] = ()
    days_of_month: tuple[int, ...] = ()
    interval: int | None = None

    def __post_init__(self) -> None:
        try:
            kind = FrequencyKind(self.kind)
        except ValueError:
            known = ", ".join(k.value for k in FrequencyKind)
            raise ValueError(
                f"Unknown frequency {self.kind!r} (expected one of: {known})."
            ) from None
        object.__setattr__(self, "kind", kind)

        for value in self.times:
            if not isinstance(value, time):
                raise ValueError(f"Administration time {value!r} is not a datetime.time.")
            if value.tzinfo is not None:
                raise ValueError(
                    f"Administration time {value} must be a local clock time without a zone."
                )
        for day in self.days_of_week:
            if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
                raise ValueError(
                    f"Day of week {day!r} is not an ISO weekday (1 = Mon ... 7 = Sun)."
                )
        for day in self.days_of_month:
            if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
                raise ValueError(f"Day of month {day!r} is not between 1 and 31.")
        if self.interval is not None and (
            isinstance(self.interval, bool) or not isinstance(self.interval, int)
        ):
            raise ValueError(f"Interval {self.interval!r} is not a whole number.")
        object.__setattr__(self, "times", tuple(sorted({t.replace(fold=0) for t in self.times})))
        object.__setattr__(self, "days_of_week", tuple(sorted(set(self.days_of_week))))
        object.__setattr__(self, "days_of_month", tuple(sorted(set(self.days_of_month))))

        self._check_shape()

    def _check_shape(self) -> None:
        kind = self.kind
        label = kind.value
        uses_times = kind in WALL_CLOCK_KINDS
        uses_interval = kind in (FrequencyKind.EVERY_N_DAYS, FrequencyKind.EVERY_N_HOURS)
        if uses_times and not self.times:
            raise ValueError(f"A {label} order needs at least one administration time.")
        if not uses_times and self.times:
            raise ValueError(f"A {label} order takes no administration times.")
        if kind == FrequencyKind.DAYS_OF_WEEK and not self.days_of_week:
            raise ValueError("A days_of_week order needs at least one day of the week.")
        if kind != FrequencyKind.DAYS_OF_WEEK and self.days_of_week:
            raise ValueError(f"A {label} order takes no days of the week.")
        if kind == FrequencyKind.MONTHLY and not self.days_of_month:
            raise ValueError("A monthly order needs at least one day of the month.")
        if kind != FrequencyKind.MONTHLY and self.days_of_month:
            raise ValueError(f"A {label} order takes no days of the month.")
        if uses_interval and (self.interval is None or self.interval < 1):
            raise ValueError(
                f"A {label} order needs an interval N of at least 1, not {self.interval}."
            )
        if not uses_interval and self.interval is not None:
            raise ValueError(f"A {label} order takes no interval.")

    @classmethod
    def from_order(cls, order: OrderLike | Any, *, pass_times: Mapping[str, time]) -> Frequency:
        """Build the schedule of an Order-like object (duck-typed).

        Reads ``frequency``, ``administration_times`` (clock times "HH:MM" or the
        facility's pass names, resolved through ``pass_times``), ``days_of_week``,
        ``days_of_month`` and ``interval``. Only the fields the kind uses are read, so
        a leftover value in an unused field is ignored, as the database allows.
        """
        try:
            kind = FrequencyKind(str(order.frequency))
        except ValueError:
            raise ValueError(f"Unknown frequency {order.frequency!r}.") from None
        if kind == FrequencyKind.PRN:
            return cls(kind=kind)
        if kind == FrequencyKind.EVERY_N_HOURS:
            return cls(kind=kind, interval=order.interval)
        times = resolve_times(
            administration_times=order.administration_times or (), pass_times=pass_times
        )
        if kind == FrequencyKind.DAYS_OF_WEEK:
            return cls(kind=kind, times=times, days_of_week=tuple(order.days_of_week or ()))
        if kind == FrequencyKind.MONTHLY:
            return cls(kind=kind, times=times, days_of_month=tuple(order.days_of_month or ()))
        if kind == FrequencyKind.EVERY_N_DAYS:
            return cls(kind=kind, times=times, interval=order.interval)
        return cls(kind=kind, times=times)

    @property
    def is_more_than_daily(self) -> bool:
        """Given more often than once a day, by the ISMP window rule.

        Wall-clock kinds with more than one time a day, or every N hours with N < 24.
        PRN orders are not scheduled and count as no.
        """
        if self.kind in WALL_CLOCK_KINDS:
            return len(self.times) > 1
        if self.kind == FrequencyKind.EVERY_N_HOURS:
            return self.interval is not None and self.interval < 24
        return False


def resolve_times(
    *, administration_times: Sequence[str], pass_times: Mapping[str, time]
) -> tuple[time, ...]:
    """Turn an order's administration times into clock times, sorted and without repeats.

    Each entry is a 24-hour clock time "HH:MM" (a one-digit hour is accepted: "8:00")
    or the name of one of the facility's pass times ("AM", "HS"). A name is matched
    exactly first, then ignoring case when that is unambiguous. Anything else raises
    ``ValueError`` naming the entry.
    """
    resolved: set[time] = set()
    folded: dict[str, list[str]] = {}
    for name in pass_times:
        folded.setdefault(name.casefold(), []).append(name)
    for raw in administration_times:
        entry = raw.strip()
        clock = _CLOCK_TIME.match(entry)
        if clock:
            hour, minute = int(clock.group(1)), int(clock.group(2))
            if hour > 23 or minute > 59:
                raise ValueError(f"Administration time {raw!r} is not a valid 24-hour HH:MM time.")
            resolved.add(time(hour, minute))
        elif entry in pass_times:
            resolved.add(pass_times[entry])
        elif len(folded.get(entry.casefold(), ())) == 1:
            resolved.add(pass_times[folded[entry.casefold()][0]])
        elif any(ch.isdigit() or ch == ":" for ch in entry):
            raise ValueError(f"Administration time {raw!r} is not a valid 24-hour HH:MM time.")
        else:
            known = ", ".join(sorted(pass_times)) or "none defined"
            raise ValueError(f"Unknown pass time {raw!r} (this facility's pass times: {known}).")
    return tuple(sorted(resolved))


def scheduled_times(
    *,
    frequency: Frequency,
    starts_at: datetime,
    ends_at: datetime | None,
    zone: ZoneInfo,
    range_start: datetime,
    range_end: datetime,
) -> list[datetime]:
    """The times an order's doses are due in a range, as sorted, unique UTC datetimes.

    A time ``t`` is listed when ``max(starts_at, range_start) <= t < min(ends_at,
    range_end)`` (``ends_at=None``: open-ended). Wall-clock kinds are read in ``zone``
    (see the module docstring for the DST rules); every-N-hours orders are
    ``starts_at + k * N hours`` in elapsed time; PRN orders give an empty list.

    Only the local dates that overlap the range are visited, and for interval orders
    the first ``k`` is computed, so the cost depends on the range, not on how long ago
    the order started.

    Raises ``ValueError`` for a naive datetime, an order that ends before it starts,
    or a range that ends before it starts.
    """
    starts = _as_utc(starts_at, "starts_at")
    ends = _as_utc(ends_at, "ends_at") if ends_at is not None else None
    lo = max(starts, _as_utc(range_start, "range_start"))
    range_stop = _as_utc(range_end, "range_end")
    if ends is not None and ends <= starts:
        raise ValueError(f"The order ends ({ends_at}) before or when it starts ({starts_at}).")
    if range_end < range_start:
        raise ValueError(f"The range ends ({range_end}) before it starts ({range_start}).")
    hi = range_stop if ends is None else min(ends, range_stop)
    if lo >= hi or frequency.kind == FrequencyKind.PRN:
        return []

    if frequency.kind == FrequencyKind.EVERY_N_HOURS:
        step = timedelta(hours=_interval(frequency))
        return _every_n_hours(starts=starts, step=step, lo=lo, hi=hi)

    # A dose for local date d is at a wall-clock time on d, or later on d or d + 1 when
    # shifted out of a DST gap. A fall-back that crosses midnight turns the clock back
    # into the previous date, so an instant's local date can be one off either way: one
    # day of margin at each end covers it, and the filter below is exact.
    first_day = lo.astimezone(zone).date() - _ONE_DAY
    last_day = hi.astimezone(zone).date() + _ONE_DAY
    found: set[datetime] = set()
    for day in _dates(frequency, first_day=first_day, last_day=last_day, starts=starts, zone=zone):
        for clock in frequency.times:
            instant = local_to_utc(day=day, clock=clock, zone=zone)
            if lo <= instant < hi:
                found.add(instant)
    return sorted(found)


@functools.lru_cache(maxsize=8192)
def local_to_utc(*, day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local date, by the DST rules.

    An ambiguous time gives its first occurrence (``fold=0``). A time that does not
    exist (detected by a round trip through UTC) gives the first valid minute after
    the gap, e.g. 02:30 on 2026-03-08 in America/Chicago gives 03:00 CDT (08:00 UTC).

    Memoized: a pure function of immutable values, and a horizon fill asks it the same
    few questions (08:00 on the same dates in the same zone) for hundreds of orders.
    """
    wall = datetime.combine(day, clock, tzinfo=zone)
    if wall.fold:
        wall = wall.replace(fold=0)
    instant = wall.astimezone(UTC)
    # Aware datetimes with the same tzinfo compare by their wall-clock fields.
    if instant.astimezone(zone) == wall:
        return instant
    return _end_of_gap(wall.replace(tzinfo=None), zone)


def window_for(*, scheduled_at: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The on-time window ``(start, end)`` around a dose, ``minutes`` either side, in UTC.

    Elapsed minutes (computed in UTC), so a window across a DST change is still
    exactly ``2 * minutes`` long. Both ends are included: charted at exactly the end is
    on time.
    """
    at = _as_utc(scheduled_at, "scheduled_at")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError(f"A window of {minutes!r} minutes is not a whole number >= 0.")
    half = timedelta(minutes=minutes)
    return at - half, at + half


@dataclass(frozen=True, slots=True)
class FacilityWindows:
    """A facility's on-time windows, minutes either side (ISMP defaults)."""

    time_critical_minutes: int = 30
    more_than_daily_minutes: int = 60
    daily_minutes: int = 120

    def __post_init__(self) -> None:
        for name in ("time_critical_minutes", "more_than_daily_minutes", "daily_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Facility window {name} must be a whole number >= 1, not {value!r}."
                )

    @classmethod
    def from_facility(cls, facility: Any) -> FacilityWindows:
        """Read ``window_time_critical_minutes``, ``window_more_than_daily_minutes`` and
        ``window_daily_minutes`` from a Facility-like object."""
        return cls(
            time_critical_minutes=facility.window_time_critical_minutes,
            more_than_daily_minutes=facility.window_more_than_daily_minutes,
            daily_minutes=facility.window_daily_minutes,
        )


def window_minutes(
    *,
    frequency: Frequency,
    is_time_critical: bool,
    override_minutes: int | None,
    facility_windows: FacilityWindows,
) -> int:
    """Minutes either side of a scheduled dose that count as on time (ISMP).

    In order of precedence: the order's own override; time-critical orders the
    facility's time-critical window (30); orders given more often than daily (more
    than one time a day, or every N hours with N < 24) its more-than-daily window (60);
    daily, weekly and monthly orders its daily window (120). PRN orders are never
    scheduled, so asking for their window raises ``ValueError``.
    """
    if frequency.kind == FrequencyKind.PRN:
        raise ValueError("PRN orders have no scheduled doses, so no on-time window.")
    if override_minutes is not None:
        if isinstance(override_minutes, bool) or override_minutes < 1:
            raise ValueError(
                f"An order's window override must be >= 1 minute, not {override_minutes!r}."
            )
        return override_minutes
    if is_time_critical:
        return facility_windows.time_critical_minutes
    if frequency.is_more_than_daily:
        return facility_windows.more_than_daily_minutes
    return facility_windows.daily_minutes


def describe(frequency: Frequency) -> str:
    """A short description for the MAR and the screens.

    "Daily at 08:00, 20:00", "Mon, Thu at 06:30", "Every 3 days at 09:00",
    "Monthly on the 1st at 08:00", "Every 4 hours", "As needed".
    """
    at = ", ".join(_format_clock(t) for t in frequency.times)
    match frequency.kind:
        case FrequencyKind.TIMES_OF_DAY:
            return f"Daily at {at}"
        case FrequencyKind.DAYS_OF_WEEK:
            days = ", ".join(WEEKDAY_ABBREVIATIONS[d] for d in frequency.days_of_week)
            return f"{days} at {at}"
        case FrequencyKind.EVERY_N_DAYS:
            every = "Every day" if frequency.interval == 1 else f"Every {frequency.interval} days"
            return f"{every} at {at}"
        case FrequencyKind.MONTHLY:
            days = ", ".join(_ordinal(d) for d in frequency.days_of_month)
            shorter = " (last day in shorter months)" if frequency.days_of_month[-1] > 28 else ""
            return f"Monthly on the {days}{shorter} at {at}"
        case FrequencyKind.EVERY_N_HOURS:
            return "Every hour" if frequency.interval == 1 else f"Every {frequency.interval} hours"
        case _:
            return "As needed"


def doses_per_day_at_most(frequency: Frequency, *, prn_max_per_24h: int | None = None) -> int:
    """The most doses the schedule can call for in one day: the times of a day it is
    given (wall-clock kinds), the doses in any 24 hours (every N hours: ceil(24 / N)),
    or a PRN order's maximum per 24 hours. A day's dose is this times the single dose."""
    if frequency.kind in WALL_CLOCK_KINDS:
        return len(frequency.times)
    if frequency.kind == FrequencyKind.EVERY_N_HOURS:
        return -(-24 // _interval(frequency))
    return prn_max_per_24h or 0


# Helpers


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, not {value!r}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not naive ({value}).")
    return value.astimezone(UTC)


def _interval(frequency: Frequency) -> int:
    if frequency.interval is None:  # Frequency's own checks make this unreachable.
        raise ValueError(f"A {frequency.kind.value} order needs an interval.")
    return frequency.interval


def _every_n_hours(
    *, starts: datetime, step: timedelta, lo: datetime, hi: datetime
) -> list[datetime]:
    # The first k with starts + k * step >= lo, by arithmetic: ceil((lo - starts) / step).
    first = max(0, -((starts - lo) // step))
    result = []
    instant = starts + first * step
    while instant < hi:
        result.append(instant)
        instant += step
    return result


def _dates(
    frequency: Frequency, *, first_day: date, last_day: date, starts: datetime, zone: ZoneInfo
) -> Iterator[date]:
    """The local dates from first_day to last_day (inclusive) that the order is given on."""
    kind = frequency.kind
    if kind == FrequencyKind.TIMES_OF_DAY:
        yield from _date_range(first_day, last_day)
    elif kind == FrequencyKind.DAYS_OF_WEEK:
        weekdays = frozenset(frequency.days_of_week)
        yield from (d for d in _date_range(first_day, last_day) if d.isoweekday() in weekdays)
    elif kind == FrequencyKind.EVERY_N_DAYS:
        day_zero = starts.astimezone(zone).date()
        n = _interval(frequency)
        # First date >= max(first_day, day_zero) on the cycle.
        begin = max(first_day, day_zero)
        offset = (begin - day_zero).days
        day = begin + timedelta(days=-offset % n)
        step = timedelta(days=n)
        while day <= last_day:
            yield day
            day += step
    elif kind == FrequencyKind.MONTHLY:
        yield from _monthly_dates(frequency.days_of_month, first_day=first_day, last_day=last_day)


def _date_range(first_day: date, last_day: date) -> Iterator[date]:
    day = first_day
    while day <= last_day:
        yield day
        day += _ONE_DAY


def _monthly_dates(days: Iterable[int], *, first_day: date, last_day: date) -> Iterator[date]:
    """Requested days of each month; a day the month lacks moves to its last day, and
    days that collapse onto one date (29, 30, 31 in February) give it once."""
    year, month = first_day.year, first_day.month
    while (year, month) <= (last_day.year, last_day.month):
        length = calendar.monthrange(year, month)[1]
        for day_number in sorted({min(d, length) for d in days}):
            day = date(year, month, day_number)
            if first_day <= day <= last_day:
                yield day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _end_of_gap(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first valid minute after the DST gap that swallows ``naive``, in UTC.

    For a time in a gap, ``fold=1`` reads it with the offset after the change (an
    instant before the change) and ``fold=0`` with the offset before it (an instant
    after). The change itself lies between; find it by bisection to the second.
    """
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    new_offset = after.astimezone(zone).utcoffset()
    low, high = 0, int((after - before) / _ONE_SECOND)
    # Invariant: offset at before + high is the new one; at before + low it is not.
    while high - low > 1:
        middle = (low + high) // 2
        if (before + middle * _ONE_SECOND).astimezone(zone).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    change = before + high * _ONE_SECOND
    if change.second or change.microsecond:
        change = change.replace(second=0, microsecond=0) + _ONE_MINUTE
    return change


def _format_clock(clock: time) -> str:
    return clock.strftime("%H:%M:%S" if clock.second else "%H:%M")


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
