"""Item 2 of the safety gates: a rule a nurse may override (a dose before its window, a
hold parameter crossed) stops the med tech, and a nurse overrides that one dose with a
reason, at the tablet with their PIN or from their own device. The override is part of
the record: who, when, why."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from mar.models import Administration, DoseOverride, Notification
from tests.api.conftest import client_for
from tests.factories import DEMO_PASSWORD
from tests.gates.conftest import AT, WAYS, due, stocked

EARLY = dt.timedelta(minutes=90)  # 06:00: the 08:00 dose's window opens at 07:00


@pytest.fixture
def later_dose(community):
    """The 08:00 dose, charted at 06:00."""
    order = stocked(community)
    return due(order)


@pytest.mark.parametrize("way", WAYS)
def test_a_dose_before_its_window_is_refused_without_an_override(ways, later_dose, way):
    answer = ways.chart(way, dose=later_dose, at=AT - EARLY, note="Given before breakfast")

    assert answer.status == 422
    assert "window opens at 07:00" in answer.text
    assert "nurse's override" in answer.text
    assert not Administration.objects.exists()


@pytest.mark.parametrize("way", ["page", "api"])
def test_a_nurse_at_the_tablet_overrides_with_their_pin_and_a_reason(
    ways, community, later_dose, way
):
    answer = ways.chart(
        way,
        dose=later_dose,
        at=AT - EARLY,
        note="Given before breakfast",
        override_by=community.nurse.pk if way == "page" else str(community.nurse.public_id),
        override_secret=DEMO_PASSWORD,
        override_reason="Leaving for dialysis at 06:30",
    )

    record = Administration.objects.select_related("override__granted_by").get()
    assert answer.recorded
    assert record.override.granted_by == community.nurse
    assert record.override.requested_by == community.tech
    assert record.override.reason == "Leaving for dialysis at 06:30"
    assert record.override.granted_at == AT
    assert "window opens at 07:00" in record.override.stopped_by
    assert record.override_reason.endswith(f"(override by {community.nurse.signature_name})")


@pytest.mark.parametrize("way", ["page", "api"])
def test_a_wrong_pin_or_a_reason_of_a_dot_overrides_nothing(ways, community, later_dose, way):
    nurse = community.nurse.pk if way == "page" else str(community.nurse.public_id)

    wrong_pin = ways.chart(
        way,
        dose=later_dose,
        at=AT - EARLY,
        note="Early",
        override_by=nurse,
        override_secret="not-her-password",
        override_reason="Leaving for dialysis",
    )
    dot = ways.chart(
        way,
        dose=later_dose,
        at=AT - EARLY,
        note="Early",
        override_by=nurse,
        override_secret=DEMO_PASSWORD,
        override_reason=".",
    )

    assert wrong_pin.status == dot.status == 400
    assert "password" in wrong_pin.text
    assert "Say in a few words why" in dot.text
    assert not Administration.objects.exists()
    assert not DoseOverride.objects.exists()


@pytest.mark.parametrize("way", ["page", "api"])
def test_a_med_tech_cannot_override_for_themselves(ways, community, later_dose, way):
    answer = ways.chart(
        way, dose=later_dose, at=AT - EARLY, note="Early", override_reason="I know best, really"
    )

    assert answer.status == 403
    assert "cannot override" in answer.text
    assert not Administration.objects.exists()


def test_the_tech_asks_and_the_nurses_hear_of_it_with_a_link_to_the_dose(
    client, community, later_dose
):
    client.force_login(community.tech)

    response = client.post(
        reverse("mar:override_ask"),
        {"dose": str(later_dose.public_id), "what_stopped": "This dose's window opens at 07:00."},
    )

    asked = Notification.objects.get(recipient=community.nurse)
    assert response.status_code == 302
    assert asked.kind == Notification.Kind.OVERRIDE_REQUESTED
    assert asked.link == reverse("mar:override_dose", args=[later_dose.public_id])
    assert "window opens at 07:00" in asked.body


@pytest.mark.parametrize("where", ["page", "api"])
def test_a_nurse_overrides_from_her_own_device_and_the_tech_then_charts_it(
    ways, community, later_dose, where
):
    if where == "page":
        nurse = Client()
        nurse.force_login(community.nurse)
        granted = nurse.post(
            reverse("mar:override_dose", args=[later_dose.public_id]),
            {"reason": "Leaving for dialysis at 06:30"},
        )
    else:
        granted = client_for(community.nurse).post(
            "/api/v1/overrides/",
            {"scheduled_dose": str(later_dose.public_id), "reason": "Leaving for dialysis"},
            format="json",
        )

    answer = ways.chart("api", dose=later_dose, at=AT - EARLY, note="Given before breakfast")

    record = Administration.objects.select_related("override").get()
    assert granted.status_code in (201, 302)
    assert answer.status == 201
    assert record.override.granted_by == community.nurse
    assert record.override.requested_by is None


def test_an_override_from_another_device_lapses_after_an_hour(ways, community, clock):
    noon = due_at_noon(community)
    nurse = Client()
    nurse.force_login(community.nurse)
    nurse.post(reverse("mar:override_dose", args=[noon.public_id]), {"reason": "Lunch out"})
    clock.shift(dt.timedelta(minutes=61))

    answer = ways.chart("api", dose=noon, at=AT + dt.timedelta(minutes=61))

    assert answer.status == 422
    assert "window opens at 10:00" in answer.text
    assert not Administration.objects.exists()


def test_an_override_serves_the_one_dose_it_was_given_for(ways, community):
    noon = due_at_noon(community)
    other = due_at_noon(community)
    nurse = Client()
    nurse.force_login(community.nurse)
    nurse.post(reverse("mar:override_dose", args=[noon.public_id]), {"reason": "Lunch out today"})

    first = ways.chart("api", dose=noon)
    second = ways.chart("api", dose=other)

    assert (first.status, second.status) == (201, 422)
    assert DoseOverride.objects.get().administration.scheduled_dose == noon


def due_at_noon(community):
    order = stocked(community, administration_times=["12:00"])
    return order.doses.order_by("scheduled_at").first()


def test_a_crossed_hold_parameter_is_overridden_by_a_nurse_and_the_readings_kept(ways, community):
    order = stocked(
        community,
        hold_parameters=[{"vital": "systolic", "comparator": "<", "limit": 100}],
    )
    readings = {"systolic": "96", "diastolic": "60"}

    stopped = ways.chart("page", dose=due(order), vitals=readings)
    answer = ways.chart(
        "page",
        dose=due(order),
        vitals=readings,
        override_by=community.nurse.pk,
        override_secret=DEMO_PASSWORD,
        override_reason="Usual pressure for her, prescriber aware",
    )

    assert answer.recorded, answer
    record = Administration.objects.get()
    assert stopped.status == 422
    assert "systolic 96 < 100: hold" in stopped.text
    assert answer.recorded
    assert record.status == "given"
    assert record.vitals == {"systolic": "96", "diastolic": "60"}
    assert "systolic 96 < 100" in record.override.stopped_by
