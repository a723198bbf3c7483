import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import CartAssignment
from medtech.models import AuditEvent
from staff import manage_services as services
from staff.models import ApiToken, Certification, User
from staff.selectors import user_charting_refusal
from tests.clock import NOW
from tests.factories import FacilityFactory, MedCartFactory, UserFactory, api_token

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def place(db):
    class Place:
        facility = FacilityFactory(name="Maple Grove")
        elsewhere = FacilityFactory(name="Oak Hollow")
        admin = UserFactory(role="administrator", initials="AD", facility=facility)
        other_admin = UserFactory(role="administrator", initials="OA", facility=elsewhere)
        nurse = UserFactory(role="nurse", initials="NU", facility=facility)

    return Place


def create(place, *, by=None, initials="MS", username="msantos", facilities=None, **fields):
    return services.user_create(
        by=by or place.admin,
        username=username,
        first_name="Maria",
        last_name="Santos",
        role=fields.pop("role", User.Role.MED_TECH),
        title="CMA",
        initials=initials,
        facilities=facilities or [place.facility],
        password="a-long-first-password",
        now=NOW,
        **fields,
    )


def certify(place, user, *, expires_on, kind="medication_aide", document=None):
    return services.certification_add(
        by=place.admin,
        user=user,
        kind=kind,
        number="CMA-2231",
        state="il",
        issued_on=dt.date(2024, 11, 1),
        expires_on=expires_on,
        document=document,
        now=NOW,
    )


def test_it_creates_a_med_tech_who_can_sign_in_in_their_community_and_audits_it(place):
    user = create(place, initials="ms", email="maria@example.org")

    assert user.check_password("a-long-first-password")
    assert (user.role, user.initials, user.title) == ("med_tech", "MS", "CMA")
    assert list(user.memberships.values_list("facility_id", flat=True)) == [place.facility.pk]
    event = AuditEvent.objects.get(action="user.create")
    assert (event.actor, event.facility_id, event.after["initials"]) == (
        place.admin,
        place.facility.pk,
        "MS",
    )


def test_it_refuses_initials_already_used_in_the_community_with_a_clear_message(place):
    create(place)

    with pytest.raises(
        services.StaffInvalid, match="already Maria Santos's initials at Maple Grove"
    ) as caught:
        create(place, username="mstone")

    assert caught.value.field == "initials"
    assert User.objects.filter(initials="MS").count() == 1


def test_it_allows_the_same_initials_in_another_community(place):
    create(place)

    other = create(place, by=place.other_admin, username="msmith", facilities=[place.elsewhere])

    assert other.initials == "MS"


def test_it_lets_only_an_administrator_add_people_to_their_own_communities(place):
    with pytest.raises(services.StaffNotPermitted, match="administrators"):
        create(place, by=place.nurse)
    with pytest.raises(services.StaffNotPermitted, match="your own communities"):
        create(place, facilities=[place.elsewhere])

    assert not User.objects.filter(username="msantos").exists()


def test_it_refuses_a_weak_password_and_bad_initials(place):
    with pytest.raises(services.StaffInvalid, match="capital letters"):
        create(place, initials="M-S")
    with pytest.raises(services.StaffInvalid) as caught:
        services.user_create(
            by=place.admin,
            username="weak",
            first_name="W",
            last_name="K",
            role="med_tech",
            initials="WK",
            facilities=[place.facility],
            password="123",
            now=NOW,
        )

    assert caught.value.field == "password"


def test_it_stops_charting_when_the_medication_aide_certification_expired_yesterday(place):
    user = create(place)
    certify(place, user, expires_on=TODAY - dt.timedelta(days=1))

    refusal = user_charting_refusal(user=user, facility_id=place.facility.pk, today=TODAY)

    assert "expired on Nov 19, 2026" in refusal


def test_it_keeps_a_checked_copy_of_the_certificate(place):
    user = create(place)
    pdf = SimpleUploadedFile("cert.pdf", b"%PDF-1.7\n...", content_type="application/pdf")

    certification = certify(place, user, expires_on=dt.date(2027, 11, 1), document=pdf)

    assert certification.state == "IL"
    assert certification.document.name.endswith(".pdf")
    assert AuditEvent.objects.filter(
        action="certification.add", target_id=str(certification.pk)
    ).exists()


def test_it_refuses_a_copy_that_is_not_a_pdf_jpeg_or_png(place):
    user = create(place)
    html = SimpleUploadedFile("cert.pdf", b"<html>hello</html>", content_type="application/pdf")

    with pytest.raises(services.StaffInvalid, match="PDF, JPEG or PNG"):
        certify(place, user, expires_on=dt.date(2027, 11, 1), document=html)

    assert not Certification.objects.exists()


def test_it_refuses_an_expiry_before_the_issue_date(place):
    user = create(place)

    with pytest.raises(services.StaffInvalid, match="after the issue date"):
        certify(place, user, expires_on=dt.date(2024, 1, 1))


def _session_for(user) -> str:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store.create()
    return store.session_key


def test_it_deactivates_at_once_ending_sessions_tokens_and_cart_duty(place):
    user = create(place)
    mine, theirs = _session_for(user), _session_for(place.admin)
    api_token(user)
    api_token(place.nurse)
    cart = MedCartFactory(facility=place.facility)
    CartAssignment.objects.create(cart=cart, user=user, started_at=NOW - dt.timedelta(hours=1))

    ended = services.user_deactivate(by=place.admin, user=user, reason="Left the job", now=NOW)

    user.refresh_from_db()
    assert not user.is_active
    assert ended == {"sessions": 1, "tokens": 1, "cart_assignments": 1}
    assert not Session.objects.filter(session_key=mine).exists()
    assert Session.objects.filter(session_key=theirs).exists()
    assert not ApiToken.objects.filter(user=user).exists()
    assert ApiToken.objects.filter(user=place.nurse).exists()
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.reason == "Left the job" and event.after["is_active"] is False


def test_it_refuses_to_deactivate_oneself_or_someone_of_another_community(place):
    stranger = UserFactory(role="med_tech", initials="ST", facility=place.elsewhere)

    with pytest.raises(services.StaffInvalid, match="yourself"):
        services.user_deactivate(by=place.admin, user=place.admin, reason="x", now=NOW)
    with pytest.raises(services.StaffNotPermitted):
        services.user_deactivate(by=place.admin, user=stranger, reason="x", now=NOW)

    stranger.refresh_from_db()
    assert stranger.is_active


@pytest.mark.parametrize("username", ["nurse", "Admin", "tablet"])
def test_it_refuses_a_shared_or_generic_username(place, username):
    with pytest.raises(services.StaffInvalid, match="shared or generic") as caught:
        create(place, username=username)

    assert caught.value.field == "username"
    assert not User.objects.filter(username__iexact=username).exists()
