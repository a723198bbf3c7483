"""The Django admin follows the pages' rules: an administrator sees only their own
communities' rows, and a change made there is audited."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from medtech.models import AuditEvent
from staff.models import User
from tests.factories import FacilityFactory, ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def here():
    return FacilityFactory(name="Maple Grove")


@pytest.fixture
def administrator(client, here):
    """A community's administrator given the back office (staff status and the Django
    permissions for residents and staff), not a superuser."""
    user = UserFactory(role=User.Role.ADMINISTRATOR, facility=here)
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["residents", "staff"])
    )
    client.force_login(User.objects.get(pk=user.pk))
    return user


def test_it_lists_only_the_administrators_own_residents(client, here, administrator):
    ours = ResidentFactory(facility=here, last_name="Whitfield")
    theirs = ResidentFactory(facility=FacilityFactory(name="Elsewhere"), last_name="Quimby")

    listing = client.get(reverse("admin:residents_resident_changelist"))
    other = client.get(reverse("admin:residents_resident_change", args=[theirs.pk]))
    own = client.get(reverse("admin:residents_resident_change", args=[ours.pk]))

    assert listing.status_code == 200
    assert "Whitfield" in listing.text
    assert "Quimby" not in listing.text
    assert other.status_code == 302  # the admin's "does not exist", as for a wrong id
    assert own.status_code == 200


def test_it_hides_other_communities_staff(client, here, administrator):
    colleague = UserFactory(facility=here, username="colleague")
    stranger = UserFactory(facility=FacilityFactory(name="Elsewhere"), username="stranger")

    listing = client.get(reverse("admin:staff_user_changelist"))

    assert colleague.username in listing.text
    assert stranger.username not in listing.text


def test_a_change_in_the_admin_is_audited_without_secrets(client, here, administrator):
    ours = ResidentFactory(facility=here, physician="Dr. Ortiz")
    page = client.get(reverse("admin:residents_resident_change", args=[ours.pk]))
    form = page.context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields and not isinstance(value, list | tuple)
    }
    data |= {"physician": "Dr. Okafor", "photo": ""}
    for prefix in ("allergies", "diagnoses"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}

    response = client.post(reverse("admin:residents_resident_change", args=[ours.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin.residents.resident.change")
    assert (event.actor_id, event.resident_id) == (administrator.pk, ours.pk)
    assert (event.before["physician"], event.after["physician"]) == ("Dr. Ortiz", "Dr. Okafor")
