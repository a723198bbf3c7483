import pytest
from django.urls import reverse

from mar.services import administrations as charting
from mar.services import concerns
from residents.models import ConcernReport
from tests.factories import FacilityFactory, UserFactory
from tests.mar.conftest import NOW


@pytest.fixture
def report(community) -> ConcernReport:
    return concerns.concern_report(
        resident=community.resident,
        user=community.tech,
        kind=ConcernReport.Kind.CHANGE_OF_CONDITION,
        description="New confusion since breakfast, not her usual self",
        observed_at=NOW,
        now=NOW,
    )


def test_it_keeps_a_report_on_the_nurses_list_until_one_acknowledges_it(client, community, report):
    client.force_login(community.nurse)

    before = client.get(reverse("nurse:concerns"))
    client.post(
        reverse("nurse:concern_acknowledge", args=[report.public_id]),
        {"note": "Assessed; vitals normal; called Dr. Ortiz"},
    )
    after = client.get(reverse("nurse:concerns"))

    assert "New confusion since breakfast" in before.text
    assert 'class="dose-card dose-card-late concern-open"' in before.text
    assert "concern-open" not in after.text
    report.refresh_from_db()
    assert report.acknowledged_by == community.nurse


def test_it_refuses_an_acknowledgement_without_a_note(community, report):
    with pytest.raises(charting.ChartingInvalid, match="what you did"):
        concerns.concern_acknowledge(report=report, user=community.nurse, note=" ", now=NOW)


def test_it_lets_only_nurses_acknowledge(community, report):
    with pytest.raises(charting.ChartingNotPermitted, match="Only a nurse"):
        concerns.concern_acknowledge(report=report, user=community.tech, note="ok", now=NOW)


def test_it_answers_403_to_a_med_tech_opening_the_list(client, community):
    client.force_login(community.tech)

    response = client.get(reverse("nurse:concerns"))

    assert response.status_code == 403


def test_it_hides_other_communities_reports(client, community, report):
    stranger = UserFactory(role="nurse", facility=FacilityFactory())
    client.force_login(stranger)

    listing = client.get(reverse("nurse:concerns"))
    acknowledge = client.post(
        reverse("nurse:concern_acknowledge", args=[report.public_id]), {"note": "x"}
    )

    assert "New confusion" not in listing.text
    assert acknowledge.status_code == 404
