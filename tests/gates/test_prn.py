"""Items 3 and 4 of the safety gates: a PRN attempt can end held (with its reason and
readings) and reaches the nurse; a PRN order's minimum interval and maximum per 24 hours
hold whatever the order in which doses are documented, amended times included."""

import datetime as dt

import pytest

from mar.models import Administration, FollowUp
from mar.prn import PrnLimits, prn_allowed_at, prn_stop
from mar.services import administrations as charting
from tests.gates.conftest import AT, WAYS, prn

HOUR = dt.timedelta(hours=1)
LIMITS = PrnLimits(min_interval=dt.timedelta(minutes=240), max_per_24h=3)


@pytest.mark.parametrize("way", WAYS)
def test_a_prn_held_for_a_crossed_hold_parameter_keeps_its_reason_and_readings(
    ways, community, way
):
    nitro = prn(
        community,
        indication="Chest pain",
        prn_min_interval_minutes=5,
        hold_parameters=[{"vital": "systolic", "comparator": "<", "limit": 90}],
    )
    readings = {"systolic": "85", "diastolic": "50"}

    given = ways.chart(way, order=nitro, prn_reason="Chest pain 7/10", vitals=readings)
    held = ways.chart(
        way,
        order=nitro,
        status="held",
        prn_reason="Chest pain 7/10",
        reason="systolic 85 < 90: hold",
        vitals=readings,
    )

    record = Administration.objects.get()
    assert given.status == 422
    assert "systolic 85 < 90: hold" in given.text
    assert held.recorded
    assert (record.status, record.prn_reason) == ("held", "Chest pain 7/10")
    assert record.vitals == {"systolic": "85", "diastolic": "50"}
    assert FollowUp.objects.filter(administration=record).exists()  # the nurse's list


@pytest.mark.parametrize("way", WAYS)
def test_the_24_hour_maximum_holds_when_doses_are_documented_newest_first(ways, community, way):
    order = prn(community, prn_min_interval_minutes=60)
    times = [AT - 1 * HOUR, AT - 3 * HOUR, AT - 5 * HOUR]
    for at in times:  # newest first, each a late entry with its note
        assert ways.chart(
            "api", order=order, at=at, prn_reason="Knee pain", note="Charted after"
        ).recorded

    fourth = ways.chart(way, order=order, at=AT - 7 * HOUR, prn_reason="Knee", note="After")

    assert fourth.status == 422
    assert "Too many: 3 doses within 24 hours" in fourth.text
    assert Administration.objects.count() == 3


@pytest.mark.parametrize("way", WAYS)
def test_a_late_entry_between_two_doses_keeps_the_minimum_interval_on_both_sides(
    ways, community, way
):
    order = prn(community)
    ways.chart("api", order=order, at=AT, prn_reason="Knee pain")
    ways.chart("api", order=order, at=AT - 6 * HOUR, prn_reason="Knee", note="After the fact")

    between = ways.chart(way, order=order, at=AT - 2 * HOUR, prn_reason="Knee", note="After")

    assert between.status == 422
    assert "Too soon" in between.text
    assert Administration.objects.count() == 2


@pytest.mark.parametrize("way", WAYS)
def test_a_dose_amended_to_an_earlier_time_counts_at_its_amended_time(ways, community, way):
    order = prn(community)
    first = ways.chart("api", order=order, at=AT - 5 * HOUR, prn_reason="Knee", note="After")
    record = Administration.objects.get()
    charting.administration_amend(
        administration=record,
        user=community.nurse,
        field="administered_at",
        new_value=(AT - HOUR).isoformat(),
        reason="Clock on the tablet was wrong",
        now=AT,
    )

    again = ways.chart(way, order=order, prn_reason="Knee pain")

    assert first.recorded
    assert again.status == 422
    assert "Too soon" in again.text
    assert "Allowed again at 10:30" in again.text  # 06:30 + 240 minutes


def test_an_amendment_that_breaks_the_interval_is_refused_and_changes_nothing(ways, community):
    order = prn(community)
    ways.chart("api", order=order, at=AT - 6 * HOUR, prn_reason="Knee", note="After")
    ways.chart("api", order=order, at=AT, prn_reason="Knee pain")
    earlier = Administration.objects.order_by("administered_at").first()

    with pytest.raises(charting.PrnLimitReached, match="would break the order's limits"):
        charting.administration_amend(
            administration=earlier,
            user=community.nurse,
            field="administered_at",
            new_value=(AT - HOUR).isoformat(),
            reason="Tablet clock",
            now=AT,
        )

    assert not earlier.amendments.exists()


@pytest.mark.parametrize(
    ("given_hours_ago", "at_hours_ago", "stopped"),
    [
        ([1, 3, 5], 7, "count"),  # documented newest first
        ([5, 3, 1], 0, "interval"),
        ([20, 15, 10], 0, "count"),  # the busiest day reaches back from now
        ([25, 15, 10], 0, None),  # the first fell out of the 24 hours
        ([6, 1], 2, "interval"),  # a late entry just before a recorded dose
    ],
)
def test_the_limits_do_not_depend_on_the_order_of_documentation(
    given_hours_ago, at_hours_ago, stopped
):
    given = [AT - h * HOUR for h in given_hours_ago]

    stop = prn_stop(
        given=given,
        at=AT - at_hours_ago * HOUR,
        limits=PrnLimits(min_interval=dt.timedelta(minutes=90), max_per_24h=3),
    )

    assert (stop.kind if stop else None) == stopped


def test_the_time_allowed_again_breaks_no_limit_and_is_the_first_such_time():
    given = [AT - 20 * HOUR, AT - 15 * HOUR, AT - 10 * HOUR]

    allowed = prn_allowed_at(given=given, now=AT, limits=LIMITS)

    assert allowed == AT + 4 * HOUR  # 24 hours after the first
    assert prn_stop(given=given, at=allowed, limits=LIMITS) is None
    assert prn_stop(given=given, at=allowed - dt.timedelta(minutes=1), limits=LIMITS)
