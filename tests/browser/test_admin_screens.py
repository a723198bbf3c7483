"""The administrator's screens in Chromium at desktop size: a resident's stay from
admission (photo, allergy) through a hospital stay to discharge; a med tech whose
certification expired yesterday; a change of the AM pass time."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from mar.models import Order, ScheduledDose
from mar.services.doses import doses_close_missed, doses_materialize
from residents.models import Resident, ResidentAbsence
from staff.models import Certification, User
from tests import clock
from tests.browser.conftest import horizontal_overflow, new_context, screenshot
from tests.factories import (
    DEMO_PASSWORD,
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.realtime, pytest.mark.xdist_group("browser")]

DESKTOP = {"width": 1280, "height": 800}
LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture
def desktop_page(browser: Browser) -> Iterator[Page]:
    context = new_context(
        browser, viewport=DESKTOP, device_scale_factor=1, timezone_id="America/Chicago"
    )
    page = context.new_page()
    yield page
    context.close()


class Community:
    def __init__(self) -> None:
        self.facility = FacilityFactory(name="Maple Grove Assisted Living")
        self.cart = MedCartFactory(facility=self.facility, name="Cart A - Magnolia")
        self.room = RoomFactory(
            facility=self.facility, unit=self.cart.unit, cart=self.cart, number="104"
        )
        self.admin = UserFactory(
            username="admin1",
            first_name="Grace",
            last_name="Okafor",
            role=User.Role.ADMINISTRATOR,
            initials="GO",
            title="Administrator",
            facility=self.facility,
        )

    @property
    def zone(self):
        return self.facility.zone


@pytest.fixture
def community(transactional_db) -> Community:
    return Community()


def sign_in(
    page: Page, base_url: str, username: str, name: str, password: str = DEMO_PASSWORD
) -> None:
    page.goto(base_url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topbar .who")).to_contain_text(name)


def portrait_jpeg() -> bytes:
    image = Image.new("RGB", (900, 1200), (196, 160, 140))
    for x in range(300, 600):
        for y in range(300, 700, 7):
            image.putpixel((x, y), (90, 60, 50))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def test_it_takes_a_resident_from_admission_through_hospital_to_discharge(
    desktop_page: Page, live_server, community: Community
):
    page = desktop_page
    sign_in(page, live_server.url, "admin1", "Grace Okafor")
    page.get_by_role("link", name="Residents").first.click()
    page.get_by_role("link", name="Admit a resident").click()

    page.get_by_label("First name").fill("Evelyn")
    page.get_by_label("Last name").fill("Hart")
    page.get_by_label("Preferred name").fill("Evie")
    page.get_by_label("Date of birth").fill("1938-03-14")
    page.get_by_label("Admitted on").fill(clock.now().astimezone(community.zone).date().isoformat())
    page.get_by_label("Room").select_option(label="104 · " + community.room.unit.name)
    page.get_by_label("Code status").select_option(label="DNR")
    page.get_by_label("Physician", exact=True).fill("Dr. Ana Ortiz")
    page.get_by_label("Pharmacy", exact=True).fill("Corner Pharmacy")
    page.get_by_label("Allergen 1").fill("Penicillin")
    page.get_by_label("Reaction 1").fill("Hives")
    page.get_by_label("Severity 1").select_option(label="Severe")
    page.get_by_label("Diagnosis 1").fill("Type 2 diabetes")
    page.get_by_label("ICD-10 code 1").fill("E11.9")
    page.get_by_label("Photo").set_input_files(
        {"name": "camera.jpg", "mimeType": "image/jpeg", "buffer": portrait_jpeg()}
    )
    expect(page.locator("[data-photo-preview]")).to_be_visible()
    screenshot(page, "admin-admit-form")
    page.get_by_role("button", name="Admit").click()

    expect(page.get_by_role("heading", name='Hart, Evelyn "Evie"')).to_be_visible()
    expect(page.locator(".allergies-present")).to_contain_text("Penicillin (Hives)")
    photo = page.get_by_role("img", name="Photo of Evelyn Hart")
    expect(photo).to_be_visible()
    # Visible is not loaded: decode() waits for the bytes (and fails if they are not an image).
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    resident = Resident.objects.get(last_name="Hart")
    assert resident.photo.name.endswith(".jpg")

    # An order that gives a dose every three hours, scheduled since before they left.
    now = clock.now()
    left_at = (now - dt.timedelta(hours=10)).astimezone(community.zone).replace(second=0)
    OrderFactory(
        resident=resident,
        medication=MedicationFactory(generic_name="metformin", strength="500 mg"),
        administration_times=[f"{hour:02d}:00" for hour in range(0, 24, 3)],
    )
    doses_materialize(now=now - dt.timedelta(hours=11))

    page.get_by_text("Hospital or leave of absence").click()
    page.get_by_label("Hospital").check()
    page.get_by_label("Left at").fill(left_at.strftime(LOCAL))
    page.get_by_label("Where, and why").fill("ER after a fall")
    page.get_by_role("button", name="Record as away").click()
    expect(page.locator("[data-resident-status]")).to_have_text("Away: hospital")
    expect(page.locator("p.alert")).to_contain_text("Their doses show as away, not missed")
    expect(page.locator("[data-recent-doses]")).to_contain_text("Away")  # before the job runs
    screenshot(page, "admin-stay-away")

    page.get_by_role("button", name="Record the return").click()
    expect(page.locator("[data-resident-status]")).to_have_text("Active")
    back_at = ResidentAbsence.objects.get(resident=resident).ended_at
    doses_close_missed(now=clock.now())  # what Celery beat runs every few minutes
    page.reload()

    doses = page.locator("[data-recent-doses]")
    expect(doses).to_contain_text("Away")
    during = ScheduledDose.objects.filter(
        resident=resident, scheduled_at__gte=left_at, scheduled_at__lt=back_at
    )
    away = during.filter(status=ScheduledDose.Status.AWAY)
    assert away.exists()
    assert not during.filter(status=ScheduledDose.Status.MISSED).exists()
    for dose in away:
        when = timezone.localtime(dose.scheduled_at, community.zone).strftime("%a %b %-d, %H:%M")
        expect(doses.locator("tr", has_text=when)).to_contain_text("Away")
    screenshot(page, "admin-stay-back")

    page.get_by_text("Discharge or death").click()
    page.get_by_label("Discharged").check()
    page.get_by_label("Where to, or the circumstances").fill("Home with her daughter")
    page.get_by_label("I understand their orders end now").check()
    page.get_by_role("button", name="Record", exact=True).click()

    expect(page.locator("[data-resident-status]")).to_have_text("Discharged")
    expect(page.locator("p.alert")).to_contain_text("the record stays readable")
    assert set(Order.objects.filter(resident=resident).values_list("status", flat=True)) == {
        Order.Status.DISCONTINUED
    }
    assert horizontal_overflow(page) == 0
    screenshot(page, "admin-stay-discharged")

    page.goto(live_server.url + reverse("residents:list") + "?status=discharged")
    expect(page.get_by_role("link", name='Hart, Evelyn "Evie"')).to_be_visible()
    screenshot(page, "admin-residents-discharged")


def test_it_shows_a_med_tech_whose_certification_expired_yesterday_that_they_cannot_chart(
    desktop_page: Page, live_server, community: Community
):
    page = desktop_page
    today = clock.now().astimezone(community.zone).date()
    sign_in(page, live_server.url, "admin1", "Grace Okafor")
    page.get_by_role("link", name="Staff").first.click()
    page.get_by_role("link", name="Add a person").click()

    page.get_by_label("First name").fill("Darnell")
    page.get_by_label("Last name").fill("Brooks")
    page.get_by_label("Username").fill("dbrooks")
    page.get_by_label("Role").select_option(label="Med tech")
    page.get_by_label("Title").fill("CMA")
    page.get_by_label("Initials").fill("GO")
    page.get_by_label("Maple Grove Assisted Living").check()
    page.get_by_label("First password").fill("brooks-first-pass-1")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".field-error")).to_contain_text("already Grace Okafor's initials")
    screenshot(page, "admin-staff-initials-clash")
    page.get_by_label("Initials").fill("DB")
    page.get_by_label("First password").fill("brooks-first-pass-1")
    page.get_by_role("button", name="Add", exact=True).click()

    expect(page.get_by_role("heading", name="Darnell Brooks")).to_be_visible()
    page.get_by_label("Certification", exact=True).select_option(
        label="Medication aide / technician"
    )
    page.get_by_label("Number").fill("CMA-88231")
    page.get_by_label("State").fill("IL")
    page.get_by_label("Issued on").fill((today - dt.timedelta(days=730)).isoformat())
    page.get_by_label("Expires on").fill((today - dt.timedelta(days=1)).isoformat())
    page.get_by_label("Copy of the certificate").set_input_files(
        {"name": "cma.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
    )
    page.get_by_role("button", name="Add certification").click()
    expect(page.get_by_role("cell", name="CMA-88231")).to_be_visible()
    expect(page.get_by_role("row", name="CMA-88231")).to_contain_text("Expired")
    certification = Certification.objects.get(number="CMA-88231")
    assert certification.expires_on == today - dt.timedelta(days=1)
    assert certification.document.name.endswith(".pdf")
    screenshot(page, "admin-staff-detail")

    page.get_by_role("link", name="Staff").first.click()
    page.goto(live_server.url + reverse("staff_manage:expiring"))
    row = page.locator("[data-certifications-due] tr", has_text="Darnell Brooks")
    expect(row).to_contain_text("Expired")
    expect(row).to_contain_text("Cannot chart")
    screenshot(page, "admin-certifications-due")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, "dbrooks", "Darnell Brooks", "brooks-first-pass-1")
    expect(page.get_by_role("alert")).to_contain_text(
        "expired on " + (today - dt.timedelta(days=1)).strftime("%b %-d, %Y").replace(" 0", " ")
    )
    expect(page.get_by_role("alert")).to_contain_text("you cannot chart")
    screenshot(page, "admin-med-tech-home-cannot-chart")


def test_it_moves_the_next_doses_when_the_am_pass_time_changes(
    desktop_page: Page, live_server, community: Community
):
    page = desktop_page
    resident = ResidentFactory(
        facility=community.facility, room=community.room, first_name="Harold", last_name="Bennett"
    )
    order = OrderFactory(
        resident=resident,
        medication=MedicationFactory(generic_name="levothyroxine", strength="50 mcg"),
        administration_times=["AM"],
    )
    doses_materialize(now=clock.now())
    zone = community.zone
    before = {
        d.astimezone(zone).strftime("%H:%M")
        for d in order.doses.values_list("scheduled_at", flat=True)
    }
    assert before == {"08:00"}
    sign_in(page, live_server.url, "admin1", "Grace Okafor")
    page.get_by_role("link", name="Community settings").first.click()

    page.get_by_label("AM pass").fill("07:30")
    screenshot(page, "admin-settings")
    page.get_by_role("button", name="Save settings").click()

    expect(page.locator(".messages")).to_contain_text("Future doses of 1 orders were rescheduled")
    after = {
        d.astimezone(zone).strftime("%H:%M")
        for d in order.doses.values_list("scheduled_at", flat=True)
    }
    assert after == {"07:30"}
    page.goto(live_server.url + reverse("residents:stay", args=[resident.public_id]))
    doses = page.locator("section:has(#doses-heading), section:has(#upcoming-heading)")
    text = " ".join(doses.all_inner_texts())
    assert "07:30" in text and "08:00" not in text
    screenshot(page, "admin-stay-after-am-change")
