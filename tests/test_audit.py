import datetime as dt

import pytest
from django.test import RequestFactory

from medtech.core.audit import audit_auth, audit_events_search, audit_read, audit_write, snapshot
from medtech.models import AuditEvent
from tests.factories import ResidentFactory, UserFactory

NOW = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def moment() -> dt.datetime:
    """The moment these tests stand at."""
    return NOW


pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get(
        "/residents/1/", REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="Tablet Chrome"
    )
    request.user = user
    return request


def test_it_records_a_write_with_old_and_new_values_and_where_from():
    resident = ResidentFactory()
    user = UserFactory(role="nurse")
    before = snapshot(resident, fields=["physician"])
    resident.physician = "Dr. Okafor"

    event = audit_write(
        actor=user,
        action="resident.update",
        target=resident,
        before=before,
        after=snapshot(resident, fields=["physician"]),
        reason="New attending",
        request=_request(user),
        now=NOW,
    )

    event.refresh_from_db()
    assert (event.kind, event.actor, event.actor_username) == ("write", user, user.username)
    assert (event.resident_id, event.facility_id) == (resident.pk, resident.facility_id)
    assert event.after == {"physician": "Dr. Okafor"}
    assert (event.ip_address, event.device) == ("10.0.0.7", "Tablet Chrome")


def test_it_records_a_read_of_a_resident_and_finds_it_by_resident_and_user():
    resident = ResidentFactory()
    other = ResidentFactory(facility=resident.facility)
    user = UserFactory()
    audit_read(actor=user, resident=resident, view="mar:pass_resident", now=NOW)
    audit_read(actor=user, resident=other, view="mar:pass_resident", now=NOW)

    found = list(audit_events_search(resident_id=resident.pk, actor_id=user.pk))

    assert [(e.kind, e.resident_id, e.view) for e in found] == [
        ("read", resident.pk, "mar:pass_resident")
    ]


def test_it_keeps_the_typed_username_of_a_failed_sign_in():
    audit_auth(action="auth.failed", username="no-such-user", now=NOW)

    event = AuditEvent.objects.get()
    assert (event.kind, event.actor, event.actor_username) == ("auth", None, "no-such-user")


def test_it_narrows_a_search_by_date_and_facility():
    resident = ResidentFactory()
    user = UserFactory()
    audit_read(actor=user, resident=resident, view="v", now=NOW - dt.timedelta(days=2))
    audit_read(actor=user, resident=resident, view="v", now=NOW)

    recent = audit_events_search(
        facility_ids=[resident.facility_id], occurred_from=NOW - dt.timedelta(hours=1)
    )
    elsewhere = audit_events_search(facility_ids=[resident.facility_id + 1000])

    assert [e.occurred_at for e in recent] == [NOW]
    assert list(elsewhere) == []


def test_it_shows_a_facility_only_the_sign_ins_of_its_own_people():
    resident = ResidentFactory()
    member = UserFactory(facility=resident.facility)
    stranger = UserFactory()
    audit_auth(action="auth.signed_in", actor=member, now=NOW)
    audit_auth(action="auth.signed_in", actor=stranger, now=NOW)
    audit_auth(action="auth.failed", username="nobody", now=NOW)

    seen = audit_events_search(facility_ids=[resident.facility_id])

    assert [e.actor for e in seen] == [member]
