import pytest
from django.urls import reverse

from mar.models import Notification
from tests.factories import UserFactory
from tests.mar.conftest import NOW


def notify(user, facility, key: str) -> Notification:
    return Notification.objects.create(
        recipient=user,
        facility=facility,
        kind=Notification.Kind.DOSE_DUE,
        subject_key=key,
        title=f"Due 08:00: Room 101 ({key})",
        created_at=NOW,
    )


@pytest.fixture
def signed_in(client, community):
    client.force_login(community.tech)
    return client


def test_it_shows_the_unread_count_on_the_bell_of_every_page(signed_in, community):
    notify(community.tech, community.facility, "dose:1")
    notify(community.tech, community.facility, "dose:2")

    response = signed_in.get(reverse("home"))

    assert response.status_code == 200
    assert 'aria-label="Notifications: 2 unread"' in response.text


def test_it_refreshes_just_the_bell_for_htmx(signed_in, community, django_assert_num_queries):
    notify(community.tech, community.facility, "dose:1")
    signed_in.get(reverse("home"))  # the session learns the facility's time zone

    with django_assert_num_queries(3):  # session, user, unread count
        response = signed_in.get(reverse("mar:notification_bell"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.text.strip().startswith('<a id="notification-bell"')
    assert "<html" not in response.text


def test_it_marks_one_and_then_all_as_read(signed_in, community):
    first = notify(community.tech, community.facility, "dose:1")
    notify(community.tech, community.facility, "dose:2")

    signed_in.post(reverse("mar:notification_read", args=[first.pk]))
    one_left = Notification.objects.filter(read_at__isnull=True).count()
    signed_in.post(reverse("mar:notifications_read_all"))

    assert one_left == 1
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_it_answers_404_for_someone_elses_notification(signed_in, community):
    theirs = notify(UserFactory(facility=community.facility), community.facility, "dose:1")

    response = signed_in.post(reverse("mar:notification_read", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_lists_notifications_newest_first(signed_in, community):
    notify(community.tech, community.facility, "dose:1")

    response = signed_in.get(reverse("mar:notifications"))

    assert "Due 08:00: Room 101 (dose:1)" in response.text
    assert "Mark all as read" in response.text


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(reverse("mar:notifications"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
