"""Items 5, 6 and 8 of the safety gates: the vitals a hold parameter names are required and
impossible readings refused; no dose given before its order began, in the future, or on
top of another dose of the same order; amendments bound like first charting."""

import datetime as dt

import pytest
from django.urls import reverse

from mar.models import Administration, Order
from mar.services import administrations as charting
from tests.gates.conftest import AT, WAYS, due, prn, stocked

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.mark.parametrize("way", WAYS)
def test_an_order_with_hold_parameters_needs_the_readings_they_name(ways, community, way):
    order = stocked(
        community,
        required_vitals=[],
        hold_parameters=[{"vital": "pulse", "comparator": "<", "limit": 60}],
    )

    answer = ways.chart(way, dose=due(order))

    assert answer.status == 400
    assert "needs vitals before it is given: Pulse (bpm)" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("readings", "said"),
    [
        ({"systolic": "101", "diastolic": "180"}, "diastolic must be lower than the systolic"),
        ({"systolic": "120"}, "needs both numbers"),
        ({"systolic": "120", "diastolic": "80", "pulse": "0"}, "outside"),
    ],
)
def test_impossible_readings_are_refused(ways, community, way, readings, said):
    order = stocked(community, required_vitals=["systolic", "diastolic", "pulse"])
    readings = {"diastolic": "80", "pulse": "72", **readings}
    if said == "needs both numbers":
        readings.pop("diastolic")

    answer = ways.chart(way, dose=due(order), vitals=readings)

    assert answer.status == 400
    assert said in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
def test_no_dose_is_charted_before_its_order_began(ways, community, way):
    order = stocked(community, starts_at=AT - 30 * MINUTE, administration_times=["07:00"])
    order.entered_at = order.verified_at = AT - 30 * MINUTE
    order.save()
    dose = order.doses.order_by("scheduled_at").first()  # today's 07:00

    answer = ways.chart(way, dose=dose, at=AT - 100 * MINUTE, note="Given early this morning")

    assert answer.status == 400
    assert "before this order began (Fri Nov 20 07:00)" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", WAYS)
def test_no_prn_dose_is_charted_before_the_order_existed(ways, community, way):
    order = prn(community, starts_at=AT - 2 * HOUR)
    Order.objects.filter(pk=order.pk).update(entered_at=AT - HOUR, verified_at=AT - HOUR)

    answer = ways.chart(
        way, order=order, at=AT - 90 * MINUTE, prn_reason="Knee pain", note="Given at 06:00"
    )

    assert answer.status == 400
    assert "before this order began (Fri Nov 20 06:30)" in answer.text


@pytest.mark.parametrize("way", WAYS)
def test_a_time_later_than_now_is_in_the_future(ways, community, way):
    order = stocked(community)

    answer = ways.chart(way, dose=due(order), at=AT + 45 * MINUTE)

    assert answer.status == 400
    assert "That time (Fri Nov 20 08:15) is in the future" in answer.text
    assert "late entry" not in answer.text


@pytest.mark.parametrize("way", WAYS)
def test_two_doses_of_an_hourly_order_cannot_both_be_given_in_one_minute(ways, community, way):
    order = stocked(
        community, frequency=Order.Frequency.EVERY_N_HOURS, interval=1, administration_times=[]
    )
    doses = list(order.doses.filter(window_start__lte=AT, window_end__gte=AT).order_by("id"))
    ways.chart("api", dose=doses[0])

    second = ways.chart(way, dose=doses[1])

    assert second.status == 422
    assert "was given at 07:30" in second.text
    assert Administration.objects.count() == 1


def test_the_evening_dose_cannot_follow_the_morning_dose_given_late_within_six_hours(
    ways, community
):
    order = stocked(community, administration_times=["08:00", "20:00"])
    morning = due(order)
    evening = order.doses.get(scheduled_at=morning.scheduled_at + 12 * HOUR)
    ways.chart("api", dose=morning)  # 07:30

    too_close = charting.dose_spacing_stop(dose=evening, administered_at=AT + 5 * HOUR)
    in_its_window = charting.dose_spacing_stop(dose=evening, administered_at=evening.window_start)

    assert isinstance(too_close, charting.TooClose)
    assert "given at 07:30; its doses are 12 hours apart" in str(too_close)
    assert in_its_window is None


def test_the_morning_dose_charted_in_the_evening_window_needs_an_override(community):
    order = stocked(community, administration_times=["08:00", "20:00"])
    morning = due(order)
    evening = order.doses.get(scheduled_at=morning.scheduled_at + 12 * HOUR)

    stop = charting.dose_spacing_stop(dose=morning, administered_at=evening.scheduled_at)

    assert isinstance(stop, charting.TooClose)
    assert "falls in the window of the 20:00 dose" in str(stop)


@pytest.mark.parametrize(
    ("new_time", "said"),
    [
        (dt.datetime(1900, 1, 1, tzinfo=dt.UTC), "before this order began"),
        (AT + 2 * HOUR, "in the future"),
    ],
)
def test_an_amended_time_is_bound_like_a_first_charting(ways, community, new_time, said):
    order = stocked(community)
    ways.chart("api", dose=due(order))
    record = Administration.objects.get()

    with pytest.raises(charting.ChartingInvalid, match=said):
        charting.administration_amend(
            administration=record,
            user=community.nurse,
            field="administered_at",
            new_value=new_time.isoformat(),
            reason="Correcting the time",
            now=AT,
        )

    assert not record.amendments.exists()


def test_an_amended_time_is_refused_through_the_api_too(community, ways):
    from tests.api.conftest import client_for

    order = stocked(community)
    ways.chart("api", dose=due(order))
    record = Administration.objects.get()

    response = client_for(community.nurse).post(
        f"/api/v1/administrations/{record.public_id}/amendments/",
        {"field": "administered_at", "new_value": "1900-01-01T00:00:00Z", "reason": "Typo"},
        format="json",
    )

    assert response.status_code == 400
    assert "before this order began" in response.json()["detail"]


def test_an_amended_time_is_refused_through_the_nurses_page_too(community, ways, client):
    order = stocked(community)
    ways.chart("api", dose=due(order))
    record = Administration.objects.get()
    client.force_login(community.nurse)

    response = client.post(
        reverse("nurse:administration_detail", args=[record.public_id]),
        {"field": "administered_at", "new_time": "1900-01-01T00:00", "reason": "Typo"},
    )

    assert response.status_code == 400
    assert "before this order began" in response.text
    assert not record.amendments.exists()
