"""The tablet PIN, the tablet's memory of who signed in, and the lock (real Postgres, Redis)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import identify_hasher
from django.core import signing
from django.urls import reverse

from staff import services
from staff.middleware import TABLET_COOKIE
from staff.models import User
from tests import clock
from tests.clock import NOW
from tests.factories import DEMO_PASSWORD, FacilityFactory, UserFactory

pytestmark = pytest.mark.django_db

ROSA_PIN = "258031"
SAM_PIN = "135792"


@pytest.fixture
def community():
    return FacilityFactory(name="Maple Grove Assisted Living")


@pytest.fixture
def rosa(community):
    user = UserFactory(
        username="rosa", first_name="Rosa", last_name="Alvarez", initials="RA", facility=community
    )
    services.user_set_pin(user=user, pin=ROSA_PIN, password=DEMO_PASSWORD)
    return user


@pytest.fixture
def sam(community):
    user = UserFactory(
        username="sam", first_name="Sam", last_name="Okafor", initials="SO", facility=community
    )
    services.user_set_pin(user=user, pin=SAM_PIN, password=DEMO_PASSWORD)
    return user


def sign_in(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, "the password sign-in failed"


def lock(client) -> None:
    response = client.post(reverse("staff:lock"), {"next": "/"})
    assert response.status_code == 302


def unlock(client, user, pin: str, *, json_answer: bool = False, next_url: str = "/"):
    headers = {"Accept": "application/json"} if json_answer else {}
    return client.post(
        reverse("staff:unlock"),
        {"user": str(user.public_id), "pin": pin, "next": next_url},
        headers=headers,
    )


def session_user_id(client) -> str | None:
    return client.session.get(SESSION_KEY)


def is_locked(client) -> bool:
    return services.SESSION_LOCKED_AT in client.session


# --- PIN rules and storage -----------------------------------------------------------------


@pytest.mark.parametrize("pin", ["258031", "1357924", "90817263", "112358", "019283"])
def test_it_accepts_pins_of_six_to_eight_digits(pin):
    services.pin_validate(pin=pin)


@pytest.mark.parametrize(
    "pin",
    ["", "258", "2580", "25803", "258031470", "25a031", "258 031", "२५८०३१", "-258031"],
)
def test_it_refuses_pins_that_are_not_six_to_eight_digits(pin):
    with pytest.raises(services.PinInvalid, match="6 to 8 digits"):
        services.pin_validate(pin=pin)


@pytest.mark.parametrize("pin", ["111111", "00000000", "9999999"])
def test_it_refuses_one_digit_repeated(pin):
    with pytest.raises(services.PinInvalid, match="one digit repeated"):
        services.pin_validate(pin=pin)


@pytest.mark.parametrize(
    "pin", ["123456", "12345678", "654321", "9876543", "345678", "789012", "098765"]
)
def test_it_refuses_a_run_of_digits(pin):
    with pytest.raises(services.PinInvalid, match="run of digits"):
        services.pin_validate(pin=pin)


def test_it_stores_a_hash_of_the_pin_and_checks_against_it(community):
    user = UserFactory(facility=community)

    services.user_set_pin(user=user, pin=ROSA_PIN, password=DEMO_PASSWORD)

    user.refresh_from_db()
    assert user.pin_hash
    assert ROSA_PIN not in user.pin_hash
    assert identify_hasher(user.pin_hash)  # a Django password hash, not the digits
    assert services.user_check_pin(user=user, pin=ROSA_PIN)
    assert not services.user_check_pin(user=user, pin="258032")


def test_it_refuses_to_set_a_pin_without_the_current_password(community):
    user = UserFactory(facility=community)

    with pytest.raises(services.CurrentPasswordIncorrect, match="not your current password"):
        services.user_set_pin(user=user, pin=ROSA_PIN, password="not-my-password")

    user.refresh_from_db()
    assert user.pin_hash == ""


def test_it_refuses_two_different_pins(community):
    user = UserFactory(facility=community)

    with pytest.raises(services.PinMismatch, match="Type the same PIN twice"):
        services.user_set_pin(user=user, pin=ROSA_PIN, pin_again="285104", password=DEMO_PASSWORD)

    user.refresh_from_db()
    assert user.pin_hash == ""


def test_a_user_without_a_pin_never_matches_one(community):
    user = UserFactory(facility=community)

    assert not services.user_check_pin(user=user, pin="")
    assert not services.user_check_pin(user=user, pin=ROSA_PIN)


def test_the_pin_page_sets_a_pin_with_the_current_password(client, community):
    user = UserFactory(facility=community)
    client.force_login(user)

    response = client.post(
        reverse("staff:pin"),
        {"pin": ROSA_PIN, "pin_again": ROSA_PIN, "password": DEMO_PASSWORD},
        follow=True,
    )

    user.refresh_from_db()
    assert services.user_check_pin(user=user, pin=ROSA_PIN)
    assert "Your PIN is saved" in response.text


def test_the_pin_page_refuses_a_wrong_password_and_says_so(client, community):
    user = UserFactory(facility=community)
    client.force_login(user)

    response = client.post(
        reverse("staff:pin"), {"pin": ROSA_PIN, "pin_again": ROSA_PIN, "password": "wrong"}
    )

    user.refresh_from_db()
    assert response.status_code == 200
    assert "That is not your current password" in response.text
    assert user.pin_hash == ""


def test_the_pin_page_explains_a_weak_pin(client, community):
    user = UserFactory(facility=community)
    client.force_login(user)

    response = client.post(
        reverse("staff:pin"), {"pin": "123456", "pin_again": "123456", "password": DEMO_PASSWORD}
    )

    assert "run of digits" in response.text
    user.refresh_from_db()
    assert user.pin_hash == ""


# --- Wrong PINs --------------------------------------------------------------------------


def test_it_pauses_pin_sign_in_after_five_wrong_pins_in_fifteen_minutes(rosa):
    for minute in range(4):
        with pytest.raises(services.PinIncorrect):
            services.user_pin_verify(
                user=rosa, pin="000000", now=NOW + dt.timedelta(minutes=minute)
            )

    with pytest.raises(services.PinLockedOut, match="paused for 15 minutes"):
        services.user_pin_verify(user=rosa, pin="000000", now=NOW + dt.timedelta(minutes=4))
    with pytest.raises(services.PinLockedOut, match="paused for 11 minutes"):
        services.user_pin_verify(user=rosa, pin=ROSA_PIN, now=NOW + dt.timedelta(minutes=8))
    services.user_pin_verify(user=rosa, pin=ROSA_PIN, now=NOW + dt.timedelta(minutes=20))


def test_it_counts_only_wrong_pins_of_the_last_fifteen_minutes(rosa):
    for minute in (0, 5, 10, 16, 21):
        with pytest.raises(services.PinIncorrect):
            services.user_pin_verify(
                user=rosa, pin="000000", now=NOW + dt.timedelta(minutes=minute)
            )

    services.user_pin_verify(user=rosa, pin=ROSA_PIN, now=NOW + dt.timedelta(minutes=22))


def test_it_says_how_many_tries_are_left(rosa):
    with pytest.raises(services.PinIncorrect) as wrong:
        services.user_pin_verify(user=rosa, pin="000000", now=NOW)

    assert str(wrong.value) == (
        "Wrong PIN for Rosa Alvarez. 4 more tries, then PIN sign-in for them pauses for 15 minutes."
    )


# --- The tablet's memory of who signed in -------------------------------------------------


def test_it_remembers_who_signed_in_in_a_signed_cookie_of_public_ids(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)

    value = client.cookies[TABLET_COOKIE].value
    payload = signing.loads(value, salt="staff.tablet_users")
    public_ids = [entry[0] for entry in payload]
    assert public_ids == [str(sam.public_id), str(rosa.public_id)]
    assert all(uuid.UUID(public_id) for public_id in public_ids)
    assert str(rosa.pk) not in public_ids
    assert client.cookies[TABLET_COOKIE]["httponly"]


def test_it_ignores_a_tampered_tablet_cookie(rosa):
    value = services.tablet_users_sign(
        tablet_users=[services.TabletUser(public_id=rosa.public_id, signed_in_at=NOW)]
    )
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")

    assert services.tablet_users_unsign(value=value, now=NOW) != []
    assert services.tablet_users_unsign(value=tampered, now=NOW) == []
    assert services.tablet_users_unsign(value="not signed", now=NOW) == []


def test_it_forgets_sign_ins_older_than_twelve_hours_and_keeps_eight(community):
    users = [UserFactory(facility=community) for _ in range(10)]
    tablet_users: list[services.TabletUser] = []
    for hour, user in enumerate(users):
        tablet_users = services.tablet_users_add(
            tablet_users=tablet_users, user=user, now=NOW + dt.timedelta(hours=hour)
        )
    with time_machine.travel(NOW + dt.timedelta(hours=9), tick=False):  # the last sign-in
        value = services.tablet_users_sign(tablet_users=tablet_users)

    with time_machine.travel(NOW + dt.timedelta(hours=13), tick=False):
        kept = services.tablet_users_unsign(value=value, now=clock.now())

    assert len(tablet_users) == 8
    assert [t.public_id for t in kept] == [u.public_id for u in reversed(users[2:])]


def test_it_forgets_a_person_who_signs_out(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)

    client.post(reverse("logout"))

    tablet_users = services.tablet_users_unsign(
        value=client.cookies[TABLET_COOKIE].value, now=clock.now()
    )
    assert [t.public_id for t in tablet_users] == [rosa.public_id]


# --- The lock ---------------------------------------------------------------------------


def test_a_locked_session_sends_pages_to_the_lock_screen(client, rosa):
    sign_in(client, rosa)

    lock(client)
    home = client.get(reverse("home"))
    pin_page = client.get(reverse("staff:pin") + "?x=1")

    assert home.status_code == 302
    assert home.url == reverse("staff:lock") + "?next=%2F"
    assert pin_page.url == reverse("staff:lock") + "?next=%2Fme%2Fpin%2F%3Fx%3D1"


def test_a_locked_session_answers_htmx_with_403_and_the_locked_event(client, rosa):
    sign_in(client, rosa)
    lock(client)

    response = client.get(reverse("mar:notification_bell"), headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert response["HX-Trigger"] == "locked"
    assert "HX-Redirect" not in response


def test_a_locked_session_answers_json_requests_with_403(client, rosa):
    sign_in(client, rosa)
    lock(client)

    response = client.get(reverse("home"), headers={"Accept": "application/json"})

    assert response.status_code == 403
    assert response.json()["locked"] is True


def test_a_locked_session_refuses_a_form_sent_to_any_other_page(client, rosa):
    sign_in(client, rosa)
    lock(client)

    response = client.post(
        reverse("staff:pin"),
        {"pin": "864213", "pin_again": "864213", "password": DEMO_PASSWORD},
        headers={"Referer": "http://testserver/me/pin/"},
    )

    rosa.refresh_from_db()
    assert response.status_code == 302
    assert response.url == reverse("staff:lock") + "?next=%2Fme%2Fpin%2F"
    assert services.user_check_pin(user=rosa, pin=ROSA_PIN)


def test_a_locked_session_still_reaches_the_lock_screen_login_logout_and_health(client, rosa):
    sign_in(client, rosa)
    lock(client)

    lock_screen = client.get(reverse("staff:lock") + "?next=/")
    login_page = client.get(reverse("login"))
    health = client.get(reverse("healthz"))
    css = client.get("/static/css/app.css")

    assert lock_screen.status_code == 200
    assert login_page.status_code == 200
    assert health.status_code == 200
    assert css.status_code == 200
    assert "Sign out" not in lock_screen.text  # the top bar shows no one while locked


def test_the_lock_button_asked_for_json_answers_with_everyone_on_the_tablet(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)

    response = client.post(
        reverse("staff:lock"), {"next": "/"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    panel = response.json()["panel_html"]
    assert is_locked(client)
    assert "Rosa Alvarez" in panel
    assert "Sam Okafor" in panel
    assert f'value="{rosa.public_id}"' in panel
    assert f'value="{sam.public_id}"\n                       checked' in panel


def test_the_lock_screen_lists_everyone_signed_in_on_the_tablet(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    lock(client)

    response = client.get(reverse("staff:lock") + "?next=/")

    assert "Rosa Alvarez" in response.text
    assert "Sam Okafor" in response.text
    assert ">RA<" in response.text
    assert ">SO<" in response.text
    assert 'inputmode="numeric"' in response.text
    assert 'autocomplete="off"' in response.text
    assert "Sign in with password" in response.text


def test_unlocking_with_ones_own_pin_keeps_the_session_and_its_csrf_token(client, rosa):
    sign_in(client, rosa)
    client.get(reverse("home"))
    session_key = client.session.session_key
    csrf = client.cookies["csrftoken"].value
    lock(client)

    response = unlock(client, rosa, ROSA_PIN, json_answer=True)

    assert response.json() == {"result": "unlocked", "redirect": "/"}
    assert not is_locked(client)
    assert client.session.session_key == session_key
    assert client.cookies["csrftoken"].value == csrf
    assert client.get(reverse("home")).status_code == 200


def test_unlocking_without_javascript_goes_back_to_the_page(client, rosa):
    sign_in(client, rosa)
    lock(client)

    response = unlock(client, rosa, ROSA_PIN, next_url="/notifications/")

    assert response.status_code == 302
    assert response.url == "/notifications/"
    assert not is_locked(client)


def test_it_refuses_to_send_anyone_to_another_site_after_unlocking(client, rosa):
    sign_in(client, rosa)
    lock(client)

    response = unlock(client, rosa, ROSA_PIN, next_url="https://evil.example/")

    assert response.url == reverse("home")


def test_another_persons_pin_switches_the_session_to_them(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    lock(client)
    session_key = client.session.session_key

    response = unlock(client, rosa, ROSA_PIN, json_answer=True)

    assert response.json() == {"result": "switched", "redirect": "/"}
    assert session_user_id(client) == str(rosa.pk)
    assert client.session.session_key != session_key
    assert not is_locked(client)
    remembered = services.tablet_users_unsign(
        value=client.cookies[TABLET_COOKIE].value, now=clock.now()
    )
    assert {t.public_id for t in remembered} == {rosa.public_id, sam.public_id}
    home = client.get(reverse("home"))
    assert "Good to see you, Rosa" in home.text


def test_a_request_still_on_its_way_with_the_old_cookie_leaves_the_new_session_alone(
    client, rosa, sam
):
    """The tablet's lock request (or a poll) can reach the server after the PIN switch
    it preceded; its answer must not delete the cookie of the session that replaced it."""
    from django.conf import settings
    from django.test import Client

    sign_in(client, rosa)
    sign_in(client, sam)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    unlock(client, rosa, ROSA_PIN, json_answer=True)
    late = Client()
    late.cookies[settings.SESSION_COOKIE_NAME] = old_cookie

    answer = late.post(reverse("staff:lock"), {"next": "/"}, headers={"Accept": "application/json"})

    assert answer.status_code == 401
    assert settings.SESSION_COOKIE_NAME not in answer.cookies
    assert "Good to see you, Rosa" in client.get(reverse("home")).text


def test_signing_out_still_deletes_the_session_cookie(client, rosa):
    from django.conf import settings

    sign_in(client, rosa)

    response = client.post(reverse("logout"))

    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 0


def test_a_wrong_pin_says_so_and_changes_nothing(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    lock(client)

    response = unlock(client, rosa, "975312", json_answer=True)

    assert response.status_code == 400
    assert response.json()["error"] == "pin_incorrect"
    assert "Wrong PIN for Rosa Alvarez" in response.json()["message"]
    assert session_user_id(client) == str(sam.pk)
    assert is_locked(client)


def test_a_wrong_pin_without_javascript_shows_the_lock_screen_with_the_message(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    lock(client)

    response = unlock(client, rosa, "975312")

    assert response.status_code == 400
    assert "Wrong PIN for Rosa Alvarez" in response.text
    assert f'value="{rosa.public_id}"\n                       checked' in response.text
    assert is_locked(client)


def test_five_wrong_pins_pause_that_persons_pin_for_fifteen_minutes(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    lock(client)

    answers = [unlock(client, rosa, "975312", json_answer=True) for _ in range(5)]
    right_pin_now = unlock(client, rosa, ROSA_PIN, json_answer=True)

    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert right_pin_now.status_code == 429
    assert right_pin_now.json()["error"] == "pin_locked_out"
    # django-axes: 5 failed sign-ins pause that username on this device, password too.
    assert "Too many failed sign-ins for Rosa" in right_pin_now.json()["message"]
    assert session_user_id(client) == str(sam.pk)
    assert unlock(client, sam, SAM_PIN, json_answer=True).json()["result"] == "unlocked"
    lock(client)
    with time_machine.travel(clock.now() + dt.timedelta(minutes=16)):
        later = unlock(client, rosa, ROSA_PIN, json_answer=True)
    assert later.json()["result"] == "switched"


def test_a_person_without_a_pin_cannot_be_switched_to(client, community, sam):
    no_pin = UserFactory(username="noor", first_name="Noor", last_name="Haddad", facility=community)
    sign_in(client, no_pin)
    sign_in(client, sam)
    lock(client)

    response = unlock(client, no_pin, "258031", json_answer=True)
    lock_screen = client.get(reverse("staff:lock"))

    assert response.status_code == 400
    assert response.json()["error"] == "pin_not_set"
    assert "Noor Haddad has no PIN yet" in response.json()["message"]
    assert session_user_id(client) == str(sam.pk)
    assert "No PIN yet: sign in with password" in lock_screen.text


def test_someone_who_never_signed_in_on_this_tablet_cannot_be_switched_to(client, sam, rosa):
    sign_in(client, sam)
    lock(client)

    response = unlock(client, rosa, ROSA_PIN, json_answer=True)

    assert response.status_code == 400
    assert response.json()["error"] == "not_listed"
    assert session_user_id(client) == str(sam.pk)


def test_signing_in_with_password_lifts_the_lock(client, rosa):
    sign_in(client, rosa)
    lock(client)

    sign_in(client, rosa)

    assert not is_locked(client)
    assert client.get(reverse("home")).status_code == 200


def test_a_pin_unlocks_a_signed_out_tablet_for_someone_it_remembers(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    client.post(reverse("logout"))

    response = unlock(client, rosa, ROSA_PIN)

    assert response.status_code == 302
    assert session_user_id(client) == str(rosa.pk)


# --- What every signed-in page carries -------------------------------------------------------


def test_every_page_carries_the_facilitys_auto_lock_in_seconds(client, community, rosa):
    community.auto_lock_minutes = 2
    community.save()
    sign_in(client, rosa)

    response = client.get(reverse("home"))

    assert 'data-auto-lock-seconds="120"' in response.text
    assert 'id="tablet-lock"' in response.text
    assert "data-lock-form" in response.text
    assert 'href="/me/pin/"' in response.text


def test_the_auto_lock_defaults_to_five_minutes_without_a_facility(client):
    user = UserFactory(facility=None)
    client.force_login(user)

    response = client.get(reverse("home"))

    assert 'data-auto-lock-seconds="300"' in response.text


def test_the_auto_lock_is_read_once_per_session(client, rosa, django_assert_num_queries):
    sign_in(client, rosa)
    client.get(reverse("home"))

    # Session, user, facilities, unread count; and for the "cannot chart" notice: the
    # membership with a current certification (one query), the latest one (Rosa has none
    # on file).
    with django_assert_num_queries(6):
        response = client.get(reverse("home"))

    assert response.status_code == 200


def test_pages_have_no_inline_script_style_or_handlers(client, rosa):
    sign_in(client, rosa)

    pages = [client.get(reverse("home")).text, client.get(reverse("staff:pin")).text]
    lock(client)
    pages.append(client.get(reverse("staff:lock")).text)

    for html in pages:
        assert "<script>" not in html
        assert " style=" not in html
        assert " onclick=" not in html
        assert '<script src="/static/js/tablet.js" defer>' in html


def test_the_tablet_cookie_payload_is_json_of_strings_and_numbers(rosa):
    value = services.tablet_users_sign(
        tablet_users=[services.TabletUser(public_id=rosa.public_id, signed_in_at=NOW)]
    )

    payload = signing.loads(value, salt="staff.tablet_users")

    assert json.dumps(payload) == json.dumps([[str(rosa.public_id), int(NOW.timestamp())]])


def test_a_pin_switch_does_not_stretch_the_tablets_twelve_hours(client, rosa, sam):
    sign_in(client, rosa)
    sign_in(client, sam)
    before = services.tablet_users_unsign(
        value=client.cookies[TABLET_COOKIE].value, now=clock.now()
    )
    lock(client)

    with time_machine.travel(clock.now() + dt.timedelta(hours=1)):
        unlock(client, rosa, ROSA_PIN)
        after = services.tablet_users_unsign(
            value=client.cookies[TABLET_COOKIE].value, now=clock.now()
        )

    assert session_user_id(client) == str(rosa.pk)
    assert after == before


def test_the_lock_screen_sends_a_tablet_nobody_signed_in_on_to_the_password_page(client, db):
    response = client.get(reverse("staff:lock") + "?next=/notifications/")

    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=%2Fnotifications%2F"


def test_the_lock_screen_does_not_preselect_someone_without_a_pin(client, community):
    no_pin = UserFactory(first_name="Noor", last_name="Haddad", facility=community)
    client.force_login(no_pin)
    lock(client)

    response = client.get(reverse("staff:lock"))

    assert "Noor Haddad" in response.text
    assert " checked" not in response.text
    assert " disabled" in response.text


def test_a_pin_from_the_four_digit_days_must_be_set_again_and_every_page_says_so(client, rosa):
    # As the migration leaves a PIN set before Argon2id verifiers: its hash, no verifier.
    User.objects.filter(pk=rosa.pk).update(
        pin_offline_memory_kib=0, pin_offline_verifier="", pin_offline_key=""
    )
    rosa.refresh_from_db()
    client.force_login(rosa)

    home = client.get(reverse("home"))
    lock = client.get(reverse("staff:lock"))
    pin_page = client.get(reverse("staff:pin"))
    with pytest.raises(services.PinNeedsRenewal, match="before PINs needed 6 digits"):
        services.user_pin_verify(user=rosa, pin=ROSA_PIN, now=NOW)
    client.post(
        reverse("staff:pin"),
        {"pin": "975312", "pin_again": "975312", "password": DEMO_PASSWORD},
    )
    after = client.get(reverse("home"))

    assert "Set a new PIN" in home.text
    assert "PIN to set again" in lock.text
    assert "no longer works on the tablet" in pin_page.text
    assert "Set a new PIN" not in after.text
    rosa.refresh_from_db()
    assert not rosa.pin_needs_renewal
    services.user_pin_verify(user=rosa, pin="975312", now=NOW)
