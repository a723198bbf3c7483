"""Automatic logoff (10 idle minutes, 12 hours at most), background polls that are not
activity, Cache-Control: no-store for signed-in answers, CSRF on page forms and htmx
requests, password rules and accounts that are not a person (real PostgreSQL and Redis)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

import medtech.settings as production
from staff import services
from staff.models import User
from staff.selectors import user_charting_refusal, user_signing_refusal
from tests.clock import NOW
from tests.factories import DEMO_PASSWORD, FacilityFactory, UserFactory

pytestmark = pytest.mark.django_db

POLL = {"HX-Request": "true", "X-Background-Request": "1"}


@pytest.fixture(autouse=True)
def production_logoff(settings):
    """The test settings turn the automatic logoff off; these tests use production's."""
    settings.SESSION_IDLE_TIMEOUT = production.SESSION_IDLE_TIMEOUT
    settings.SESSION_ABSOLUTE_TIMEOUT = production.SESSION_ABSOLUTE_TIMEOUT


@pytest.fixture
def community():
    return FacilityFactory(name="Maple Grove Assisted Living")


@pytest.fixture
def rosa(community):
    return UserFactory(username="rosa", first_name="Rosa", last_name="Alvarez", facility=community)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


# --- Automatic logoff -----------------------------------------------------------------------


def test_ten_idle_minutes_sign_the_session_out(client, clock, rosa):
    client.force_login(rosa)
    assert client.get("/").status_code == 200

    clock.shift(dt.timedelta(minutes=9, seconds=59))
    before = client.get("/")
    clock.shift(dt.timedelta(minutes=10))
    after = client.get("/")

    assert before.status_code == 200
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("staff:lock"))
    assert not signed_in(client)


def test_after_an_idle_logoff_the_next_page_says_why(client, clock, rosa):
    client.force_login(rosa)
    clock.shift(dt.timedelta(minutes=11))

    response = client.get("/", follow=True)

    assert "signed out after 10 minutes without activity" in response.text


def test_the_notification_poll_does_not_count_as_activity(client, clock, rosa):
    client.force_login(rosa)
    client.get("/")
    for _ in range(19):  # every 30 seconds for 9.5 minutes
        clock.shift(dt.timedelta(seconds=30))
        assert client.get(reverse("mar:notification_bell"), headers=POLL).status_code == 200

    clock.shift(dt.timedelta(seconds=31))
    response = client.get("/")

    assert response.status_code == 302
    assert not signed_in(client)


def test_a_poll_of_an_idle_session_shows_the_lock_instead_of_the_login_page(client, clock, rosa):
    client.force_login(rosa)
    clock.shift(dt.timedelta(minutes=10))

    response = client.get(reverse("mar:notification_bell"), headers=POLL)

    assert response.status_code == 403
    assert response["HX-Trigger"] == "locked"
    assert not signed_in(client)


def test_what_the_person_does_keeps_the_session(client, clock, rosa):
    client.force_login(rosa)
    for _ in range(6):
        clock.shift(dt.timedelta(minutes=9))
        assert client.get("/").status_code == 200

    assert signed_in(client)


def test_twelve_hours_after_sign_in_the_session_ends_however_busy(client, clock, rosa):
    client.force_login(rosa)
    answers = []
    for _ in range(79):  # a page every 9 minutes, for 11 h 51 min
        clock.shift(dt.timedelta(minutes=9))
        answers.append(client.get("/").status_code)
    clock.shift(dt.timedelta(minutes=9))
    last = client.get("/")

    assert set(answers) == {200}
    assert last.status_code == 302
    assert last["Location"].startswith(reverse("login"))
    assert not signed_in(client)


def test_production_signs_out_after_ten_idle_minutes_and_twelve_hours():
    cookie_age, idle = production.SESSION_COOKIE_AGE, production.SESSION_IDLE_TIMEOUT

    assert dt.timedelta(seconds=cookie_age) == dt.timedelta(hours=12)
    assert idle == dt.timedelta(minutes=10)


def test_deactivating_a_user_ends_their_session_and_token_at_once(client, rosa):
    client.force_login(rosa)
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "rosa", "password": DEMO_PASSWORD},
        content_type="application/json",
    ).json()["token"]

    rosa.is_active = False
    rosa.save(update_fields=["is_active"])
    page = client.get("/")
    api = Client().get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}")

    assert page.status_code == 302
    assert page["Location"].startswith(reverse("login"))
    assert api.status_code == 401


# --- Cache-Control --------------------------------------------------------------------------


def test_every_signed_in_answer_is_no_store(client, rosa, community):
    client.force_login(rosa)

    answers = {
        "home": client.get("/"),
        "pin page": client.get(reverse("staff:pin")),
        "api": client.get("/api/v1/residents/"),
        "htmx partial": client.get(reverse("mar:notification_bell"), headers=POLL),
        "not found": client.get("/no-such-page/"),
    }

    for name, response in answers.items():
        assert "no-store" in response["Cache-Control"], name


# --- CSRF -----------------------------------------------------------------------------------


def test_a_page_form_without_the_csrf_token_is_refused(rosa):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rosa)
    browser.get("/")
    token = browser.cookies["csrftoken"].value

    without = browser.post(reverse("staff:lock"), {"next": "/"})
    with_token = browser.post(reverse("staff:lock"), {"next": "/", "csrfmiddlewaretoken": token})

    assert without.status_code == 403
    assert with_token.status_code == 302


def test_an_htmx_post_without_the_csrf_header_is_refused(rosa):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rosa)
    page = browser.get("/")
    token = browser.cookies["csrftoken"].value
    url = reverse("mar:dose_chart", args=[uuid.uuid4()])

    without = browser.post(url, {"status": "given"}, headers={"HX-Request": "true"})
    with_token = browser.post(
        url, {"status": "given"}, headers={"HX-Request": "true", "X-CSRFToken": token}
    )

    assert 'hx-headers=\'{"X-CSRFToken": "' in page.text  # base.html sends it on every request
    assert without.status_code == 403
    assert with_token.status_code == 404  # past CSRF: no such dose


# --- Passwords and accounts that are not a person -------------------------------------------


def test_staff_passwords_need_twelve_characters_and_not_a_common_one(rosa):
    with pytest.raises(ValidationError):
        validate_password("short-pw1", user=rosa)
    with pytest.raises(ValidationError):
        validate_password("password1234", user=rosa)

    validate_password("cart-blue-harbor-91", user=rosa)


def test_a_new_account_cannot_take_a_generic_username(community):
    account = User(username="Nurse", initials="NU", password="x")

    with pytest.raises(ValidationError) as error:
        account.full_clean()

    assert "username" in error.value.message_dict


def test_the_database_refuses_a_generic_username_not_marked_shared(community):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="admin", initials="AD")

    shared = User.objects.create(username="tablet", initials="TB", is_shared_account=True)
    assert shared.pk is not None


def test_a_shared_account_can_neither_chart_nor_sign(community):
    shared = UserFactory(username="cart", initials="CT", is_shared_account=True, facility=community)
    services.user_set_pin(user=shared, pin="482613", password=DEMO_PASSWORD)

    charting = user_charting_refusal(user=shared, facility_id=community.pk, today=NOW.date())
    with pytest.raises(services.SigningNotAllowed):
        services.user_signature_verify(user=shared, secret="482613", now=NOW)
    with pytest.raises(services.SigningNotAllowed):
        services.user_signature_verify(user=shared, secret=DEMO_PASSWORD, now=NOW)

    assert "shared account" in charting
    assert user_signing_refusal(user=shared) == charting


def test_a_person_signs_with_their_pin_or_password(rosa):
    services.user_set_pin(user=rosa, pin="482613", password=DEMO_PASSWORD)

    services.user_signature_verify(user=rosa, secret="482613", now=NOW)
    services.user_signature_verify(user=rosa, secret=DEMO_PASSWORD, now=NOW)
    with pytest.raises(services.PinIncorrect):
        services.user_signature_verify(user=rosa, secret="not-her-password", now=NOW)


def test_wrong_passwords_for_a_signature_pause_signing_too(rosa):
    for _ in range(4):
        with pytest.raises(services.PinIncorrect):
            services.user_signature_verify(user=rosa, secret="guess-again", now=NOW)

    with pytest.raises(services.PinLockedOut):
        services.user_signature_verify(user=rosa, secret="guess-again", now=NOW)
    with pytest.raises(services.PinLockedOut):
        services.user_signature_verify(user=rosa, secret=DEMO_PASSWORD, now=NOW)
