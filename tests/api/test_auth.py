"""Signing in for a token (hashed, one per device, expiring, revocable), and the JSON
answers to everything that is not allowed."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

import medtech.settings as production
from mar.models import Order
from medtech.models import AuditEvent
from staff.models import ApiToken, User
from tests.factories import DEMO_PASSWORD, api_token

TOKEN_URL = "/api/v1/auth/token/"


def test_it_exchanges_a_username_and_password_for_a_token_that_works(client, community):
    response = client.post(
        TOKEN_URL,
        {"username": community.tech.username, "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    token = response.json()["token"]
    residents = client.get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert ApiToken.objects.get(user=community.tech).token_key == token[:15]
    assert residents.status_code == 200
    assert residents.json()["count"] == 1


def test_a_wrong_password_answers_401(client, community):
    response = client.post(
        TOKEN_URL,
        {"username": community.tech.username, "password": "not-the-password"},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Wrong username or password."}


def test_a_missing_field_answers_400_naming_it(client, community):
    response = client.post(
        TOKEN_URL, {"username": community.tech.username}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["field"] == "password"


def test_no_or_a_bad_token_answers_401_and_the_session_of_the_pages_works(client, community):
    anonymous = client.get("/api/v1/residents/")
    bad = client.get("/api/v1/residents/", HTTP_AUTHORIZATION="Token nope")
    client.force_login(community.nurse)
    session = client.get("/api/v1/residents/")

    assert (anonymous.status_code, bad.status_code) == (401, 401)
    assert anonymous["WWW-Authenticate"] == "Token"
    assert "detail" in anonymous.json()
    assert session.status_code == 200


def test_a_session_write_needs_the_csrf_token(community, order):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(community.nurse)

    response = browser.post(
        f"/api/v1/orders/{order.public_id}/hold/",
        {"reason": "MD order"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_unknown_paths_and_methods_answer_json(api_as, community):
    client = api_as(community.tech)

    unknown = client.get("/api/v1/nothing-here/")
    method = client.delete("/api/v1/residents/")

    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No such endpoint."}
    assert method.status_code == 405
    assert "detail" in method.json()


def test_malformed_json_answers_400(api_as, community):
    response = api_as(community.nurse).post(
        "/api/v1/orders/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


DEEP = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_json_nested_3000_deep_answers_400_when_signed_in(api_as, community, order, body):
    client = api_as(community.nurse)

    orders = client.post("/api/v1/orders/", body, content_type="application/json")
    hold = client.post(
        f"/api/v1/orders/{order.public_id}/hold/", body, content_type="application/json"
    )
    charting = api_as(community.tech).post(
        "/api/v1/administrations/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep-1",
    )

    assert [orders.status_code, hold.status_code, charting.status_code] == [400, 400, 400]
    assert "nested too deeply" in orders.json()["detail"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_json_nested_3000_deep_answers_400_at_the_token_endpoint(client, community, body):
    response = client.post(TOKEN_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_fhir_parses_no_body_so_a_deep_one_is_refused_without_a_500(api_as, community):
    response = api_as(community.nurse).post(
        f"/fhir/r4/Patient/{community.resident.public_id}",
        DEEP,
        content_type="application/fhir+json",
    )

    assert 400 <= response.status_code < 500


def test_the_schema_and_its_docs_are_for_signed_in_people(client, community):
    anonymous_schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    anonymous_docs = client.get("/api/docs/")
    client.force_login(community.tech)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    docs = client.get("/api/docs/")

    assert anonymous_schema.status_code == 401
    assert anonymous_docs.status_code == 302
    assert anonymous_docs["Location"].startswith(reverse("login"))
    assert schema.status_code == 200
    assert "/api/v1/administrations/" in schema.json()["paths"]
    assert docs.status_code == 200


def test_swagger_ui_comes_from_the_app_under_the_apps_own_csp(client, community):
    client.force_login(community.tech)

    docs = client.get("/api/docs/")
    login = client.get(reverse("login"))

    page = docs.content.decode()
    assert "cdn" not in page and "jsdelivr" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in docs["Content-Security-Policy"].split(";")
        if directive.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert "https:" not in docs["Content-Security-Policy"]
    assert login["Content-Security-Policy"]


def sign_in(client, user: User) -> dict:
    return client.post(
        TOKEN_URL,
        {"username": user.username, "password": DEMO_PASSWORD},
        content_type="application/json",
    ).json()


def residents_with(client, token: str) -> int:
    return client.get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}").status_code


def test_only_a_digest_of_the_token_is_stored(client, community):
    token = sign_in(client, community.tech)["token"]

    row = ApiToken.objects.get(user=community.tech)
    assert len(token) == 64
    assert token not in (row.digest, row.token_key, row.password_check)
    assert row.digest != token and len(row.digest) == 128


def test_each_sign_in_is_its_own_token_and_logout_ends_only_that_one(client, community):
    tablet = sign_in(client, community.tech)["token"]
    desktop = sign_in(client, community.tech)["token"]

    logout = client.post("/api/v1/auth/logout/", HTTP_AUTHORIZATION=f"Token {tablet}")

    assert tablet != desktop
    assert logout.status_code == 204
    assert residents_with(client, tablet) == 401
    assert residents_with(client, desktop) == 200
    assert AuditEvent.objects.filter(action="auth.api_token_revoked").count() == 1


def test_logout_all_ends_every_token_of_the_person(client, community):
    first, second = api_token(community.tech), api_token(community.tech)
    colleague = api_token(community.nurse)

    response = client.post("/api/v1/auth/logout-all/", HTTP_AUTHORIZATION=f"Token {first}")

    assert response.status_code == 204
    assert (residents_with(client, first), residents_with(client, second)) == (401, 401)
    assert residents_with(client, colleague) == 200


def test_a_token_expires_after_the_idle_limit_and_each_use_renews_it(
    client, community, settings, clock
):
    settings.REST_KNOX = production.REST_KNOX
    token = sign_in(client, community.tech)
    clock.shift(dt.timedelta(minutes=9))
    renewed = residents_with(client, token["token"])
    clock.shift(dt.timedelta(minutes=9))
    still = residents_with(client, token["token"])

    clock.shift(dt.timedelta(minutes=11))

    assert token["expiry"]
    assert (renewed, still) == (200, 200)
    assert residents_with(client, token["token"]) == 401
    assert not ApiToken.objects.exists()


def test_a_token_in_use_still_ends_12_hours_after_sign_in(client, community, settings, clock):
    settings.REST_KNOX = production.REST_KNOX
    token = sign_in(client, community.tech)["token"]
    answers = []
    for _ in range(79):  # a request every 9 minutes: 11 hours 51 minutes
        clock.shift(dt.timedelta(minutes=9))
        answers.append(residents_with(client, token))

    clock.shift(dt.timedelta(minutes=9, seconds=30))  # 12 hours and 30 seconds

    assert set(answers) == {200}
    assert residents_with(client, token) == 401


def test_a_password_change_ends_the_persons_tokens(client, community):
    token = api_token(community.tech)
    community.tech.set_password("a-new-long-passphrase-2026")
    community.tech.save()

    response = client.get("/api/v1/residents/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 401
    assert "password changed" in response.json()["detail"]


def test_a_deactivated_person_s_token_no_longer_works(client, community):
    token = api_token(community.tech)
    User.objects.filter(pk=community.tech.pk).update(is_active=False)

    assert residents_with(client, token) == 401


@pytest.mark.parametrize(
    "path",
    [
        "/admin/authtoken/tokenproxy/",
        "/admin/authtoken/token/",
        "/admin/knox/authtoken/",
        "/admin/staff/apitoken/",
        "/admin/staff/apitoken/add/",
    ],
)
def test_no_token_is_listed_or_made_in_the_django_admin(client, administrator, path):
    admin = administrator
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    admin.user_permissions.set(Permission.objects.all())
    client.force_login(User.objects.get(pk=admin.pk))

    response = client.get(path)
    index = client.get(reverse("admin:index"))

    assert response.status_code == 404
    assert "apitoken" not in index.text.lower()
    assert "authtoken" not in index.text.lower()
