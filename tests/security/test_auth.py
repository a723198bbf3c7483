"""Signing in: Argon2, the lockout after 5 failed sign-ins per username and address (the
password page, the API token and the tablet PIN alike), its audit, and PINs that are never
stored or logged (real PostgreSQL and Redis)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import identify_hasher
from django.test import Client, override_settings
from django.urls import reverse

import medtech.settings as production
from medtech.models import AuditEvent
from staff import services
from tests.factories import DEMO_PASSWORD, FacilityFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PIN = "258031"
WRONG_PIN = "917463"
OTHER_ADDRESS = "203.0.113.9"


@pytest.fixture
def community():
    return FacilityFactory(name="Maple Grove Assisted Living")


@pytest.fixture
def rosa(community):
    user = UserFactory(username="rosa", first_name="Rosa", last_name="Alvarez", facility=community)
    services.user_set_pin(user=user, pin=PIN, password=DEMO_PASSWORD)
    return user


@pytest.fixture
def sam(community):
    return UserFactory(username="sam", first_name="Sam", last_name="Okafor", facility=community)


def sign_in(client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def ask_token(client, username: str, password: str, **extra):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password},
        content_type="application/json",
        **extra,
    )


def unlock(client, user, pin: str):
    return client.post(
        reverse("staff:unlock"),
        {"user": str(user.public_id), "pin": pin, "next": "/"},
        headers={"Accept": "application/json"},
    )


def remember_on_tablet(client, user) -> None:
    """Sign in with the password (the tablet remembers them), then lock the session."""
    assert sign_in(client, user.username, DEMO_PASSWORD).status_code == 302
    assert client.post(reverse("staff:lock"), {"next": "/"}).status_code == 302


# --- Password hashing -----------------------------------------------------------------------


def test_production_settings_hash_with_argon2_first():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_pin_is_hashed_like_a_password_with_argon2_in_production(rosa):
    # The test settings' MD5 stays last, to check the password the factory set with it.
    hashers = [*production.PASSWORD_HASHERS, "django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=hashers):
        services.user_set_pin(user=rosa, pin="482613", password=DEMO_PASSWORD)
        rosa.refresh_from_db()

        assert identify_hasher(rosa.pin_hash).algorithm == "argon2"
        assert "482613" not in rosa.pin_hash
        assert services.user_check_pin(user=rosa, pin="482613")


# --- The password page ----------------------------------------------------------------------


def test_five_wrong_passwords_pause_that_username_from_that_address(client, clock, rosa):
    answers = [sign_in(client, "rosa", "not-her-password") for _ in range(5)]
    right_password_now = sign_in(client, "rosa", DEMO_PASSWORD)

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert right_password_now.status_code == 429
    assert "Too many failed sign-ins" in right_password_now.text
    assert "paused for 15 minutes" in right_password_now.text
    assert SESSION_KEY not in client.session


def test_the_pause_is_per_username_and_address_not_per_address(client, clock, rosa, sam):
    for _ in range(5):
        sign_in(client, "rosa", "not-her-password")

    colleague = sign_in(client, "sam", DEMO_PASSWORD)
    client.logout()
    elsewhere = sign_in(client, "rosa", DEMO_PASSWORD, REMOTE_ADDR=OTHER_ADDRESS)

    assert colleague.status_code == 302
    assert elsewhere.status_code == 302


def test_the_pause_ends_after_fifteen_minutes(client, clock, rosa):
    for _ in range(5):
        sign_in(client, "rosa", "not-her-password")

    clock.shift(dt.timedelta(minutes=14))
    still_paused = sign_in(client, "rosa", DEMO_PASSWORD)
    clock.shift(dt.timedelta(minutes=1, seconds=1))
    later = sign_in(client, "rosa", DEMO_PASSWORD)

    assert still_paused.status_code == 429
    assert later.status_code == 302


def test_a_right_password_clears_earlier_wrong_ones(client, clock, rosa):
    for _ in range(4):
        sign_in(client, "rosa", "not-her-password")
    assert sign_in(client, "rosa", DEMO_PASSWORD).status_code == 302
    client.logout()

    answers = [sign_in(client, "rosa", "not-her-password") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 200]


def test_behind_a_trusted_proxy_the_pause_is_per_client_address(client, clock, rosa):
    proxy = {"REMOTE_ADDR": "172.18.0.1"}
    with override_settings(TRUSTED_PROXY_COUNT=1):
        for _ in range(5):
            sign_in(client, "rosa", "x", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
        other_client = sign_in(
            client, "rosa", DEMO_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy
        )

    assert other_client.status_code == 302
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"


# --- The API token --------------------------------------------------------------------------


def test_a_paused_token_request_answers_429_json_never_400(client, clock, rosa):
    answers = [ask_token(client, "rosa", "not-her-password") for _ in range(5)]
    right_password_now = ask_token(client, "rosa", DEMO_PASSWORD)

    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert right_password_now.status_code == 429
    assert right_password_now["Content-Type"] == "application/json"
    assert "Too many failed sign-ins" in right_password_now.json()["detail"]
    assert 0 < int(right_password_now["Retry-After"]) <= 15 * 60
    assert "token" not in right_password_now.json()


def test_wrong_passwords_on_the_page_pause_the_api_too(client, clock, rosa):
    for _ in range(5):
        sign_in(client, "rosa", "not-her-password")

    response = ask_token(client, "rosa", DEMO_PASSWORD)

    assert response.status_code == 429


# --- The tablet PIN -------------------------------------------------------------------------


def test_five_wrong_pins_pause_the_pin_and_the_password_alike(client, clock, rosa):
    remember_on_tablet(client, rosa)

    answers = [unlock(client, rosa, WRONG_PIN) for _ in range(5)]
    right_pin_now = unlock(client, rosa, PIN)
    password_now = sign_in(client, "rosa", DEMO_PASSWORD)

    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert answers[0].json()["message"].startswith("Wrong PIN for Rosa Alvarez. 4 more tries")
    assert right_pin_now.status_code == 429
    assert right_pin_now.json()["error"] == "pin_locked_out"
    assert "Too many failed sign-ins for Rosa Alvarez" in right_pin_now.json()["message"]
    assert password_now.status_code == 429


def test_wrong_passwords_and_pins_add_up(client, clock, rosa):
    remember_on_tablet(client, rosa)
    for _ in range(3):
        sign_in(client, "rosa", "not-her-password")

    answers = [unlock(client, rosa, WRONG_PIN) for _ in range(2)]

    assert [a.status_code for a in answers] == [400, 429]


def test_a_right_pin_unlocks_and_clears_wrong_ones(client, clock, rosa):
    remember_on_tablet(client, rosa)
    for _ in range(4):
        unlock(client, rosa, WRONG_PIN)

    right = unlock(client, rosa, PIN)

    assert right.json()["result"] == "unlocked"
    assert not AccessAttempt.objects.filter(username="rosa").exists()


# --- Audit, and no PIN anywhere -------------------------------------------------------------


def test_failed_sign_ins_and_the_lockout_are_audited(client, clock, rosa):
    remember_on_tablet(client, rosa)
    sign_in(client, "rosa", "not-her-password")
    ask_token(Client(), "rosa", "not-her-password")  # a script, without the tablet's session
    for _ in range(3):
        unlock(client, rosa, WRONG_PIN)
    unlock(client, rosa, PIN)  # refused: paused

    events = list(
        AuditEvent.objects.filter(kind=AuditEvent.Kind.AUTH, action__contains="fail")
        .order_by("id")
        .values_list("action", "actor_username", "ip_address")
    ) + list(
        AuditEvent.objects.filter(action="auth.locked_out")
        .order_by("id")
        .values_list("action", "actor_username", "ip_address")
    )

    assert events == [
        ("auth.password_failed", "rosa", "127.0.0.1"),
        ("auth.password_failed", "rosa", "127.0.0.1"),
        ("auth.pin_failed", "rosa", "127.0.0.1"),
        ("auth.pin_failed", "rosa", "127.0.0.1"),
        ("auth.locked_out", "rosa", "127.0.0.1"),  # the 5th failure
        ("auth.locked_out", "rosa", "127.0.0.1"),  # the right PIN, refused while paused
    ]


def test_sign_ins_and_sign_outs_are_audited(client, clock, rosa):
    sign_in(client, "rosa", DEMO_PASSWORD)
    client.post(reverse("logout"))

    events = list(
        AuditEvent.objects.filter(kind=AuditEvent.Kind.AUTH)
        .order_by("id")
        .values_list("action", "actor", "ip_address")
    )

    assert events == [
        ("auth.signed_in", rosa.pk, "127.0.0.1"),
        ("auth.signed_out", rosa.pk, "127.0.0.1"),
    ]


def test_a_typed_pin_is_never_stored_or_logged(client, clock, rosa, caplog):
    remember_on_tablet(client, rosa)
    caplog.set_level(logging.DEBUG)

    for _ in range(5):
        unlock(client, rosa, WRONG_PIN)
    unlock(client, rosa, PIN)

    stored = [
        *AccessAttempt.objects.values_list("get_data", "post_data", "username"),
        *AccessLog.objects.values_list("username", "path_info"),
        *AuditEvent.objects.values_list("action", "reason", "before", "after", "view"),
    ]
    assert stored, "nothing was recorded at all"
    for secret in (WRONG_PIN, PIN):
        assert secret not in repr(stored)
        assert secret not in caplog.text


def test_the_admin_sign_in_is_paused_alike_with_the_message(client, clock, rosa):
    rosa.is_staff = True
    rosa.save(update_fields=["is_staff"])
    url = reverse("admin:login")

    answers = [
        client.post(url, {"username": "rosa", "password": "not-her-password"}) for _ in range(5)
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert "Too many failed sign-ins" in answers[-1].text
