"""A certification counts only between its issue and expiry dates, whatever way the dose
is charted; recording one that is not current today warns whoever records it (the staff
page and the Django admin; no API records certifications)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from mar.models import Administration
from mar.services.doses import doses_sync_for_order
from staff.models import Certification, User
from tests import clock
from tests.api.conftest import AT, client_for, stocked_order
from tests.factories import CertificationFactory, UserFactory
from tests.mar.conftest import Community

pytestmark = pytest.mark.django_db


@pytest.fixture
def moment() -> dt.datetime:
    """07:30 in Chicago: the community's 08:00 dose is due."""
    return AT


@pytest.fixture
def community() -> Community:
    """The med tech's certificate expired yesterday; a renewal on file is issued in 2027."""
    community = Community()
    community.tech.certifications.update(expires_on=dt.date(2026, 11, 19))
    CertificationFactory(
        user=community.tech, issued_on=dt.date(2027, 1, 15), expires_on=dt.date(2029, 1, 15)
    )
    return community


@pytest.fixture
def dose(community):
    order = stocked_order(community)
    doses_sync_for_order(order=order, now=AT)
    return order.doses.order_by("scheduled_at", "id").first()


def chart_through_api(community, dose):
    return client_for(community.tech).post(
        "/api/v1/administrations/",
        {
            "scheduled_dose": str(dose.public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def test_it_refuses_a_chart_on_the_page_when_the_only_later_certificate_is_not_issued_yet(
    client, community, dose
):
    client.force_login(community.tech)

    response = client.post(
        reverse("mar:dose_chart", args=[dose.public_id]),
        {"idempotency_key": str(uuid.uuid4()), "status": "given"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 403
    assert "valid only from Jan 15, 2027" in response.text
    assert not Administration.objects.exists()


def test_it_refuses_a_chart_through_the_api_when_the_only_later_certificate_is_not_issued_yet(
    community, dose
):
    response = chart_through_api(community, dose)

    assert response.status_code == 403
    assert "expired on Nov 19, 2026" in response.json()["detail"]
    assert "valid only from Jan 15, 2027" in response.json()["detail"]
    assert not Administration.objects.exists()


def test_it_lets_the_same_med_tech_chart_once_the_renewal_is_issued(community, dose):
    community.tech.certifications.filter(issued_on=dt.date(2027, 1, 15)).update(
        issued_on=clock.today()
    )

    response = chart_through_api(community, dose)

    assert response.status_code == 201


@pytest.fixture
def administrator(community) -> User:
    return UserFactory(role=User.Role.ADMINISTRATOR, facility=community.facility)


def certification_post(**fields) -> dict:
    return {
        "kind": "medication_aide",
        "number": "CMA-7781",
        "state": "IL",
        "issued_on": "2024-11-01",
        "expires_on": "2026-11-01",
    } | fields


def test_it_records_an_already_expired_certificate_on_the_staff_page_with_a_warning(
    client, community, administrator
):
    client.force_login(administrator)
    url = reverse("staff_manage:certification_add", args=[community.tech.public_id])

    response = client.post(url, certification_post(), follow=True)

    assert response.status_code == 200
    assert "already expired on Nov 1, 2026" in response.text
    assert community.tech.certifications.filter(number="CMA-7781").exists()


def test_it_warns_on_the_staff_page_about_a_certificate_issued_in_the_future(
    client, community, administrator
):
    client.force_login(administrator)
    url = reverse("staff_manage:certification_add", args=[community.tech.public_id])

    response = client.post(
        url, certification_post(issued_on="2027-02-01", expires_on="2029-02-01"), follow=True
    )

    assert "issued on Feb 1, 2027, a date still to come" in response.text
    assert "Not valid yet" in response.text


def test_it_warns_in_the_django_admin_about_an_already_expired_certificate(
    client, community, administrator
):
    User.objects.filter(pk=administrator.pk).update(is_staff=True)
    administrator.user_permissions.set(Permission.objects.filter(content_type__app_label="staff"))
    client.force_login(User.objects.get(pk=administrator.pk))

    response = client.post(
        reverse("admin:staff_certification_add"),
        certification_post(user=community.tech.pk),
        follow=True,
    )

    assert response.status_code == 200
    assert "already expired on Nov 1, 2026" in response.text
    assert Certification.objects.filter(number="CMA-7781").exists()
