import datetime as dt

import pytest
from django.urls import reverse

from staff.models import User
from tests import clock
from tests.factories import CertificationFactory, FacilityFactory, UserFactory, api_token


@pytest.fixture
def place(db):
    class Place:
        facility = FacilityFactory(name="Maple Grove")
        elsewhere = FacilityFactory(name="Oak Hollow")
        admin = UserFactory(role="administrator", initials="AD", facility=facility)
        nurse = UserFactory(role="nurse", initials="NU", facility=facility)
        tech = UserFactory(role="med_tech", initials="MT", facility=facility)
        stranger = UserFactory(role="med_tech", initials="ST", facility=elsewhere)

    return Place


def new_person(place, **overrides):
    return {
        "first_name": "Maria",
        "last_name": "Santos",
        "username": "msantos",
        "email": "",
        "role": "med_tech",
        "title": "CMA",
        "initials": "MS",
        "facilities": [place.facility.pk],
        "password": "a-long-first-password",
    } | overrides


def test_it_creates_a_person_and_shows_an_initials_clash_as_a_form_error(client, place):
    client.force_login(place.admin)

    created = client.post(reverse("staff_manage:new"), new_person(place))
    clash = client.post(reverse("staff_manage:new"), new_person(place, username="mstone"))

    person = User.objects.get(username="msantos")
    assert created.status_code == 302
    assert created["Location"] == reverse("staff_manage:detail", args=[person.public_id])
    assert clash.status_code == 400
    assert clash.context["form"].errors["initials"][0].startswith("MS are already Maria Santos")
    assert not User.objects.filter(username="mstone").exists()


def test_it_shows_the_staff_screens_to_administrators_only(client, place):
    for user in (place.nurse, place.tech):
        client.force_login(user)
        assert client.get(reverse("staff_manage:list")).status_code == 403
        assert client.get(reverse("staff_manage:expiring")).status_code == 403
        response = client.post(reverse("staff_manage:new"), new_person(place))
        assert response.status_code == 403
    assert not User.objects.filter(username="msantos").exists()


def test_it_answers_404_for_someone_of_another_community(client, place):
    client.force_login(place.admin)

    detail = client.get(reverse("staff_manage:detail", args=[place.stranger.public_id]))
    deactivate = client.post(
        reverse("staff_manage:deactivate", args=[place.stranger.public_id]),
        {"reason": "x", "confirm": "on"},
    )

    assert (detail.status_code, deactivate.status_code) == (404, 404)
    place.stranger.refresh_from_db()
    assert place.stranger.is_active


def test_it_lists_expired_and_soon_expiring_certifications_and_who_cannot_chart(client, place):
    today = clock.today()
    CertificationFactory(user=place.tech, expires_on=today - dt.timedelta(days=1))
    CertificationFactory(user=place.nurse, kind="cpr", expires_on=today + dt.timedelta(days=20))
    CertificationFactory(
        user=place.nurse, kind="nurse_license", expires_on=today + dt.timedelta(days=300)
    )
    CertificationFactory(user=place.stranger, expires_on=today - dt.timedelta(days=3))
    client.force_login(place.admin)

    response = client.get(reverse("staff_manage:expiring"))

    rows = response.context["rows"]
    assert [(row.user, row.certification.kind) for row in rows] == [
        (place.tech, "medication_aide"),
        (place.nurse, "cpr"),
    ]
    assert rows[0].is_expired and rows[0].charting_refusal
    assert rows[1].days_left == 20 and rows[1].charting_refusal is None
    assert "Cannot chart" in response.content.decode()


def test_it_tells_a_med_tech_with_an_expired_certification_on_their_home_screen(client, place):
    CertificationFactory(user=place.tech, expires_on=clock.today() - dt.timedelta(days=1))
    client.force_login(place.tech)

    response = client.get(reverse("home"))

    assert "so you cannot chart until it is renewed" in response.content.decode()


def test_it_ends_the_sessions_and_tokens_of_a_deactivated_person(client, place):
    client.force_login(place.tech)
    token = api_token(place.tech)
    assert client.get(reverse("home")).status_code == 200
    admin = client.__class__()
    admin.force_login(place.admin)

    response = admin.post(
        reverse("staff_manage:deactivate", args=[place.tech.public_id]),
        {"reason": "Left", "confirm": "on"},
    )

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302  # back to sign-in
    api = client.__class__().get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}")
    assert api.status_code == 401
    place.tech.refresh_from_db()
    assert not place.tech.is_active


def test_it_asks_for_a_reason_before_deactivating(client, place):
    client.force_login(place.admin)

    response = client.post(
        reverse("staff_manage:deactivate", args=[place.tech.public_id]),
        {"reason": "", "confirm": ""},
    )

    assert response.status_code == 400
    place.tech.refresh_from_db()
    assert place.tech.is_active
