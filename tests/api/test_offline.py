"""The offline med pass's server side: the cart's bundle (only for who has taken the cart,
with the Argon2id PIN verifiers of the staff on duty for it), and doses arriving from a
tablet's offline queue (who charted them, signatures of the offline PIN switch, conflicts
that notify the nurses, the record marked as charted offline)."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
from argon2.low_level import Type, hash_secret_raw
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.services import cart_assignment_end, cart_assignment_start
from mar.models import Administration, Notification
from mar.services import administrations as charting
from mar.services import orders as order_services
from mar.services.doses import doses_sync_for_order
from medtech.models import AuditEvent
from residents.models import Allergy
from staff import services as staff_services
from staff.models import User
from tests.api.conftest import AT, due_dose, prn_order
from tests.factories import (
    DEMO_PASSWORD,
    CertificationFactory,
    MedCartFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    UserFactory,
)

URL = "/api/v1/administrations/"
GIVEN_AT = AT - dt.timedelta(minutes=20)
QUEUED_AT = GIVEN_AT + dt.timedelta(seconds=5)


@pytest.fixture(autouse=True)
def tech_on_duty(community):
    """The tech has taken the community's cart: their tablet keeps its bundle."""
    return cart_assignment_start(cart=community.cart, user=community.tech, now=AT)


@pytest.fixture
def colleague(community):
    """On duty for the same cart, with a PIN: the offline switch may bring them in."""
    user = community.colleague(pin="258031", first_name="Sam", initials="SO")
    cart_assignment_start(cart=community.cart, user=user, now=AT)
    return user


def bundle_url(community) -> str:
    return f"/api/v1/offline/carts/{community.cart.public_id}/"


def offline_body(dose, **fields) -> bytes:
    body = {
        "scheduled_dose": str(dose.public_id),
        "status": "given",
        "administered_at": GIVEN_AT.isoformat(),
        "note": "Charted offline on the cart's tablet.",
        **fields,
    }
    return json.dumps(body).encode()


def signature(*, key: str, user, body: bytes, pin: str) -> str:
    """What static/js/offline/pin.js computes after the PIN was checked on the tablet."""
    derived = staff_services.pin_offline_derive(
        pin=pin,
        salt=user.pin_offline_salt,
        iterations=user.pin_offline_iterations,
        memory_kib=user.pin_offline_memory_kib,
    )
    message = f"{key}\n{user.public_id}\n".encode() + body
    return hmac.new(bytes.fromhex(derived.key), message, hashlib.sha256).hexdigest()


def post_offline(client, body: bytes, *, key: str, charted_by, sig: str = "", order=None):
    headers = {
        "HTTP_IDEMPOTENCY_KEY": key,
        "HTTP_X_OFFLINE_QUEUED_AT": QUEUED_AT.isoformat(),
        "HTTP_X_OFFLINE_CHARTED_BY": str(charted_by.public_id),
    }
    if sig:
        headers["HTTP_X_OFFLINE_SIGNATURE"] = sig
    if order is not None:
        headers["HTTP_X_OFFLINE_ORDER"] = str(order.public_id)
    return client.post(URL, body, content_type="application/json", **headers)


def test_the_bundle_has_the_carts_residents_doses_and_pin_verifiers_but_no_secrets(
    api_as, community, dose, colleague
):
    response = api_as(community.tech).get(f"/api/v1/offline/carts/{community.cart.public_id}/")

    bundle = response.json()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert [r["id"] for r in bundle["residents"]] == [str(community.resident.public_id)]
    assert [d["id"] for d in bundle["doses"]] == [str(dose.public_id)]
    assert bundle["doses"][0]["state"] == "due"
    staff = {person["id"]: person for person in bundle["staff"]}
    assert set(staff) == {str(colleague.public_id)}  # the only one on duty with a PIN
    assert staff[str(colleague.public_id)]["pin"] == {
        "algorithm": "argon2id",
        "salt": colleague.pin_offline_salt,
        "iterations": 1,
        "memory_kib": 1024,
        "parallelism": 1,
        "verifier": colleague.pin_offline_verifier,
    }
    assert AuditEvent.objects.filter(
        kind=AuditEvent.Kind.READ,
        actor=community.tech,
        resident=community.resident,
        view="api:offline_bundle",
    ).exists()
    text = response.content.decode()
    assert colleague.pin_offline_key not in text
    assert colleague.pin_hash not in text


def test_the_bundle_makes_as_many_queries_for_many_residents_as_for_one(
    api_as, community, dose, django_assert_max_num_queries
):
    client = api_as(community.tech)
    url = f"/api/v1/offline/carts/{community.cart.public_id}/"
    with CaptureQueriesContext(connection) as one_resident:
        client.get(url)
    for number in range(5):
        room = RoomFactory(
            facility=community.facility, unit=community.cart.unit, cart=community.cart
        )
        resident = ResidentFactory(facility=community.facility, room=room)
        Allergy.objects.create(resident=resident, allergen=f"Sulfa {number}")
        doses_sync_for_order(order=OrderFactory(resident=resident), now=AT)

    with django_assert_max_num_queries(len(one_resident)):
        response = client.get(url)

    assert len(response.json()["residents"]) == 6
    assert len(response.json()["doses"]) == 6


def test_another_communitys_cart_bundle_answers_404(api_as, community, other):
    response = api_as(community.tech).get(f"/api/v1/offline/carts/{other.cart.public_id}/")

    assert response.status_code == 404


def test_a_queued_dose_of_the_sessions_user_is_recorded_once_with_its_given_time(
    api_as, community, dose
):
    client = api_as(community.tech)
    body = offline_body(dose)

    first = post_offline(client, body, key="offline-1", charted_by=community.tech)
    again = post_offline(client, body, key="offline-1", charted_by=community.tech)

    assert (first.status_code, again.status_code) == (201, 200)
    record = Administration.objects.get()
    assert record.administered_by == community.tech
    assert record.administered_at == GIVEN_AT
    assert record.documented_at == AT
    assert record.is_late_entry is False


def test_a_dose_given_long_before_the_sync_is_a_late_entry_with_both_times(
    api_as, community, dose, clock
):
    clock.move_to(AT + dt.timedelta(minutes=50))
    client = api_as(community.tech)

    response = post_offline(
        client, offline_body(dose), key="offline-late", charted_by=community.tech
    )

    body = response.json()
    assert response.status_code == 201
    assert body["is_late_entry"] is True
    assert body["is_late"] is False  # given inside its window: a late entry, not a late dose
    assert body["administered_at"] == "2026-11-20T13:10:00Z"
    assert body["documented_at"] == "2026-11-20T14:20:00Z"


def test_a_dose_charted_after_an_offline_pin_switch_is_recorded_as_that_person(
    api_as, community, dose, colleague
):
    body = offline_body(dose)
    sig = signature(key="offline-2", user=colleague, body=body, pin="258031")

    response = post_offline(
        api_as(community.tech), body, key="offline-2", charted_by=colleague, sig=sig
    )

    assert response.status_code == 201
    assert response.json()["administered_by"]["initials"] == "SO"
    assert Administration.objects.get().administered_by == colleague


@pytest.mark.parametrize("pin", ["147025", None])
def test_a_claim_for_someone_else_without_their_pins_signature_is_refused(
    api_as, community, dose, colleague, pin
):
    body = offline_body(dose)
    sig = signature(key="offline-3", user=colleague, body=body, pin=pin) if pin else ""

    response = post_offline(
        api_as(community.tech), body, key="offline-3", charted_by=colleague, sig=sig
    )

    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Administration.objects.exists()


def test_a_signature_does_not_carry_over_to_another_body(api_as, community, dose, colleague):
    signed = offline_body(dose)
    sig = signature(key="offline-4", user=colleague, body=signed, pin="258031")

    response = post_offline(
        api_as(community.tech),
        offline_body(dose, status="refused"),
        key="offline-4",
        charted_by=colleague,
        sig=sig,
    )

    assert response.status_code == 403
    assert not Administration.objects.exists()


def test_a_dose_charted_by_another_tablet_meanwhile_is_a_conflict_the_nurses_hear_of(
    api_as, community, dose
):
    other_tablet = charting.administration_record(
        user=community.tech,
        idempotency_key="other-tablet",
        now=AT - dt.timedelta(minutes=9),
        entry=charting.ChartEntry(
            status="given", administered_at=AT - dt.timedelta(minutes=10), scheduled_dose=dose
        ),
    ).administration

    response = post_offline(
        api_as(community.tech), offline_body(dose), key="offline-5", charted_by=community.tech
    )

    assert response.status_code == 409
    assert response.json()["existing"]["id"] == str(other_tablet.public_id)
    assert response.json()["nurses_notified"] is True
    assert list(Administration.objects.all()) == [other_tablet]
    notices = Notification.objects.filter(kind=Notification.Kind.CHARTING_CONFLICT)
    assert {n.recipient for n in notices} == {community.nurse, community.second_nurse}
    assert all("not recorded" in n.body and "Nothing was overwritten" in n.body for n in notices)


def test_a_conflict_sent_twice_notifies_once(api_as, community, dose):
    charting.administration_record(
        user=community.tech,
        idempotency_key="other-tablet",
        now=AT - dt.timedelta(minutes=9),
        entry=charting.ChartEntry(
            status="given", administered_at=AT - dt.timedelta(minutes=10), scheduled_dose=dose
        ),
    )
    client = api_as(community.tech)

    post_offline(client, offline_body(dose), key="offline-6", charted_by=community.tech)
    post_offline(client, offline_body(dose), key="offline-6", charted_by=community.tech)

    assert Notification.objects.filter(kind=Notification.Kind.CHARTING_CONFLICT).count() == 2


def test_a_queued_dose_of_an_order_discontinued_meanwhile_is_a_conflict(api_as, community, order):
    dose = due_dose(order)
    body = offline_body(dose)
    order_services.order_discontinue(
        order=order, by=community.nurse, reason="Stopped by the prescriber", now=AT
    )

    response = post_offline(
        api_as(community.tech), body, key="offline-7", charted_by=community.tech, order=order
    )

    assert response.status_code == 422
    assert "discontinued" in response.json()["detail"]
    assert response.json()["conflict"] is True
    assert not Administration.objects.exists()
    assert Notification.objects.filter(
        kind=Notification.Kind.CHARTING_CONFLICT, recipient=community.nurse
    ).exists()


def test_online_charting_does_not_notify_of_a_conflict(api_as, community, dose):
    charting.administration_record(
        user=community.tech,
        idempotency_key="other-tablet",
        now=AT - dt.timedelta(minutes=9),
        entry=charting.ChartEntry(
            status="given", administered_at=AT - dt.timedelta(minutes=10), scheduled_dose=dose
        ),
    )

    response = api_as(community.tech).post(
        URL,
        json.loads(offline_body(dose)),
        format="json",
        HTTP_IDEMPOTENCY_KEY="online-1",
    )

    assert response.status_code == 409
    assert not Notification.objects.filter(kind=Notification.Kind.CHARTING_CONFLICT).exists()


@pytest.mark.parametrize(
    ("header", "value"),
    [("HTTP_X_OFFLINE_QUEUED_AT", "yesterday"), ("HTTP_X_OFFLINE_CHARTED_BY", "me")],
)
def test_bad_offline_headers_answer_400(api_as, community, dose, header, value):
    headers = {
        "HTTP_IDEMPOTENCY_KEY": "offline-8",
        "HTTP_X_OFFLINE_QUEUED_AT": QUEUED_AT.isoformat(),
        "HTTP_X_OFFLINE_CHARTED_BY": str(community.tech.public_id),
        header: value,
    }

    response = api_as(community.tech).post(
        URL, offline_body(dose), content_type="application/json", **headers
    )

    assert response.status_code == 400
    assert response.json()["field"] in {"X-Offline-Queued-At", "X-Offline-Charted-By"}


def test_the_service_worker_is_served_from_the_root_for_scope_slash(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert b"/static/css/app.css" in response.content


def test_the_manifest_names_the_med_pass_and_its_icons(client):
    response = client.get("/manifest.webmanifest")

    manifest = response.json()
    assert response["Content-Type"] == "application/manifest+json"
    assert manifest["start_url"] == "/pass/"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_setting_a_pin_makes_an_offline_verifier_the_tablet_can_recompute(community):
    user = community.tech

    staff_services.user_set_pin(user=user, pin="482613", password=DEMO_PASSWORD)

    user.refresh_from_db()
    derived = staff_services.pin_offline_derive(
        pin="482613",
        salt=user.pin_offline_salt,
        iterations=user.pin_offline_iterations,
        memory_kib=user.pin_offline_memory_kib,
    )
    assert user.pin_offline_verifier == derived.verifier
    assert user.pin_offline_key == derived.key
    assert derived.verifier != derived.key
    assert "482613" not in (user.pin_offline_verifier + user.pin_offline_key)


def test_the_bundle_goes_only_to_someone_who_has_taken_the_cart(api_as, community, colleague):
    bystander = UserFactory(facility=community.facility, initials="BY")
    CertificationFactory(user=bystander)
    handed_over = community.second_nurse
    cart_assignment_start(cart=community.cart, user=handed_over, now=AT)
    cart_assignment_end(user=handed_over, now=AT)

    never = api_as(bystander).get(bundle_url(community))
    after_hand_over = api_as(handed_over).get(bundle_url(community))

    assert (never.status_code, after_hand_over.status_code) == (403, 403)
    assert "Take this cart" in never.json()["detail"]
    assert "verifier" not in never.content.decode()


def test_the_bundle_holds_only_the_verifiers_of_staff_on_duty_for_this_cart(
    api_as, community, colleague
):
    off_duty = UserFactory(facility=community.facility, initials="OD")
    staff_services.user_set_pin(user=off_duty, pin="369140", password=DEMO_PASSWORD)
    other_cart = UserFactory(facility=community.facility, initials="OC")
    staff_services.user_set_pin(user=other_cart, pin="482613", password=DEMO_PASSWORD)
    cart_assignment_start(cart=MedCartFactory(facility=community.facility), user=other_cart, now=AT)

    bundle = api_as(community.tech).get(bundle_url(community)).json()

    assert {person["id"] for person in bundle["staff"]} == {str(colleague.public_id)}


def test_a_pin_from_before_argon2id_verifiers_is_not_in_the_bundle_and_opens_nothing(
    api_as, community, colleague
):
    User.objects.filter(pk=colleague.pk).update(
        pin_offline_memory_kib=0, pin_offline_verifier="", pin_offline_key=""
    )
    colleague.refresh_from_db()

    bundle = api_as(community.tech).get(bundle_url(community)).json()

    assert bundle["staff"] == []
    assert colleague.pin_needs_renewal
    with pytest.raises(staff_services.PinNeedsRenewal, match="set a new PIN"):
        staff_services.user_pin_verify(user=colleague, pin="258031", now=AT)


def test_the_verifier_is_argon2id_and_memory_hard(community, settings):
    settings.PIN_OFFLINE_ITERATIONS = 3
    settings.PIN_OFFLINE_MEMORY_KIB = 64 * 1024

    staff_services.user_set_pin(user=community.tech, pin="482613", password=DEMO_PASSWORD)

    community.tech.refresh_from_db()
    assert (community.tech.pin_offline_iterations, community.tech.pin_offline_memory_kib) == (
        3,
        64 * 1024,
    )
    expected = hash_secret_raw(
        b"482613",
        community.tech.pin_offline_salt.encode(),
        time_cost=3,
        memory_cost=64 * 1024,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    assert community.tech.pin_offline_verifier == hashlib.sha256(b"verify:" + expected).hexdigest()


def test_a_dose_from_the_offline_queue_is_marked_so_on_the_record_and_the_review_list(
    api_as, client, community, dose
):
    response = post_offline(
        api_as(community.tech),
        offline_body(dose, status="refused", reason="Said no"),
        key="offline-9",
        charted_by=community.tech,
    )
    online = api_as(community.tech).post(
        URL,
        {
            "order": str(prn_order(community).public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
            "prn_reason": "Knee pain",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="online-9",
    )
    client.force_login(community.nurse)

    review = client.get(reverse("nurse:review"))

    assert response.json()["source"] == "offline"
    assert online.json()["source"] == "api"
    assert Administration.objects.get(idempotency_key="offline-9").source == "offline"
    assert 'data-testid="charted-offline"' in review.text
    record = Administration.objects.get(idempotency_key="offline-9")
    detail = client.get(reverse("nurse:administration_detail", args=[record.public_id]))
    assert "Charted offline, synced later" in detail.text
