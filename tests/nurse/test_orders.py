import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from mar.models import Medication, Order
from mar.services import orders as order_services
from nurse import selectors as nurse_selectors
from residents.models import Allergy
from tests.factories import MedicationFactory
from tests.nurse.conftest import NOW

pytestmark = pytest.mark.django_db


def order_post(medication: Medication | None = None, **overrides) -> dict:
    data = {
        "medication": medication.pk if medication else "",
        "dose_amount": "1",
        "dose_unit": "tablet",
        "route": "oral",
        "frequency": "times_of_day",
        "administration_times": "08:00, 20:00",
        "starts_on": "2026-11-21",
        "starts_time": "00:00",
        "prescriber": "Dr. Ana Ortiz",
        "rx_number": "RX-1",
    }
    return data | overrides


def new_order_url(resident) -> str:
    return reverse("nurse:order_new", args=[resident.public_id])


def test_it_enters_an_order_pending_a_second_check(client, ward):
    medication = MedicationFactory(generic_name="lisinopril")
    client.force_login(ward.nurse)
    resident = ward.residents[0]

    response = client.post(new_order_url(resident), order_post(medication))

    order = Order.objects.get(resident=resident, medication=medication)
    assert response.status_code == 302
    assert response["Location"] == reverse("nurse:order_detail", args=[order.public_id])
    assert order.status == Order.Status.PENDING_VERIFICATION
    assert order.entered_by == ward.nurse
    assert order.administration_times == ["08:00", "20:00"]
    assert not order.doses.exists()


def test_it_previews_seven_days_of_times_in_the_facility_zone(client, ward):
    client.force_login(ward.nurse)

    with time_machine.travel(NOW, tick=False):  # the week from the order's start, Sat Nov 21
        response = client.post(
            new_order_url(ward.residents[0]),
            order_post(MedicationFactory(), preview="1"),
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="order-preview",
        )

    html = response.content.decode()
    assert response.status_code == 200
    assert not Order.objects.filter(prescriber="Dr. Ana Ortiz", rx_number="RX-1").exists()
    assert html.count('class="time-chip">08:00') == 7
    assert html.count('class="time-chip">20:00') == 7
    assert "Sat Nov 21" in html and "Fri Nov 27" in html
    assert "<html" not in html


def test_it_adds_a_new_catalog_entry_with_the_order(client, ward):
    client.force_login(ward.nurse)

    client.post(
        new_order_url(ward.residents[0]),
        order_post(
            new_generic_name="Donepezil",
            new_strength="5 mg",
            new_form="tablet",
            new_ingredients="donepezil",
        ),
    )

    medication = Medication.objects.get(generic_name="Donepezil")
    assert medication.ingredients == ["donepezil"]
    assert Order.objects.filter(medication=medication).exists()


def test_it_refuses_bad_input_with_a_message_and_changes_nothing(client, ward):
    client.force_login(ward.nurse)

    response = client.post(
        new_order_url(ward.residents[0]),
        order_post(MedicationFactory(), dose_amount="abc", administration_times="25:99"),
    )

    assert response.status_code == 400
    assert not Order.objects.filter(rx_number="RX-1").exists()


def test_it_refuses_a_schedule_the_engine_refuses(client, ward):
    client.force_login(ward.nurse)

    response = client.post(
        new_order_url(ward.residents[0]),
        order_post(MedicationFactory(), administration_times="25:99"),
    )

    assert response.status_code == 400
    assert "25:99" in response.content.decode()
    assert not Order.objects.filter(rx_number="RX-1").exists()


def test_it_flags_an_allergy_and_needs_an_override_with_a_reason(client, ward):
    resident = ward.residents[0]
    Allergy.objects.create(resident=resident, allergen="Penicillin", reaction="Hives")
    medication = MedicationFactory(generic_name="Penicillin V", ingredients=["penicillin v"])
    client.force_login(ward.nurse)

    refused = client.post(new_order_url(resident), order_post(medication))
    overridden = client.post(
        new_order_url(resident),
        order_post(
            medication,
            allergy_override="on",
            allergy_override_reason="Tolerated in hospital; Dr. Ortiz confirmed",
        ),
    )

    assert refused.status_code == 400
    assert 'data-testid="allergy-flag"' in refused.content.decode()
    assert "Allergy warning" in refused.content.decode()
    order = Order.objects.get(resident=resident, medication=medication)
    assert overridden.status_code == 302
    assert order.allergy_override_reason == "Tolerated in hospital; Dr. Ortiz confirmed"


def test_it_refuses_self_verification_and_lets_a_second_nurse_verify(client, ward):
    order = order_services.order_create(
        resident=ward.residents[0],
        medication=MedicationFactory(),
        entered_by=ward.nurse,
        now=NOW,
        **order_fields(),
    )
    url = reverse("nurse:order_verify", args=[order.public_id])
    client.force_login(ward.nurse)

    own = client.post(url, {"checked_against_prescription": "on"})

    assert own.status_code == 403
    assert "second nurse" in own.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_VERIFICATION

    client.force_login(ward.second_nurse)
    second = client.post(url, {"checked_against_prescription": "on"})

    order.refresh_from_db()
    assert second.status_code == 302
    assert order.status == Order.Status.ACTIVE
    assert order.verified_by == ward.second_nurse
    assert order.doses.exists()


def test_it_needs_the_allergy_reviewed_at_verification(client, ward):
    resident = ward.residents[0]
    Allergy.objects.create(resident=resident, allergen="sulfa")
    medication = MedicationFactory(generic_name="sulfamethoxazole", ingredients=["sulfa"])
    order = order_services.order_create(
        resident=resident,
        medication=medication,
        entered_by=ward.nurse,
        now=NOW,
        allergy_override_code="prescriber_aware",
        **order_fields(),
    )
    client.force_login(ward.second_nurse)
    url = reverse("nurse:order_verify", args=[order.public_id])

    unreviewed = client.post(url, {"checked_against_prescription": "on"})
    reviewed = client.post(url, {"checked_against_prescription": "on", "allergy_reviewed": "on"})

    assert unreviewed.status_code == 400
    assert reviewed.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.ACTIVE


def order_fields() -> dict:
    return {
        "dose_amount": 1,
        "dose_unit": "tablet",
        "route": "oral",
        "frequency": "times_of_day",
        "administration_times": ["08:00", "20:00"],
        "starts_at": NOW,
        "prescriber": "Dr. Ortiz",
    }


def test_it_holds_resumes_and_discontinues_with_reasons(client, ward):
    order = ward.orders[0]
    client.force_login(ward.nurse)

    no_reason = client.post(reverse("nurse:order_hold", args=[order.public_id]), {"reason": ""})
    held = client.post(
        reverse("nurse:order_hold", args=[order.public_id]), {"reason": "Systolic 88"}
    )
    order.refresh_from_db()
    assert no_reason.status_code == 400
    assert held.status_code == 302
    assert order.status == Order.Status.ON_HOLD
    assert order.status_reason == "Systolic 88"

    client.post(reverse("nurse:order_resume", args=[order.public_id]))
    order.refresh_from_db()
    assert order.status == Order.Status.ACTIVE

    client.post(
        reverse("nurse:order_discontinue", args=[order.public_id]), {"reason": "Stopped by MD"}
    )
    order.refresh_from_db()
    assert order.status == Order.Status.DISCONTINUED
    assert order.status_reason == "Stopped by MD"


def test_it_changes_an_order_as_a_discontinue_plus_a_linked_new_order(client, ward):
    old = ward.orders[0]
    client.force_login(ward.nurse)

    response = client.post(
        new_order_url(old.resident) + f"?replaces={old.public_id}",
        order_post(old.medication, dose_amount="2", change_reason="Dose increased by MD"),
    )

    old.refresh_from_db()
    new = Order.objects.get(replaces=old)
    assert response.status_code == 302
    assert old.status == Order.Status.DISCONTINUED
    assert old.status_reason == "Dose increased by MD"
    assert new.dose_amount == 2
    assert new.status == Order.Status.PENDING_VERIFICATION


def test_it_answers_403_to_a_med_tech_and_404_for_another_community(client, ward):
    client.force_login(ward.tech)
    tech_pages = [
        client.get(new_order_url(ward.residents[0])),
        client.get(reverse("nurse:order_detail", args=[ward.orders[0].public_id])),
        client.get(reverse("nurse:orders_pending")),
    ]
    client.force_login(ward.nurse)
    other = client.get(new_order_url(ward.other_resident))
    client.force_login(ward.admin)
    admin_read = client.get(reverse("nurse:order_detail", args=[ward.orders[0].public_id]))
    admin_write = client.get(new_order_url(ward.residents[0]))

    assert [page.status_code for page in tech_pages] == [403, 403, 403]
    assert other.status_code == 404
    assert admin_read.status_code == 200
    assert admin_write.status_code == 403


def test_it_starts_a_new_order_at_the_chosen_local_time(client, ward):
    client.force_login(ward.nurse)
    medication = MedicationFactory()

    client.post(
        new_order_url(ward.residents[0]),
        order_post(medication, starts_on="2026-11-21", starts_time="09:30"),
    )

    order = Order.objects.get(medication=medication)
    assert order.starts_at == dt.datetime(2026, 11, 21, 15, 30, tzinfo=dt.UTC)


def test_it_previews_wall_clock_times_across_the_fall_back_day(ward):
    order = Order(
        resident=ward.residents[0],
        medication=MedicationFactory.build(),
        frequency="times_of_day",
        administration_times=["01:30", "08:00"],
        days_of_week=[],
        days_of_month=[],
        interval=None,
        is_time_critical=False,
        window_minutes=None,
        starts_at=dt.datetime(2026, 10, 30, 5, 0, tzinfo=dt.UTC),
    )
    now = dt.datetime(2026, 10, 30, 5, 0, tzinfo=dt.UTC)

    preview = nurse_selectors.order_schedule_preview(
        order=order, facility=ward.facility, pass_times={}, now=now
    )

    assert [day.day for day in preview.days][:4] == [
        dt.date(2026, 10, 30),
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 2),
    ]
    fall_back = preview.days[2]
    assert [f"{at:%H:%M}" for at in fall_back.times] == ["01:30", "08:00"]  # 01:30 taken once
    assert all(len(day.times) == 2 for day in preview.days)
    assert preview.window_minutes == 60


def test_it_gives_the_doses_of_the_last_day_and_previews_them(client, ward):
    """An order "ending on Nov 23" gives its Nov 23 doses: the last day is inclusive."""
    medication = MedicationFactory(generic_name="cephalexin")
    client.force_login(ward.nurse)
    resident = ward.residents[0]
    last_day = order_post(medication, ends_on="2026-11-23")

    with time_machine.travel(NOW, tick=False):
        preview = client.post(
            new_order_url(resident),
            last_day | {"preview": "1"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="order-preview",
        )
        client.post(new_order_url(resident), last_day)

    order = Order.objects.get(resident=resident, medication=medication)
    zone = resident.facility.zone
    assert order.ends_at == dt.datetime(2026, 11, 24, 0, 0, tzinfo=zone)
    assert preview.text.count('class="time-chip">20:00') == 3  # Sat, Sun and Mon Nov 23
    assert "Mon Nov 23" in preview.text and "Tue Nov 24" in preview.text
    detail = client.get(reverse("nurse:order_detail", args=[order.public_id])).text
    assert "Mon Nov 23, 2026 (last day)" in detail


def test_a_time_on_the_last_day_stops_the_order_then(client, ward):
    medication = MedicationFactory(generic_name="cefdinir")
    client.force_login(ward.nurse)
    resident = ward.residents[0]

    with time_machine.travel(NOW, tick=False):
        client.post(
            new_order_url(resident),
            order_post(medication, ends_on="2026-11-23", ends_time="12:00"),
        )

    order = Order.objects.get(resident=resident, medication=medication)
    assert order.ends_at == dt.datetime(2026, 11, 23, 12, 0, tzinfo=resident.facility.zone)


def test_it_shows_every_error_of_the_order_form_at_once(client, ward):
    client.force_login(ward.nurse)

    response = client.post(
        new_order_url(ward.residents[0]),
        order_post(None, dose_amount="abc", administration_times="08:00, 25:99", prescriber=""),
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "25:99 is not a time of day" in html
    assert "Enter a number." in html
    assert "Choose a medication from the catalog" in html
    assert html.count('class="field-error"') >= 3
    assert not Order.objects.filter(rx_number="RX-1").exists()
