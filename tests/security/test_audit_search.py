"""The administrator's audit trail search page."""

import datetime as dt

import pytest
from django.contrib.auth.signals import user_logged_in
from django.urls import reverse

from medtech.core.audit import audit_auth, audit_read, audit_write
from medtech.security import on_signed_in
from staff.models import User
from tests.factories import ResidentFactory, UserFactory
from tests.mar.conftest import NOW, Community

URL = reverse("audit_search")


@pytest.fixture
def community(db) -> Community:
    return Community()


@pytest.fixture
def admin(community) -> User:
    return UserFactory(role=User.Role.ADMINISTRATOR, facility=community.facility)


@pytest.fixture
def signed_in(client, admin):
    # The administrator's own sign-in is audited too; these tests count only their rows.
    user_logged_in.disconnect(dispatch_uid="medtech.audit.signed_in")
    try:
        client.force_login(admin)
    finally:
        user_logged_in.connect(on_signed_in, dispatch_uid="medtech.audit.signed_in")
    return client


def _rows(response) -> int:
    return response.text.count('class="audit-row"')


def test_it_shows_who_what_when_from_where_old_and_new_values_and_why(signed_in, community):
    audit_write(
        actor=community.nurse,
        action="administration.amend",
        target=community.resident,
        before={"note": "Given with water"},
        after={"note": "Crushed in applesauce"},
        reason="Note left out",
        now=NOW,
    )
    audit_read(actor=community.tech, resident=community.resident, view="mar:pass", now=NOW)

    response = signed_in.get(URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.text
    assert _rows(response) == 2
    assert page.index("mar:pass") < page.index("administration.amend")  # newest first
    for shown in (
        community.nurse.username,
        community.resident.last_name,
        "Given with water",
        "Crushed in applesauce",
        "Note left out",
    ):
        assert shown in page


def test_it_narrows_by_user_resident_days_and_kind(signed_in, community):
    other = ResidentFactory(facility=community.facility)
    audit_read(actor=community.tech, resident=community.resident, view="a", now=NOW)
    audit_read(actor=community.tech, resident=other, view="b", now=NOW)
    audit_read(actor=community.nurse, resident=community.resident, view="c", now=NOW)
    audit_read(
        actor=community.tech, resident=community.resident, view="d", now=NOW - dt.timedelta(days=3)
    )
    audit_write(actor=community.tech, action="x", target=community.resident, now=NOW)

    response = signed_in.get(
        URL,
        {
            "user": community.tech.public_id,
            "resident": community.resident.public_id,
            "kind": "read",
            "occurred_from": (NOW - dt.timedelta(days=1)).date().isoformat(),
            "occurred_to": NOW.date().isoformat(),
        },
    )

    assert response.status_code == 200
    assert _rows(response) == 1
    assert '<span class="muted">a</span>' in response.text


@pytest.mark.parametrize("role", [User.Role.MED_TECH, User.Role.NURSE])
def test_it_answers_403_to_anyone_but_an_administrator(client, community, role):
    client.force_login(UserFactory(role=role, facility=community.facility))

    response = client.get(URL)

    assert response.status_code == 403


def test_it_shows_nothing_of_another_community_and_refuses_its_residents(signed_in, community):
    elsewhere = Community()
    # A name no factory makes, so finding it on the page can only mean a leak.
    elsewhere.resident.last_name = "Quillfeather"
    elsewhere.resident.save(update_fields=["last_name"])
    audit_read(actor=elsewhere.tech, resident=elsewhere.resident, view="v", now=NOW)

    everything = signed_in.get(URL)
    filtered = signed_in.get(URL, {"resident": elsewhere.resident.public_id})

    assert _rows(everything) == 0
    assert elsewhere.resident.last_name not in everything.text
    assert filtered.status_code == 400
    assert _rows(filtered) == 0


def test_it_pages_fifty_at_a_time_newest_first(signed_in, community):
    for minute in range(60):
        audit_read(
            actor=community.tech,
            resident=community.resident,
            view=f"view-{minute:02d}",
            now=NOW + dt.timedelta(minutes=minute),
        )

    first = signed_in.get(URL)
    second = signed_in.get(URL, {"page": 2})

    assert (_rows(first), _rows(second)) == (50, 10)
    assert "view-59" in first.text
    assert "view-09" in second.text
    assert "view-10" not in second.text


def test_it_refuses_an_end_date_before_the_start(signed_in):
    response = signed_in.get(URL, {"occurred_from": "2026-11-20", "occurred_to": "2026-11-19"})

    assert response.status_code == 400
    assert "The end date is before the start date." in response.text


def _page_queries(client, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(20) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_it_makes_the_same_number_of_queries_for_few_rows_or_many(
    signed_in, community, django_assert_max_num_queries
):
    def add_events(count: int) -> None:
        for _ in range(count):
            resident = ResidentFactory(facility=community.facility)
            actor = UserFactory(facility=community.facility)
            audit_read(actor=actor, resident=resident, view="v", now=NOW)
            audit_write(
                actor=actor, action="w", target=resident, after={"k": "v"}, reason="r", now=NOW
            )
        audit_auth(action="auth.signed_in", actor=community.tech, now=NOW)

    signed_in.get(URL)  # warm-up: the session learns the time zone
    add_events(2)
    few = _page_queries(signed_in, django_assert_max_num_queries)
    add_events(30)
    many = _page_queries(signed_in, django_assert_max_num_queries)

    assert few == many


def test_it_says_who_did_what_to_whom_in_the_communitys_time(signed_in, community, admin):
    community.resident.first_name, community.resident.last_name = "Judith", "Weaver"
    community.resident.save(update_fields=["first_name", "last_name"])
    audit_auth(action="auth.signed_in", actor=community.tech, now=NOW)
    audit_read(
        actor=community.nurse,
        resident=community.resident,
        view="mar:resident_month_pdf",
        now=NOW,
    )
    audit_write(
        actor=admin,
        action="facility.update",
        target=community.facility,
        facility=community.facility,
        before={"late_limit_minutes": 120},
        after={"late_limit_minutes": 90},
        now=NOW,
    )

    page = signed_in.get(URL).text
    shown = page.split("<tbody>", 1)[1]
    text = " ".join(shown.split())

    assert "Signed in" in text
    assert "Read the record of Weaver, Judith" in text
    assert "the printed monthly MAR" in text
    assert "Changed the community&#x27;s settings" in text
    assert "Late limit minutes" in text
    assert "Fri Nov 20, 2026 07:00:00 CST" in text  # NOW (13:00 UTC) in Chicago
    for code in (">auth.signed_in<", "residents.resident ", ">late_limit_minutes<", "+00:00<"):
        assert code not in shown
