"""The schedule engine (mar.schedule): pure functions, no database.

Examples pin the rules down at the DST changes in several zones; the property
tests compare the engine with a slow, obviously-correct oracle over random
orders, ranges and every time zone the machine knows.
"""

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from mar.schedule import (
    FacilityWindows,
    Frequency,
    FrequencyKind,
    describe,
    local_to_utc,
    resolve_times,
    scheduled_times,
    window_for,
    window_minutes,
)

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
DEFAULT_WINDOWS = FacilityWindows()


def daily(*clock_times: time) -> Frequency:
    return Frequency(kind=FrequencyKind.TIMES_OF_DAY, times=clock_times)


def schedule(
    frequency: Frequency,
    *,
    zone: ZoneInfo,
    range_start: datetime,
    range_end: datetime,
    starts_at: datetime = LONG_AGO,
    ends_at: datetime | None = None,
) -> list[datetime]:
    return scheduled_times(
        frequency=frequency,
        starts_at=starts_at,
        ends_at=ends_at,
        zone=zone,
        range_start=range_start,
        range_end=range_end,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def wall_clock(instants: list[datetime], zone: ZoneInfo) -> list[str]:
    return [f"{i.astimezone(zone):%Y-%m-%d %H:%M %Z}" for i in instants]


# Each kind over a few days


def test_lists_each_time_on_each_local_day_for_times_of_day():
    frequency = daily(time(20), time(8))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 1, 5),
        range_end=local(CHICAGO, 2026, 1, 7),
    )

    assert result == [
        utc(2026, 1, 5, 14),
        utc(2026, 1, 6, 2),
        utc(2026, 1, 6, 14),
        utc(2026, 1, 7, 2),
    ]


def test_lists_only_the_chosen_weekdays_of_the_local_date():
    frequency = Frequency(
        kind=FrequencyKind.DAYS_OF_WEEK, times=(time(6, 30),), days_of_week=(4, 1)
    )

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 1, 4),  # a Sunday
        range_end=local(CHICAGO, 2026, 1, 18),
    )

    assert wall_clock(result, CHICAGO) == [
        "2026-01-05 06:30 CST",  # Mon
        "2026-01-08 06:30 CST",  # Thu
        "2026-01-12 06:30 CST",
        "2026-01-15 06:30 CST",
    ]


def test_counts_every_n_days_from_the_local_start_date():
    frequency = Frequency(kind=FrequencyKind.EVERY_N_DAYS, times=(time(9), time(21)), interval=3)
    starts_at = local(CHICAGO, 2026, 1, 10, 10)

    result = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        range_start=local(CHICAGO, 2026, 1, 1),
        range_end=local(CHICAGO, 2026, 1, 17),
    )

    # Day 0 is Jan 10; its 09:00 is before the order starts.
    assert wall_clock(result, CHICAGO) == [
        "2026-01-10 21:00 CST",
        "2026-01-13 09:00 CST",
        "2026-01-13 21:00 CST",
        "2026-01-16 09:00 CST",
        "2026-01-16 21:00 CST",
    ]


def test_keeps_counting_every_n_days_from_the_start_in_a_range_decades_later():
    frequency = Frequency(kind=FrequencyKind.EVERY_N_DAYS, times=(time(9),), interval=7)
    starts_at = local(CHICAGO, 2000, 1, 3, 8)  # a Monday

    result = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        range_start=local(CHICAGO, 2099, 6, 1),
        range_end=local(CHICAGO, 2099, 6, 15),
    )

    assert wall_clock(result, CHICAGO) == ["2099-06-01 09:00 CDT", "2099-06-08 09:00 CDT"]
    assert all(r.astimezone(CHICAGO).isoweekday() == 1 for r in result)


def test_lists_monthly_orders_on_their_days():
    frequency = Frequency(kind=FrequencyKind.MONTHLY, times=(time(8),), days_of_month=(1, 15))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 1, 1),
        range_end=local(CHICAGO, 2026, 3, 1),
    )

    assert wall_clock(result, CHICAGO) == [
        "2026-01-01 08:00 CST",
        "2026-01-15 08:00 CST",
        "2026-02-01 08:00 CST",
        "2026-02-15 08:00 CST",
    ]


def test_moves_a_monthly_day_the_month_lacks_to_its_last_day():
    frequency = Frequency(kind=FrequencyKind.MONTHLY, times=(time(8),), days_of_month=(31,))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 1, 1),
        range_end=local(CHICAGO, 2026, 6, 1),
    )

    assert [f"{r.astimezone(CHICAGO):%m-%d}" for r in result] == [
        "01-31",
        "02-28",
        "03-31",
        "04-30",
        "05-31",
    ]


def test_takes_monthly_days_that_collapse_onto_one_date_once():
    frequency = Frequency(
        kind=FrequencyKind.MONTHLY, times=(time(8),), days_of_month=(28, 29, 30, 31)
    )

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 2, 1),
        range_end=local(CHICAGO, 2026, 3, 1),
    )
    leap_year = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2028, 2, 1),
        range_end=local(CHICAGO, 2028, 3, 1),
    )

    assert wall_clock(result, CHICAGO) == ["2026-02-28 08:00 CST"]
    assert wall_clock(leap_year, CHICAGO) == ["2028-02-28 08:00 CST", "2028-02-29 08:00 CST"]


def test_lists_every_n_hours_from_the_start():
    frequency = Frequency(kind=FrequencyKind.EVERY_N_HOURS, interval=8)
    starts_at = local(CHICAGO, 2026, 1, 5, 7)

    result = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        range_start=local(CHICAGO, 2026, 1, 6),
        range_end=local(CHICAGO, 2026, 1, 7),
    )

    assert wall_clock(result, CHICAGO) == [
        "2026-01-06 07:00 CST",
        "2026-01-06 15:00 CST",
        "2026-01-06 23:00 CST",
    ]


def test_never_schedules_a_prn_order():
    frequency = Frequency(kind=FrequencyKind.PRN)

    result = schedule(
        frequency, zone=CHICAGO, range_start=utc(2026, 1, 1), range_end=utc(2026, 2, 1)
    )

    assert result == []


# The range and the order's own start and end


def test_gives_nothing_for_a_range_entirely_before_the_start_or_after_the_end():
    frequency = daily(time(8))
    starts_at = local(CHICAGO, 2026, 3, 1)
    ends_at = local(CHICAGO, 2026, 3, 31)

    before = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        ends_at=ends_at,
        range_start=local(CHICAGO, 2026, 2, 1),
        range_end=starts_at,
    )
    after = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        ends_at=ends_at,
        range_start=ends_at,
        range_end=local(CHICAGO, 2026, 5, 1),
    )

    assert before == []
    assert after == []


def test_includes_a_dose_at_the_start_and_excludes_one_at_the_end():
    frequency = daily(time(8))
    starts_at = local(CHICAGO, 2026, 3, 2, 8)
    ends_at = local(CHICAGO, 2026, 3, 4, 8)

    result = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        ends_at=ends_at,
        range_start=local(CHICAGO, 2026, 3, 1),
        range_end=local(CHICAGO, 2026, 3, 10),
    )

    assert wall_clock(result, CHICAGO) == ["2026-03-02 08:00 CST", "2026-03-03 08:00 CST"]


def test_splits_a_range_without_losing_or_repeating_a_dose():
    frequency = daily(time(8), time(20))
    split_at = local(CHICAGO, 2026, 3, 2, 8)

    whole = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 3, 1),
        range_end=local(CHICAGO, 2026, 3, 4),
    )
    first = schedule(
        frequency, zone=CHICAGO, range_start=local(CHICAGO, 2026, 3, 1), range_end=split_at
    )
    rest = schedule(
        frequency, zone=CHICAGO, range_start=split_at, range_end=local(CHICAGO, 2026, 3, 4)
    )

    assert first + rest == whole
    assert split_at in rest


# DST in America/Chicago: spring forward 2026-03-08 02:00 CST -> 03:00 CDT (08:00 UTC),
# fall back 2026-11-01 02:00 CDT -> 01:00 CST (07:00 UTC).


def test_moves_a_time_in_the_spring_forward_gap_to_the_first_minute_after_it():
    frequency = daily(time(2, 30))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 3, 7),
        range_end=local(CHICAGO, 2026, 3, 10),
    )

    assert result == [utc(2026, 3, 7, 8, 30), utc(2026, 3, 8, 8), utc(2026, 3, 9, 7, 30)]
    assert wall_clock(result, CHICAGO) == [
        "2026-03-07 02:30 CST",
        "2026-03-08 03:00 CDT",
        "2026-03-09 02:30 CDT",
    ]


def test_moves_two_oclock_on_the_spring_forward_day_to_three():
    frequency = daily(time(2))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 3, 8),
        range_end=local(CHICAGO, 2026, 3, 9),
    )

    assert result == [utc(2026, 3, 8, 8)]
    assert wall_clock(result, CHICAGO) == ["2026-03-08 03:00 CDT"]


def test_takes_times_that_the_gap_moves_onto_another_time_once():
    frequency = daily(time(2, 30), time(3))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 3, 8),
        range_end=local(CHICAGO, 2026, 3, 9),
    )

    assert result == [utc(2026, 3, 8, 8)]


def test_takes_an_ambiguous_fall_back_time_once_at_its_first_occurrence():
    frequency = daily(time(1, 30))

    result = schedule(
        frequency,
        zone=CHICAGO,
        range_start=local(CHICAGO, 2026, 10, 31),
        range_end=local(CHICAGO, 2026, 11, 3),
    )

    assert result == [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 7, 30)]
    assert wall_clock(result, CHICAGO) == [
        "2026-10-31 01:30 CDT",
        "2026-11-01 01:30 CDT",
        "2026-11-02 01:30 CST",
    ]


def test_keeps_every_n_hours_exactly_n_hours_apart_across_spring_forward():
    frequency = Frequency(kind=FrequencyKind.EVERY_N_HOURS, interval=6)
    starts_at = local(CHICAGO, 2026, 3, 7, 20)

    result = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        range_start=starts_at,
        range_end=starts_at.astimezone(UTC) + timedelta(hours=30),  # elapsed, not wall-clock
    )

    assert result == [utc(2026, 3, 8, 2) + timedelta(hours=6 * k) for k in range(5)]
    assert wall_clock(result, CHICAGO) == [
        "2026-03-07 20:00 CST",
        "2026-03-08 03:00 CDT",
        "2026-03-08 09:00 CDT",
        "2026-03-08 15:00 CDT",
        "2026-03-08 21:00 CDT",
    ]


def test_keeps_every_n_hours_exactly_n_hours_apart_across_fall_back():
    frequency = Frequency(kind=FrequencyKind.EVERY_N_HOURS, interval=6)
    starts_at = local(CHICAGO, 2026, 10, 31, 20)

    result = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        range_start=starts_at,
        range_end=starts_at.astimezone(UTC) + timedelta(hours=30),  # elapsed, not wall-clock
    )

    assert result == [utc(2026, 11, 1, 1) + timedelta(hours=6 * k) for k in range(5)]
    assert wall_clock(result, CHICAGO) == [
        "2026-10-31 20:00 CDT",
        "2026-11-01 01:00 CST",
        "2026-11-01 07:00 CST",
        "2026-11-01 13:00 CST",
        "2026-11-01 19:00 CST",
    ]


# Other zones


def test_follows_europe_london_at_both_changes():
    frequency = daily(time(1, 30))

    spring = schedule(
        frequency,
        zone=LONDON,
        range_start=local(LONDON, 2026, 3, 29),
        range_end=local(LONDON, 2026, 3, 30),
    )
    autumn = schedule(
        frequency,
        zone=LONDON,
        range_start=local(LONDON, 2026, 10, 25),
        range_end=local(LONDON, 2026, 10, 26),
    )

    assert spring == [utc(2026, 3, 29, 1)]
    assert wall_clock(spring, LONDON) == ["2026-03-29 02:00 BST"]
    assert autumn == [utc(2026, 10, 25, 0, 30)]
    assert wall_clock(autumn, LONDON) == ["2026-10-25 01:30 BST"]


def test_follows_the_half_hour_dst_of_lord_howe_island():
    # +10:30 standard, +11:00 summer: 2026-10-04 02:00 -> 02:30, 2026-04-05 02:00 -> 01:30.
    gap_time = daily(time(2, 15))
    fold_time = daily(time(1, 45))

    spring = schedule(
        gap_time,
        zone=LORD_HOWE,
        range_start=local(LORD_HOWE, 2026, 10, 4),
        range_end=local(LORD_HOWE, 2026, 10, 5),
    )
    autumn = schedule(
        fold_time,
        zone=LORD_HOWE,
        range_start=local(LORD_HOWE, 2026, 4, 5),
        range_end=local(LORD_HOWE, 2026, 4, 6),
    )

    assert spring == [utc(2026, 10, 3, 15, 30)]
    assert f"{spring[0].astimezone(LORD_HOWE):%H:%M %z}" == "02:30 +1100"
    assert autumn == [utc(2026, 4, 4, 14, 45)]
    assert f"{autumn[0].astimezone(LORD_HOWE):%H:%M %z}" == "01:45 +1100"


def test_follows_the_quarter_hour_offset_of_kathmandu():
    frequency = daily(time(8))

    result = schedule(
        frequency,
        zone=KATHMANDU,
        range_start=local(KATHMANDU, 2026, 7, 1),
        range_end=local(KATHMANDU, 2026, 7, 3),
    )

    assert result == [utc(2026, 7, 1, 2, 15), utc(2026, 7, 2, 2, 15)]


def test_moves_the_doses_of_a_skipped_day_to_the_first_minute_after_it():
    # Samoa skipped 2011-12-30: 23:59:59 on the 29th (-10:00) was followed by 00:00 on the 31st.
    apia = ZoneInfo("Pacific/Apia")
    frequency = daily(time(9))

    result = schedule(
        frequency,
        zone=apia,
        starts_at=local(apia, 2011, 1, 1),
        range_start=local(apia, 2011, 12, 29),
        range_end=local(apia, 2012, 1, 1),
    )

    assert [f"{r.astimezone(apia):%Y-%m-%d %H:%M %z}" for r in result] == [
        "2011-12-29 09:00 -1000",
        "2011-12-31 00:00 +1400",
        "2011-12-31 09:00 +1400",
    ]


def test_reads_the_start_in_any_zone_as_the_same_instant():
    frequency = Frequency(kind=FrequencyKind.EVERY_N_HOURS, interval=4)
    starts_at = local(CHICAGO, 2026, 3, 7, 22)

    in_chicago = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at,
        range_start=starts_at,
        range_end=starts_at + timedelta(days=1),
    )
    in_kathmandu = schedule(
        frequency,
        zone=CHICAGO,
        starts_at=starts_at.astimezone(KATHMANDU),
        range_start=starts_at.astimezone(LORD_HOWE),
        range_end=(starts_at + timedelta(days=1)).astimezone(LONDON),
    )

    assert in_chicago == in_kathmandu
    assert all(r.tzinfo is UTC for r in in_kathmandu)


# Windows (ISMP)


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        (daily(time(8)), 120),
        (daily(time(8), time(20)), 60),
        (Frequency(kind="days_of_week", times=(time(8),), days_of_week=(1,)), 120),
        (Frequency(kind="every_n_days", times=(time(8), time(20)), interval=2), 60),
        (Frequency(kind="monthly", times=(time(8),), days_of_month=(1,)), 120),
        (Frequency(kind="every_n_hours", interval=4), 60),
        (Frequency(kind="every_n_hours", interval=23), 60),
        (Frequency(kind="every_n_hours", interval=24), 120),
        (Frequency(kind="every_n_hours", interval=72), 120),
    ],
)
def test_gives_more_than_daily_orders_an_hour_and_the_rest_two(frequency, expected):
    minutes = window_minutes(
        frequency=frequency,
        is_time_critical=False,
        override_minutes=None,
        facility_windows=DEFAULT_WINDOWS,
    )

    assert minutes == expected


def test_gives_time_critical_orders_thirty_minutes():
    frequency = daily(time(8), time(12), time(17))

    minutes = window_minutes(
        frequency=frequency,
        is_time_critical=True,
        override_minutes=None,
        facility_windows=DEFAULT_WINDOWS,
    )

    assert minutes == 30


def test_lets_an_order_override_win_over_every_facility_window():
    frequency = daily(time(8))

    minutes = window_minutes(
        frequency=frequency,
        is_time_critical=True,
        override_minutes=45,
        facility_windows=DEFAULT_WINDOWS,
    )

    assert minutes == 45


def test_uses_the_facility_s_own_windows():
    facility = SimpleNamespace(
        window_time_critical_minutes=15,
        window_more_than_daily_minutes=45,
        window_daily_minutes=90,
    )
    windows = FacilityWindows.from_facility(facility)

    critical = window_minutes(
        frequency=daily(time(8)),
        is_time_critical=True,
        override_minutes=None,
        facility_windows=windows,
    )
    twice_daily = window_minutes(
        frequency=daily(time(8), time(20)),
        is_time_critical=False,
        override_minutes=None,
        facility_windows=windows,
    )
    once_daily = window_minutes(
        frequency=daily(time(8)),
        is_time_critical=False,
        override_minutes=None,
        facility_windows=windows,
    )

    assert (critical, twice_daily, once_daily) == (15, 45, 90)


def test_refuses_a_window_for_a_prn_order():
    frequency = Frequency(kind=FrequencyKind.PRN)

    with pytest.raises(ValueError, match="PRN"):
        window_minutes(
            frequency=frequency,
            is_time_critical=False,
            override_minutes=None,
            facility_windows=DEFAULT_WINDOWS,
        )


def test_opens_and_closes_the_window_in_elapsed_minutes_across_a_dst_change():
    scheduled_at = local(CHICAGO, 2026, 3, 8, 3)  # 08:00 UTC, first minute of CDT

    window = window_for(scheduled_at=scheduled_at, minutes=120)

    assert window == (utc(2026, 3, 8, 6), utc(2026, 3, 8, 10))
    assert wall_clock(list(window), CHICAGO) == ["2026-03-08 00:00 CST", "2026-03-08 05:00 CDT"]


# Descriptions


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        (daily(time(20), time(8)), "Daily at 08:00, 20:00"),
        (
            Frequency(kind="days_of_week", times=(time(6, 30),), days_of_week=(4, 1)),
            "Mon, Thu at 06:30",
        ),
        (Frequency(kind="every_n_days", times=(time(9),), interval=3), "Every 3 days at 09:00"),
        (Frequency(kind="every_n_days", times=(time(9),), interval=1), "Every day at 09:00"),
        (
            Frequency(kind="monthly", times=(time(8),), days_of_month=(1,)),
            "Monthly on the 1st at 08:00",
        ),
        (
            Frequency(kind="monthly", times=(time(8),), days_of_month=(2, 3, 11, 22, 31)),
            "Monthly on the 2nd, 3rd, 11th, 22nd, 31st (last day in shorter months) at 08:00",
        ),
        (Frequency(kind="every_n_hours", interval=4), "Every 4 hours"),
        (Frequency(kind="every_n_hours", interval=1), "Every hour"),
        (Frequency(kind="prn"), "As needed"),
    ],
)
def test_describes_the_schedule_in_words(frequency, expected):
    text = describe(frequency)

    assert text == expected


# Building a Frequency


PASS_TIMES = {"AM": time(8), "Noon": time(12), "PM": time(17), "HS": time(21)}


def test_resolves_pass_names_and_clock_times():
    administration_times = ["HS", "AM", "13:30", "8:00", "noon"]

    result = resolve_times(administration_times=administration_times, pass_times=PASS_TIMES)

    assert result == (time(8), time(12), time(13, 30), time(21))


def test_names_an_unknown_pass_time():
    administration_times = ["AM", "Bedtime"]

    with pytest.raises(ValueError, match=r"Unknown pass time 'Bedtime'.*AM, HS, Noon, PM"):
        resolve_times(administration_times=administration_times, pass_times=PASS_TIMES)


@pytest.mark.parametrize("bad", ["25:00", "08:60", "0800", "8.30", "08:00:00"])
def test_names_a_bad_clock_time(bad):
    administration_times = [bad]

    with pytest.raises(ValueError, match=f"'{bad}' is not a valid 24-hour HH:MM time"):
        resolve_times(administration_times=administration_times, pass_times=PASS_TIMES)


def test_builds_a_frequency_from_an_order_like_object():
    order = SimpleNamespace(
        frequency="days_of_week",
        administration_times=["PM", "AM"],
        days_of_week=[5, 1, 3],
        days_of_month=[],
        interval=None,
    )

    frequency = Frequency.from_order(order, pass_times=PASS_TIMES)

    assert frequency == Frequency(
        kind=FrequencyKind.DAYS_OF_WEEK, times=(time(8), time(17)), days_of_week=(1, 3, 5)
    )
    assert describe(frequency) == "Mon, Wed, Fri at 08:00, 17:00"


def test_builds_an_interval_frequency_from_an_order_like_object():
    order = SimpleNamespace(
        frequency="every_n_hours",
        administration_times=[],
        days_of_week=[],
        days_of_month=[],
        interval=6,
    )

    frequency = Frequency.from_order(order, pass_times=PASS_TIMES)

    assert frequency == Frequency(kind=FrequencyKind.EVERY_N_HOURS, interval=6)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "every_n_hours", "interval": 0}, "interval N of at least 1"),
        ({"kind": "every_n_days", "times": (time(8),), "interval": -2}, "interval N of at least 1"),
        ({"kind": "every_n_days", "times": (time(8),)}, "interval N of at least 1"),
        ({"kind": "days_of_week", "times": (time(8),), "days_of_week": (8,)}, "Day of week 8"),
        ({"kind": "days_of_week", "times": (time(8),), "days_of_week": (0,)}, "Day of week 0"),
        ({"kind": "days_of_week", "times": (time(8),)}, "at least one day of the week"),
        ({"kind": "monthly", "times": (time(8),), "days_of_month": (32,)}, "Day of month 32"),
        ({"kind": "monthly", "times": (time(8),), "days_of_month": (0,)}, "Day of month 0"),
        ({"kind": "times_of_day"}, "at least one administration time"),
        ({"kind": "every_n_hours", "interval": 4, "times": (time(8),)}, "no administration"),
        ({"kind": "weekly"}, "Unknown frequency 'weekly'"),
    ],
)
def test_refuses_an_impossible_frequency(fields, message):
    with pytest.raises(ValueError, match=message):
        Frequency(**fields)


def test_refuses_naive_datetimes():
    naive = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)

    with pytest.raises(ValueError, match="range_start must be timezone-aware"):
        schedule(daily(time(8)), zone=CHICAGO, range_start=naive, range_end=utc(2026, 1, 2))
    with pytest.raises(ValueError, match="scheduled_at must be timezone-aware"):
        window_for(scheduled_at=naive, minutes=30)


def test_refuses_an_order_that_ends_before_it_starts():
    starts_at = utc(2026, 1, 2)

    with pytest.raises(ValueError, match="ends"):
        schedule(
            daily(time(8)),
            zone=CHICAGO,
            starts_at=starts_at,
            ends_at=starts_at - timedelta(hours=1),
            range_start=utc(2026, 1, 1),
            range_end=utc(2026, 1, 5),
        )


# Properties, checked against a slow oracle

ALL_ZONES = sorted(available_timezones())
# Zones with DST in the years given: half-hour and two-hour DST, negative DST (Dublin),
# changes at midnight (Havana, Beirut, Asuncion; Sao Paulo fell back into the previous
# date until 2019) and the day Samoa skipped (2011-12-30 in Pacific/Apia).
DST_ZONES = {
    "Africa/Cairo": (2023, 2098),
    "America/Asuncion": (2000, 2023),
    "America/Chicago": (2000, 2098),
    "America/Havana": (2000, 2098),
    "America/New_York": (2000, 2098),
    "America/Santiago": (2000, 2098),
    "America/Sao_Paulo": (2000, 2018),
    "Antarctica/Troll": (2005, 2098),
    "Asia/Beirut": (2000, 2098),
    "Asia/Tehran": (2000, 2021),
    "Australia/Lord_Howe": (2000, 2098),
    "Australia/Sydney": (2000, 2098),
    "Europe/Dublin": (2000, 2098),
    "Europe/London": (2000, 2098),
    "Pacific/Apia": (2010, 2020),
}
BASE = datetime(2000, 1, 1, tzinfo=UTC)
MINUTES_TO_2099 = int((datetime(2099, 10, 1, tzinfo=UTC) - BASE) / timedelta(minutes=1))
TRICKY_TIMES = [time(h, m) for h in (0, 1, 2, 3, 23) for m in (0, 15, 30, 45)]
DAY = 24 * 60  # in minutes

clock_times = st.one_of(
    st.sampled_from(TRICKY_TIMES),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)


@st.composite
def frequencies(draw, kinds=tuple(FrequencyKind)):
    kind = draw(st.sampled_from(kinds))
    times = tuple(draw(st.lists(clock_times, min_size=1, max_size=4)))
    match kind:
        case FrequencyKind.TIMES_OF_DAY:
            return Frequency(kind=kind, times=times)
        case FrequencyKind.DAYS_OF_WEEK:
            weekdays = draw(st.lists(st.integers(1, 7), min_size=1, max_size=7))
            return Frequency(kind=kind, times=times, days_of_week=tuple(weekdays))
        case FrequencyKind.EVERY_N_DAYS:
            return Frequency(kind=kind, times=times, interval=draw(st.integers(1, 10)))
        case FrequencyKind.MONTHLY:
            days = draw(
                st.lists(st.one_of(st.integers(1, 31), st.integers(28, 31)), min_size=1, max_size=4)
            )
            return Frequency(kind=kind, times=times, days_of_month=tuple(days))
        case FrequencyKind.EVERY_N_HOURS:
            return Frequency(kind=kind, interval=draw(st.integers(1, 168)))
        case _:
            return Frequency(kind=kind)


def order_span(draw, range_start, zone):
    """starts_at and ends_at for an order around range_start. starts_at is sometimes
    written in the facility's zone, to show the input zone does not matter."""
    starts_at = range_start + timedelta(
        minutes=draw(st.one_of(st.integers(-120 * DAY, 0), st.integers(-120 * DAY, 30 * DAY)))
    )
    ends_at = draw(
        st.one_of(
            st.none(),
            st.integers(1, 200 * DAY).map(lambda m: starts_at + timedelta(minutes=m)),
        )
    )
    if draw(st.booleans()):
        starts_at = starts_at.astimezone(zone)
    return starts_at, ends_at


@st.composite
def orders_and_ranges(draw, zone_names):
    """(frequency, starts_at, ends_at, zone, range_start, range_end) anywhere in 2000-2099."""
    zone = ZoneInfo(draw(zone_names))
    range_start = BASE + timedelta(minutes=draw(st.integers(0, MINUTES_TO_2099)))
    range_end = range_start + timedelta(minutes=draw(st.integers(0, 60 * DAY)))
    starts_at, ends_at = order_span(draw, range_start, zone)
    return draw(frequencies()), starts_at, ends_at, zone, range_start, range_end


def next_offset_change(instant: datetime, zone: ZoneInfo) -> datetime | None:
    """The first minute after ``instant`` (within about three years) with a new UTC offset.

    Havana, for one, kept summer time from 2004 to 2006."""
    offset = instant.astimezone(zone).utcoffset()
    probe = instant.replace(second=0, microsecond=0)
    for step, limit in (
        (timedelta(days=1), 1200),
        (timedelta(hours=1), 25),
        (timedelta(minutes=1), 61),
    ):
        for _ in range(limit):
            if (probe + step).astimezone(zone).utcoffset() != offset:
                break
            probe += step
        else:
            return None
    return probe + timedelta(minutes=1)


@st.composite
def dst_changes(draw):
    """(zone, the UTC instant of one of its offset changes)."""
    name = draw(st.sampled_from(sorted(DST_ZONES)))
    first_year, last_year = DST_ZONES[name]
    zone = ZoneInfo(name)
    year = draw(st.integers(first_year, last_year))
    searched_from = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 365)))
    change = next_offset_change(searched_from, zone)
    assert change is not None, f"{name} has no offset change in the year after {searched_from}"
    return zone, change


@st.composite
def orders_around_dst_changes(draw):
    """An order and a range that span an offset change, with one of the order's times
    just before, inside or after the gap (spring forward) or the repeated hour (fall
    back), and the day of the change among its days."""
    zone, change = draw(dst_changes())
    range_start = change - timedelta(minutes=draw(st.integers(0, 4 * DAY)))
    range_end = change + timedelta(minutes=draw(st.integers(0, 20 * DAY)))
    starts_at, ends_at = order_span(draw, range_start, zone)
    frequency = draw(frequencies())
    if frequency.kind in (FrequencyKind.EVERY_N_HOURS, FrequencyKind.PRN):
        return frequency, starts_at, ends_at, zone, range_start, range_end
    last_wall_clock = (change - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
    minutes_after = draw(st.one_of(st.integers(1, 60), st.integers(-30, 150)))
    near_change = last_wall_clock + timedelta(minutes=minutes_after)
    frequency = replace(frequency, times=(*frequency.times, near_change.time()))
    if frequency.kind == FrequencyKind.DAYS_OF_WEEK:
        weekdays = (*frequency.days_of_week, near_change.isoweekday())
        frequency = replace(frequency, days_of_week=weekdays)
    if frequency.kind == FrequencyKind.MONTHLY:
        frequency = replace(frequency, days_of_month=(*frequency.days_of_month, near_change.day))
    return frequency, starts_at, ends_at, zone, range_start, range_end


def first_valid_minute(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The oracle for one wall-clock time: the time itself (first occurrence) if it
    exists that day, else the first minute after it that does, found minute by minute."""
    naive = datetime.combine(day, clock)
    for minutes in range(48 * 60):
        candidate = naive + timedelta(minutes=minutes)
        aware = candidate.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == candidate:
            if minutes:
                event("a wall-clock time fell in a DST gap")
            return aware.astimezone(UTC)
    raise AssertionError(f"no valid minute within two days after {naive} in {zone}")


def is_given_on(frequency: Frequency, day: date, start_day: date) -> bool:
    match frequency.kind:
        case FrequencyKind.DAYS_OF_WEEK:
            return day.isoweekday() in frequency.days_of_week
        case FrequencyKind.EVERY_N_DAYS:
            return day >= start_day and (day - start_day).days % frequency.interval == 0
        case FrequencyKind.MONTHLY:
            last_day = calendar.monthrange(day.year, day.month)[1]
            return day.day in frequency.days_of_month or (
                day.day == last_day and max(frequency.days_of_month) > last_day
            )
        case _:
            return True


def oracle(frequency, starts_at, ends_at, zone, range_start, range_end) -> list[datetime]:
    """Slow and simple: every allowed local date from well before the range to well
    after it, every time resolved minute by minute, then filtered."""
    lo = max(starts_at, range_start)
    hi = range_end if ends_at is None else min(ends_at, range_end)
    if frequency.kind == FrequencyKind.PRN or lo >= hi:
        return []
    if frequency.kind == FrequencyKind.EVERY_N_HOURS:
        step = timedelta(hours=frequency.interval)
        instants = []
        instant = starts_at.astimezone(UTC)
        while instant < hi:
            if instant >= lo:
                instants.append(instant)
            instant += step
        return instants
    start_day = starts_at.astimezone(zone).date()
    day = lo.astimezone(zone).date() - timedelta(days=3)
    last_day = hi.astimezone(zone).date() + timedelta(days=3)
    found = set()
    while day <= last_day:
        if is_given_on(frequency, day, start_day):
            for clock in frequency.times:
                instant = first_valid_minute(day, clock, zone)
                if lo <= instant < hi:
                    found.add(instant)
        day += timedelta(days=1)
    return sorted(found)


def assert_schedule_rules(result, frequency, starts_at, ends_at, range_start, range_end):
    assert all(r.tzinfo is UTC for r in result)
    assert all(a < b for a, b in pairwise(result))
    assert all(max(starts_at, range_start) <= r < range_end for r in result)
    assert ends_at is None or all(r < ends_at for r in result)
    if frequency.kind == FrequencyKind.EVERY_N_HOURS:
        step = timedelta(hours=frequency.interval)
        assert all(b - a == step for a, b in pairwise(result))
        assert all((r - starts_at) % step == timedelta(0) for r in result)
    if frequency.kind == FrequencyKind.PRN:
        assert result == []


@settings(max_examples=200, deadline=None)
@given(case=orders_and_ranges(st.sampled_from(ALL_ZONES)))
def test_schedules_exactly_what_the_oracle_does_in_any_zone(case):
    frequency, starts_at, ends_at, zone, range_start, range_end = case

    result = scheduled_times(
        frequency=frequency,
        starts_at=starts_at,
        ends_at=ends_at,
        zone=zone,
        range_start=range_start,
        range_end=range_end,
    )

    assert_schedule_rules(result, frequency, starts_at, ends_at, range_start, range_end)
    assert result == oracle(frequency, starts_at, ends_at, zone, range_start, range_end)


@settings(max_examples=200, deadline=None)
@given(case=orders_around_dst_changes())
def test_schedules_exactly_what_the_oracle_does_around_dst_changes(case):
    frequency, starts_at, ends_at, zone, range_start, range_end = case

    result = scheduled_times(
        frequency=frequency,
        starts_at=starts_at,
        ends_at=ends_at,
        zone=zone,
        range_start=range_start,
        range_end=range_end,
    )

    assert_schedule_rules(result, frequency, starts_at, ends_at, range_start, range_end)
    assert result == oracle(frequency, starts_at, ends_at, zone, range_start, range_end)


@settings(max_examples=60, deadline=None)
@given(case=orders_around_dst_changes(), split=st.floats(0, 1))
def test_lists_the_same_doses_whichever_way_a_range_is_split(case, split):
    frequency, starts_at, ends_at, zone, range_start, range_end = case
    split_at = range_start + (range_end - range_start) * split
    arguments = {"frequency": frequency, "starts_at": starts_at, "ends_at": ends_at, "zone": zone}

    whole = scheduled_times(**arguments, range_start=range_start, range_end=range_end)
    first = scheduled_times(**arguments, range_start=range_start, range_end=split_at)
    rest = scheduled_times(**arguments, range_start=split_at, range_end=range_end)

    assert first + rest == whole


@settings(max_examples=150, deadline=None)
@given(change=dst_changes(), minutes=st.one_of(st.integers(1, 60), st.integers(-90, 150)))
def test_resolves_a_wall_clock_time_like_the_minute_by_minute_oracle(change, minutes):
    zone, changed_at = change
    wall_clock_time = (changed_at - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
    wall_clock_time += timedelta(minutes=minutes)
    day, clock = wall_clock_time.date(), wall_clock_time.time()
    expected = first_valid_minute(day, clock, zone)

    result = local_to_utc(day=day, clock=clock, zone=zone)

    assert result == expected
