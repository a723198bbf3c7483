"""The Django admin follows the pages' rules: an administrator sees only their own
communities' rows, a change made there is audited, and clinical data is read-only there
(its changes go through the screens and their services)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from medtech.models import AuditEvent
from residents.models import Allergy
from staff.models import User
from tests.factories import (
    FacilityFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    StockItemFactory,
    UserFactory,
)

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
    ours = RoomFactory(facility=here, number="101")
    page = client.get(reverse("admin:residents_room_change", args=[ours.pk]))
    form = page.context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields and not isinstance(value, list | tuple)
    }
    data |= {"number": "102"}

    response = client.post(reverse("admin:residents_room_change", args=[ours.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin.residents.room.change")
    assert event.actor_id == administrator.pk
    assert (event.before["number"], event.after["number"]) == ("101", "102")


@pytest.fixture
def back_office(client, here):
    """A superuser: every permission the admin knows."""
    user = UserFactory(role=User.Role.ADMINISTRATOR, facility=here)
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(pk=user.pk))
    return user


def test_clinical_data_is_read_only_in_the_admin_even_for_a_superuser(client, here, back_office):
    resident = ResidentFactory(facility=here, physician="Dr. Ortiz", has_no_known_allergies=False)
    allergy = Allergy.objects.create(resident=resident, allergen="Penicillin", reaction="hives")
    medication = MedicationFactory(generic_name="metoprolol")
    order = OrderFactory(resident=resident, medication=medication)
    item = StockItemFactory(resident=resident, medication=medication, order=order)
    readable = {
        "residents_resident": resident,
        "mar_medication": medication,
        "mar_order": order,
        "inventory_stockitem": item,
    }

    pages = {
        name: client.get(reverse(f"admin:{name}_change", args=[row.pk]))
        for name, row in readable.items()
    }
    renamed = client.post(
        reverse("admin:mar_medication_change", args=[medication.pk]),
        {"generic_name": "metformin"},
    )
    added = {name: client.get(reverse(f"admin:{name}_add")).status_code for name in readable}
    deleted = client.post(
        reverse("admin:residents_resident_delete", args=[resident.pk]), {"post": "yes"}
    )

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(readable, 200)
    assert all("Save" not in page.text for page in pages.values())
    assert 'name="allergies-0-allergen"' not in pages["residents_resident"].text
    assert "Penicillin" in pages["residents_resident"].text
    assert renamed.status_code == 403
    assert set(added.values()) == {403}
    assert deleted.status_code == 403
    medication.refresh_from_db()
    allergy.refresh_from_db()
    assert (medication.generic_name, allergy.allergen) == ("metoprolol", "Penicillin")
    assert not AuditEvent.objects.filter(action__startswith="admin.").exists()
