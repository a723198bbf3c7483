"""The print pages: who may print what (wrong role 403, another community 404), PDFs
served from the kept file, and the whole-community print's progress page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from inventory.models import CartAssignment
from mar.models import PrintJob
from printing import services as printing
from staff.models import User
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    ResidentFactory,
    RoomFactory,
    UserFactory,
)
from tests.printing.test_pdf import MONTH, local, make_order, make_staff

pytestmark = pytest.mark.django_db
NOW = local(5, 12)


@pytest.fixture
def moment() -> dt.datetime:
    """The moment these tests stand at."""
    return NOW


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class Place:
    """A community with two carts, a resident on cart A, its staff and an administrator;
    and another community with its own administrator and cart."""

    def __init__(self) -> None:
        self.facility = FacilityFactory(name="Cedar Court")
        self.staff = make_staff(self.facility)
        self.cart = MedCartFactory(facility=self.facility, name="Cart A")
        self.other_cart = MedCartFactory(facility=self.facility, name="Cart B")
        self.resident = ResidentFactory(
            facility=self.facility,
            room=RoomFactory(facility=self.facility, unit=self.cart.unit, cart=self.cart),
            last_name="Abbott",
        )
        make_order(self.resident, self.cart, "lisinopril", administration_times=["08:00"])
        self.administrator = UserFactory(role=User.Role.ADMINISTRATOR, facility=self.facility)
        CartAssignment.objects.create(cart=self.cart, user=self.staff.maria, started_at=NOW)
        elsewhere = FacilityFactory(name="Elm House")
        self.stranger = UserFactory(role=User.Role.ADMINISTRATOR, facility=elsewhere)
        self.stranger_cart = MedCartFactory(facility=elsewhere)


@pytest.fixture
def place() -> Place:
    return Place()


def resident_pdf_url(place: Place) -> str:
    return reverse("printing:resident_month_pdf", args=[place.resident.public_id, MONTH.key])


def test_an_administrator_gets_a_residents_month_as_a_pdf(client, place):
    client.force_login(place.administrator)

    response = client.get(resident_pdf_url(place))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert {"private", "no-store"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    job = PrintJob.objects.get()
    assert (job.kind, job.requested_by) == (PrintJob.Kind.RESIDENT_MONTH, place.administrator)


@pytest.mark.parametrize(("who", "status"), [("nurse", 200), ("med_tech", 403), ("stranger", 404)])
def test_who_may_print_a_residents_month(client, place, who, status):
    user = {
        "nurse": place.staff.rebecca,
        "med_tech": place.staff.maria,
        "stranger": place.stranger,
    }[who]
    client.force_login(user)

    response = client.get(resident_pdf_url(place))

    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "cart", "status"),
    [
        ("med_tech", "own", 200),
        ("med_tech", "other", 403),
        ("med_tech", "elsewhere", 404),
        ("nurse", "other", 200),
        ("off_duty_med_tech", "own", 403),
    ],
)
def test_a_med_tech_prints_only_the_downtime_sheet_of_their_cart(client, place, who, cart, status):
    user = {
        "med_tech": place.staff.maria,
        "off_duty_med_tech": place.staff.darnell,
        "nurse": place.staff.rebecca,
    }[who]
    target = {"own": place.cart, "other": place.other_cart, "elsewhere": place.stranger_cart}[cart]
    client.force_login(user)

    response = client.get(reverse("printing:downtime_sheet_pdf", args=[target.public_id]))

    assert response.status_code == status


def test_the_downtime_link_serves_the_kept_file_without_rendering(client, place):
    kept = printing.downtime_sheet_document(cart=place.cart, now=NOW)
    client.force_login(place.staff.maria)

    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        response = client.get(reverse("printing:downtime_sheet_pdf", args=[place.cart.public_id]))

    assert response.status_code == 200
    with kept.file.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()
    assert PrintJob.objects.count() == 1


def test_the_downtime_link_renders_the_new_shifts_sheet_if_the_job_has_not(client, place):
    printing.downtime_sheet_document(cart=place.cart, now=NOW)
    client.force_login(place.staff.maria)

    with time_machine.travel(local(5, 22, 30), tick=False):
        response = client.get(reverse("printing:downtime_sheet_pdf", args=[place.cart.public_id]))

    assert response.status_code == 200
    newest = PrintJob.objects.order_by("-covers_from").first()
    assert (newest.covers_from, newest.requested_by) == (local(5, 22), place.staff.maria)


def test_the_community_print_starts_a_job_and_shows_its_progress(
    client, place, django_capture_on_commit_callbacks
):
    client.force_login(place.administrator)
    url = reverse("printing:community_month_print", args=[place.facility.public_id, MONTH.key])

    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(url)

    job = PrintJob.objects.get(kind=PrintJob.Kind.COMMUNITY_MONTH)
    assert response.status_code == 302
    assert response["Location"] == reverse("printing:print_job", args=[job.public_id])
    assert len(enqueued) == 1
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Waiting for a print worker" in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()


def test_the_progress_poll_gets_only_its_partial_and_stops_when_ready(
    client, place, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        job = printing.community_month_request(
            facility=place.facility, month=MONTH, user=place.administrator, now=NOW
        ).job
    client.force_login(place.administrator)
    url = reverse("printing:print_job", args=[job.public_id])
    with django_capture_on_commit_callbacks():
        for part_id in printing.community_month_start(job_id=job.pk, now=NOW):
            printing.community_part_render(part_id=part_id, now=NOW)
    assert (
        "putting them together" in client.get(url, headers={"HX-Request": "true"}).content.decode()
    )

    printing.community_month_merge(job_id=job.pk, now=NOW)
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert partial.lstrip().startswith('<section id="print-progress"')
    assert "hx-trigger" not in partial
    assert "Open the PDF" in partial
    download = client.get(reverse("printing:print_job_file", args=[job.public_id]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")


@pytest.mark.parametrize(("who", "status"), [("med_tech", 403), ("stranger", 404)])
def test_who_may_start_or_see_a_community_print(client, place, who, status):
    user = {"med_tech": place.staff.maria, "stranger": place.stranger}[who]
    client.force_login(user)

    response = client.post(
        reverse("printing:community_month_print", args=[place.facility.public_id, MONTH.key])
    )

    assert response.status_code == status
    assert not PrintJob.objects.exists()


def test_a_print_not_ready_has_no_file_yet(client, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        job = printing.community_month_request(
            facility=place.facility, month=MONTH, user=place.administrator, now=NOW
        ).job
    client.force_login(place.staff.rebecca)

    response = client.get(reverse("printing:print_job_file", args=[job.public_id]))

    assert response.status_code == 404


def test_the_print_page_offers_a_med_tech_only_their_carts_sheet(client, place):
    client.force_login(place.staff.maria)

    page = client.get(reverse("printing:print_home")).content.decode()

    assert reverse("printing:downtime_sheet_pdf", args=[place.cart.public_id]) in page
    assert reverse("printing:downtime_sheet_pdf", args=[place.other_cart.public_id]) not in page
    assert "Print the whole community" not in page


def test_the_print_page_lists_residents_for_an_administrator_in_few_queries(
    client, place, django_assert_max_num_queries
):
    for number in range(5):
        ResidentFactory(
            facility=place.facility,
            room=RoomFactory(facility=place.facility, unit=place.cart.unit, number=f"2{number}"),
        )
    client.force_login(place.administrator)

    with django_assert_max_num_queries(16):
        page = client.get(reverse("printing:print_home"), {"month": MONTH.key}).content.decode()

    assert "Print the whole community (6 residents)" in page
    assert resident_pdf_url(place) in page


def test_a_month_that_is_not_a_month_is_404(client, place):
    client.force_login(place.administrator)

    response = client.get(
        reverse("printing:resident_month_pdf", args=[place.resident.public_id, "2026-13"])
    )

    assert response.status_code == 404
