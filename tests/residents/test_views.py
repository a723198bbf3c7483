import datetime as dt
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from pypdf import PdfReader

from medtech.models import AuditEvent
from residents import services
from residents.models import Resident
from tests.factories import OrderFactory, ResidentFactory
from tests.residents.conftest import jpeg_upload


def admit_data(community, **overrides):
    return {
        "first_name": "Evelyn",
        "last_name": "Hart",
        "preferred_name": "",
        "date_of_birth": "1938-03-14",
        "sex": "female",
        "admitted_on": "2026-11-01",
        "room": community.room.pk,
        "physician": "Dr. Ana Ortiz",
        "physician_phone": "",
        "pharmacy": "Corner Pharmacy",
        "pharmacy_phone": "",
        "code_status": "dnr",
        "allergen_0": "Penicillin",
        "reaction_0": "hives",
        "severity_0": "severe",
        "diagnosis_0": "Hypertension",
        "icd10_0": "I10",
    } | overrides


def admit_url(community):
    return reverse("residents:admit") + f"?facility={community.facility.public_id}"


def test_it_admits_a_resident_with_a_photo_through_the_form(client, community):
    client.force_login(community.admin)

    response = client.post(admit_url(community), admit_data(community, photo=jpeg_upload()))

    resident = Resident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("residents:stay", args=[resident.public_id])
    assert resident.photo.name.endswith(".jpg")
    photo = client.get(reverse("residents:photo", args=[resident.public_id]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date_of_birth": "not a date"}, "Enter a valid date"),
        ({"admitted_on": "1930-01-01"}, "before the date of birth"),
        ({"allergen_0": "", "has_no_known_allergies": ""}, "No known allergies"),
        ({"room": "999999"}, "Select a valid choice"),
    ],
)
def test_it_shows_a_clear_error_and_saves_nothing_for_bad_input(
    client, community, overrides, message
):
    client.force_login(community.admin)

    response = client.post(admit_url(community), admit_data(community, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Resident.objects.exists()


def test_it_refuses_a_file_that_is_not_a_picture_as_the_photo(client, community):
    client.force_login(community.admin)
    fake = io.BytesIO(b"%PDF-1.4 not a photo")
    fake.name = "face.jpg"

    response = client.post(admit_url(community), admit_data(community, photo=fake))

    assert response.status_code == 400
    assert "not a picture we can read" in response.content.decode()
    assert not Resident.objects.exists()


def test_it_lets_nurses_read_residents_but_not_change_them(client, community):
    resident = ResidentFactory(facility=community.facility, room=community.room)
    client.force_login(community.nurse)

    listing = client.get(reverse("residents:list"))
    stay = client.get(reverse("residents:stay", args=[resident.public_id]))
    admit = client.get(admit_url(community))
    leave = client.post(
        reverse("residents:leave", args=[resident.public_id]),
        {"leave-kind": "hospital", "leave-started_at": "2026-11-20T06:00"},
    )

    assert (listing.status_code, stay.status_code) == (200, 200)
    assert resident.last_name in listing.content.decode()
    assert "Hospital or leave of absence" not in stay.content.decode()
    assert (admit.status_code, leave.status_code) == (403, 403)
    resident.refresh_from_db()
    assert resident.status == Resident.Status.ACTIVE


def test_it_turns_med_techs_away_from_the_resident_screens(client, community):
    resident = ResidentFactory(facility=community.facility, room=community.room)
    client.force_login(community.tech)

    assert client.get(reverse("residents:list")).status_code == 403
    assert client.get(reverse("residents:stay", args=[resident.public_id])).status_code == 403
    assert client.get(reverse("residents:facility_settings")).status_code == 403


def test_it_answers_404_for_another_communitys_resident_and_settings(client, community):
    theirs = ResidentFactory(facility=community.elsewhere, room=community.elsewhere_room)
    client.force_login(community.admin)

    assert client.get(reverse("residents:stay", args=[theirs.public_id])).status_code == 404
    assert client.get(reverse("printing:face_sheet", args=[theirs.public_id])).status_code == 404
    assert client.get(reverse("residents:photo", args=[theirs.public_id])).status_code == 404
    settings = reverse("residents:facility_settings") + f"?facility={community.elsewhere.public_id}"
    assert client.get(settings).status_code == 404
    response = client.post(
        reverse("residents:discharge", args=[theirs.public_id]),
        {
            "discharge-outcome": "discharged",
            "discharge-on_date": "2026-11-20",
            "discharge-reason": "x",
            "discharge-confirm": "on",
        },
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Resident.Status.ACTIVE


def test_it_searches_and_filters_the_list_by_unit_and_status(client, community):
    ResidentFactory(facility=community.facility, room=community.room, last_name="Abbott")
    ResidentFactory(facility=community.facility, room=community.other_room, last_name="Bennett")
    ResidentFactory(
        facility=community.facility,
        room=community.room,
        last_name="Carver",
        status="discharged",
        discharged_on=dt.date(2026, 2, 1),
    )
    ResidentFactory(facility=community.elsewhere, room=community.elsewhere_room, last_name="Dunn")
    client.force_login(community.admin)
    url = reverse("residents:list")

    everyone = client.get(url).content.decode()
    by_unit = client.get(url, {"unit": community.other_room.unit_id}).content.decode()
    by_name = client.get(url, {"q": "abb"}).content.decode()
    gone = client.get(url, {"status": "discharged"}).content.decode()
    partial = client.get(url, {"q": "ben"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="resident-table")

    assert "Abbott" in everyone and "Bennett" in everyone
    assert "Carver" not in everyone and "Dunn" not in everyone
    assert "Bennett" in by_unit and "Abbott" not in by_unit
    assert "Abbott" in by_name and "Bennett" not in by_name
    assert "Carver" in gone and "Abbott" not in gone
    assert partial.content.decode().lstrip().startswith('<div id="resident-table">')


def test_it_lists_residents_in_a_fixed_number_of_queries(
    client, community, django_assert_max_num_queries
):
    ResidentFactory.create_batch(3, facility=community.facility, room=community.room)
    client.force_login(community.admin)
    client.get(reverse("residents:list"))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("residents:list"))
    ResidentFactory.create_batch(12, facility=community.facility, room=community.other_room)

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("residents:list"))


def test_it_audits_each_look_at_a_stay_and_prints_a_face_sheet(client, community):
    resident = services.resident_admit(
        facility=community.facility,
        by=community.admin,
        now=dt.datetime(2026, 11, 20, 13, tzinfo=dt.UTC),
        room=community.room,
        allergies=[services.AllergyInput("Penicillin", "hives", "severe")],
        has_no_known_allergies=False,
        diagnoses=[services.DiagnosisInput("Hypertension", "I10")],
        first_name="Evelyn",
        last_name="Hart",
        date_of_birth=dt.date(1938, 3, 14),
        admitted_on=dt.date(2026, 11, 1),
        physician="Dr. Ana Ortiz",
        code_status="dnr",
    )
    OrderFactory(resident=resident)
    client.force_login(community.nurse)

    client.get(reverse("residents:stay", args=[resident.public_id]))
    pdf = client.get(reverse("printing:face_sheet", args=[resident.public_id]))

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    artifacts = Path(settings.BASE_DIR) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "face-sheet.pdf").write_bytes(pdf.content)
    reader = PdfReader(io.BytesIO(pdf.content))
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1
    for expected in (
        "Hart, Evelyn",
        "Penicillin",
        "DNR",
        "Hypertension",
        "Dr. Ana Ortiz",
        "testamine",
    ):
        assert expected in text
    views = set(
        AuditEvent.objects.filter(
            kind="read", resident=resident, actor=community.nurse
        ).values_list("view", flat=True)
    )
    assert views == {"residents:stay", "printing:face_sheet"}


def test_it_saves_the_am_pass_time_from_the_settings_page(client, community):
    client.force_login(community.admin)
    url = reverse("residents:facility_settings") + f"?facility={community.facility.public_id}"
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data |= {"pass_AM": "07:30", "requires_second_check": ""}
    data = {
        key: value.strftime("%H:%M") if isinstance(value, dt.time) else value
        for key, value in data.items()
    }

    response = client.post(url, data)

    assert response.status_code == 302
    assert community.facility.pass_times.get(name="AM").time_of_day == dt.time(7, 30)
    community.facility.refresh_from_db()
    assert community.facility.requires_second_check is False


def test_it_refuses_an_unknown_time_zone_without_changing_anything(client, community):
    client.force_login(community.admin)
    url = reverse("residents:facility_settings") + f"?facility={community.facility.public_id}"

    response = client.post(
        url, {"name": "Maple Grove", "time_zone": "Mars/Olympus", "pass_AM": "25:00"}
    )

    assert response.status_code == 400
    community.facility.refresh_from_db()
    assert community.facility.time_zone == "America/Chicago"


def test_it_prints_the_residents_photo_on_the_face_sheet(client, community):
    client.force_login(community.admin)
    client.post(admit_url(community), admit_data(community, photo=jpeg_upload()))
    resident = Resident.objects.get()

    pdf = client.get(reverse("printing:face_sheet", args=[resident.public_id]))

    page = PdfReader(io.BytesIO(pdf.content)).pages[0]
    assert len(page.images) == 1
    assert "No photo on file" not in page.extract_text()


def test_it_shows_every_implausible_fact_at_once_and_admits_no_one(client, community):
    ResidentFactory(facility=community.facility, room=community.room, last_name="Weaver")
    client.force_login(community.admin)

    response = client.post(
        admit_url(community),
        admit_data(community, date_of_birth="1899-12-31", pharmacy_phone="call the front desk"),
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "The date of birth is before 1900 (Dec 31, 1899): check the year." in html
    assert "The pharmacy&#x27;s phone number is not a phone number" in html
    assert "is taken by Weaver" in html
    assert not Resident.objects.filter(last_name="Hart").exists()


def test_a_future_birth_date_says_so_not_that_the_admission_comes_first(client, community):
    client.force_login(community.admin)

    response = client.post(admit_url(community), admit_data(community, date_of_birth="2030-01-01"))

    html = response.content.decode()
    assert response.status_code == 400
    assert "The date of birth is in the future." in html
    assert "before the date of birth" not in html
    assert not Resident.objects.filter(last_name="Hart").exists()


def test_a_real_phone_number_is_accepted(client, community):
    client.force_login(community.admin)

    response = client.post(
        admit_url(community),
        admit_data(
            community, physician_phone="(217) 555-0142 ext. 12", pharmacy_phone="+1 217.555.0199"
        ),
    )

    assert response.status_code == 302
    assert Resident.objects.filter(last_name="Hart").exists()
