import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mar.models import Administration, Amendment, Order
from medtech.models import AuditEvent
from residents.models import Allergy, Diagnosis
from tests.factories import MedicationFactory, OrderFactory
from tests.nurse.conftest import NOW, Ward

pytestmark = pytest.mark.django_db


def record_url(resident) -> str:
    return reverse("nurse:resident_record", args=[resident.public_id])


def test_it_shows_the_record_and_audits_the_read(client, ward):
    resident = ward.residents[0]
    Allergy.objects.create(resident=resident, allergen="Latex", reaction="Rash")
    Diagnosis.objects.create(resident=resident, description="Hypertension", icd10_code="I10")
    ward.history(days=3)
    client.force_login(ward.nurse)

    response = client.get(record_url(resident))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Latex" in html and "I10" in html
    assert str(ward.orders[0].medication) in html
    assert 'data-testid="mar-grid"' in html
    assert "Refused" in html and ward.tech.initials in html
    event = AuditEvent.objects.get(action="resident.read", actor=ward.nurse)
    assert event.resident_id == resident.pk
    assert event.view == "nurse:resident_record"


def test_it_shows_past_orders_and_prn_history_with_effectiveness(client, ward):
    resident = ward.residents[0]
    OrderFactory(
        resident=resident,
        medication=MedicationFactory(generic_name="oldamine"),
        status=Order.Status.DISCONTINUED,
        status_reason="Finished course",
        status_changed_at=NOW - dt.timedelta(days=3),
    )
    client.force_login(ward.nurse)

    html = client.get(record_url(resident)).content.decode()

    assert "Past orders (1)" in html
    assert "Finished course" in html


def test_it_answers_403_to_a_med_tech_and_404_for_another_community(client, ward):
    client.force_login(ward.tech)
    tech = client.get(record_url(ward.residents[0]))
    client.force_login(ward.nurse)
    other = client.get(record_url(ward.other_resident))
    client.force_login(ward.admin)
    admin = client.get(record_url(ward.residents[0]))

    assert tech.status_code == 403
    assert other.status_code == 404
    assert admin.status_code == 200


def queries_for_record(client, ward) -> int:
    client.force_login(ward.nurse)
    client.get(record_url(ward.residents[0]))
    with CaptureQueriesContext(connection) as captured:
        client.get(record_url(ward.residents[0]))
    return len(captured)


def test_it_makes_the_same_number_of_queries_for_a_longer_history(client):
    short = Ward(residents=1)
    short.history(days=2)
    short_queries = queries_for_record(client, short)
    long = Ward(residents=1)
    long.history(days=7)
    long_queries = queries_for_record(client, long)

    assert long_queries == short_queries


def a_refusal(ward) -> Administration:
    ward.history(days=2)
    return Administration.objects.filter(status="refused").order_by("id").first()


def test_it_amends_a_record_and_shows_the_full_history(client, ward):
    record = a_refusal(ward)
    url = reverse("nurse:administration_detail", args=[record.public_id])
    client.force_login(ward.nurse)

    response = client.post(
        url,
        {"field": "reason", "new_text": "Refused: nauseated", "reason": "Clarified with tech"},
    )
    client.post(url, {"field": "note", "new_text": "Offered again at 21:00", "reason": "Added"})
    page = client.get(url).content.decode()

    assert response.status_code == 302
    amendments = list(record.amendments.order_by("amended_at", "id"))
    assert [a.field for a in amendments] == ["reason", "note"]
    assert amendments[0].old_value == "Said no"
    assert amendments[0].new_value == "Refused: nauseated"
    record.refresh_from_db()
    assert record.reason == "Said no"  # the original is never changed
    assert page.count('data-testid="amendment"') == 2
    assert "Said no" in page and "Refused: nauseated" in page
    assert ward.nurse.signature_name in page


def test_it_amends_the_time_given_in_the_facility_zone(client, ward):
    record = a_refusal(ward)
    client.force_login(ward.nurse)
    local = record.administered_at.astimezone(ward.facility.zone) - dt.timedelta(minutes=10)

    client.post(
        reverse("nurse:administration_detail", args=[record.public_id]),
        {
            "field": "administered_at",
            "new_time": local.strftime("%Y-%m-%dT%H:%M"),
            "reason": "Charted the wrong time",
        },
    )

    amendment = Amendment.objects.get(administration=record)
    assert dt.datetime.fromisoformat(amendment.new_value) == local.replace(second=0)


def test_it_marks_a_record_entered_in_error_with_a_reason(client, ward):
    record = a_refusal(ward)
    client.force_login(ward.nurse)

    client.post(
        reverse("nurse:administration_detail", args=[record.public_id]),
        {"field": "entered_in_error", "reason": "Wrong resident"},
    )

    record.refresh_from_db()
    assert record.is_entered_in_error
    assert Amendment.objects.get(administration=record).field == "entered_in_error"


def test_it_refuses_an_amendment_without_a_reason_or_with_a_bad_value(client, ward):
    record = a_refusal(ward)
    url = reverse("nurse:administration_detail", args=[record.public_id])
    client.force_login(ward.nurse)

    no_reason = client.post(url, {"field": "note", "new_text": "x", "reason": ""})
    given = client.post(url, {"field": "status", "new_status": "given", "reason": "Oops"})
    junk = client.post(url, {"field": "nonsense", "reason": "x"})

    assert (no_reason.status_code, given.status_code, junk.status_code) == (400, 400, 400)
    assert "entered in error" in given.content.decode()
    assert not Amendment.objects.exists()


def test_it_lets_only_a_nurse_amend(client, ward):
    record = a_refusal(ward)
    url = reverse("nurse:administration_detail", args=[record.public_id])

    client.force_login(ward.admin)
    admin_read = client.get(url)
    admin_write = client.post(url, {"field": "note", "new_text": "x", "reason": "y"})
    client.force_login(ward.tech)
    tech = client.get(url)
    client.force_login(ward.other_nurse)
    other = client.get(url)

    assert admin_read.status_code == 200
    assert admin_write.status_code == 403
    assert tech.status_code == 403
    assert other.status_code == 404
    assert not Amendment.objects.exists()


def test_it_shows_the_vitals_taken_before_a_dose_on_the_record_and_the_administration(client, ward):
    ward.materialize(days=1)
    dose = ward.orders[0].doses.order_by("scheduled_at").first()
    record = ward.chart(
        dose, vitals={"systolic": "128", "diastolic": "78", "pulse": "72", "blood_glucose": "64"}
    )
    client.force_login(ward.nurse)

    grid = client.get(record_url(ward.residents[0])).content.decode()
    detail = client.get(reverse("nurse:administration_detail", args=[record.public_id]))

    assert "BP 128/78, Pulse 72, Glucose 64 mg/dL" in grid
    assert 'data-testid="cell-vitals"' in grid
    assert "Vitals before the dose" in detail.content.decode()
    assert "BP 128/78, Pulse 72, Glucose 64 mg/dL" in detail.content.decode()
