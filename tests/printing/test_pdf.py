"""The printed monthly MAR, read back from the PDF (pdfplumber for text and positions,
pypdf for pages), for a month charted through the real charting service.

The month is built and rendered once for the module (``printed``): rendering is the
slow part, and every test here only reads the result.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pdfplumber
import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from pypdf import PdfReader

from inventory.models import MedCart
from mar.models import Medication, Order
from mar.services import administrations as charting
from mar.services.doses import doses_close_missed, doses_materialize, doses_sync_for_order
from printing import render
from printing.selectors import Month, monthly_mars
from residents.models import Allergy, Diagnosis, Resident
from staff.models import Certification, User
from tests.factories import (
    DEMO_PASSWORD,
    CertificationFactory,
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    OrderFactory,
    ResidentFactory,
    RoomFactory,
    StockItemFactory,
    UserFactory,
)

# One xdist worker takes the whole module, so the month is rendered once, not once per
# worker.
# The marker also makes the database ready when this module runs alone.
pytestmark = [pytest.mark.xdist_group("print-pdf"), pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")
MONTH = Month(dt.date(2026, 11, 1))
# Friday Nov 20, 12:00 in Chicago: the month is printed two thirds of the way through.
PRINTED_AT = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "print"


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


@dataclass
class Staff:
    maria: User  # med tech MS
    darnell: User  # med tech DB
    rebecca: User  # nurse RH


@dataclass
class ChartedMonth:
    """A resident whose November was charted through the real services."""

    cart: MedCart
    resident: Resident
    staff: Staff
    lisinopril: Order  # daily 08:00
    metformin: Order  # 08:00 and 20:00
    donepezil: Order  # 21:00, from Nov 10 noon
    acetaminophen: Order  # PRN


def make_staff(facility) -> Staff:
    def person(first, last, initials, role, title, certificate):
        user = UserFactory(
            first_name=first,
            last_name=last,
            initials=initials,
            role=role,
            title=title,
            facility=facility,
        )
        CertificationFactory(
            user=user,
            kind=certificate,
            issued_on=dt.date(2025, 6, 1),
            expires_on=dt.date(2027, 6, 1),
        )
        return user

    return Staff(
        maria=person(
            "Maria", "Santos", "MS", User.Role.MED_TECH, "CMA", Certification.Kind.MEDICATION_AIDE
        ),
        darnell=person(
            "Darnell", "Brooks", "DB", User.Role.MED_TECH, "CMA", Certification.Kind.MEDICATION_AIDE
        ),
        rebecca=person(
            "Rebecca", "Hall", "RH", User.Role.NURSE, "RN", Certification.Kind.NURSE_LICENSE
        ),
    )


def make_order(resident, cart, name: str, **fields) -> Order:
    fields = {"starts_at": local(1, 0), **fields}
    medication = Medication.objects.filter(generic_name=name, strength="10 mg").first()
    order = OrderFactory(
        resident=resident,
        medication=medication or MedicationFactory(generic_name=name, strength="10 mg"),
        **fields,
    )
    StockItemFactory(
        cart=cart,
        resident=resident,
        medication=order.medication,
        order=order,
        quantity_on_hand=Decimal("60"),
        expires_on=dt.date(2027, 6, 30),
    )
    return order


def chart(dose, *, user, at, status="given", **fields):
    return charting.administration_record(
        user=user,
        idempotency_key=str(uuid.uuid4()),
        now=at,
        entry=charting.ChartEntry(status=status, administered_at=at, scheduled_dose=dose, **fields),
    ).administration


def dose_at(order: Order, at: dt.datetime):
    return order.doses.get(scheduled_at=at)


def build_charted_month(*, facility=None, last_name: str = "Whitfield") -> ChartedMonth:
    """Margaret Whitfield's November, charted through the real services:

    - Nov 3: lisinopril 08:00 given by MS (BP 128/78, pulse 72); metformin 08:00 refused
      (DB), 20:00 given late (DB, at 21:30); acetaminophen PRN at 14:00 (MS), followed up
      as effective (RH).
    - Nov 4: metformin 08:00 held (MS, blood glucose 62); lisinopril 08:00 given (MS) then
      marked entered in error by the nurse (so still pending: missed by Nov 20); metformin
      20:00 never charted (closed as missed by the job).
    - Donepezil starts Nov 10 at noon (shaded before); Nov 12 21:00 given by DB; Nov 13
      given by DB at 18:30, before its window, on the nurse RH's override.
    """
    facility = facility or FacilityFactory(name="Cedar Court", license_number="IL-ALF-0001")
    cart = MedCartFactory(facility=facility, name=f"Cart {last_name}")
    room = RoomFactory(facility=facility, unit=cart.unit, cart=cart, number="112")
    resident = ResidentFactory(
        facility=facility,
        room=room,
        first_name="Margaret",
        last_name=last_name,
        preferred_name="Peggy",
        date_of_birth=dt.date(1938, 3, 14),
        physician="Dr. Ana Ortiz",
        physician_phone="(217) 555-0134",
        pharmacy="Corner Pharmacy",
        code_status=Resident.CodeStatus.DNR,
        has_no_known_allergies=False,
    )
    Allergy.objects.create(
        resident=resident, allergen="Penicillin", reaction="Hives", severity="moderate"
    )
    Diagnosis.objects.create(
        resident=resident, description="Essential (primary) hypertension", icd10_code="I10"
    )
    staff = make_staff(facility)
    lisinopril = make_order(resident, cart, "lisinopril", administration_times=["08:00"])
    metformin = make_order(resident, cart, "metformin", administration_times=["08:00", "20:00"])
    donepezil = make_order(
        resident, cart, "donepezil", administration_times=["21:00"], starts_at=local(10, 12)
    )
    acetaminophen = make_order(
        resident,
        cart,
        "acetaminophen",
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=4,
        indication="pain",
    )

    doses_materialize(now=local(3, 6))
    chart(
        dose_at(lisinopril, local(3, 8)),
        user=staff.maria,
        at=local(3, 8, 5),
        vitals={"systolic": "128", "diastolic": "78", "pulse": "72"},
    )
    chart(dose_at(metformin, local(3, 8)), user=staff.darnell, at=local(3, 8), status="refused")
    chart(dose_at(metformin, local(3, 20)), user=staff.darnell, at=local(3, 21, 30))
    prn = charting.administration_record(
        user=staff.maria,
        idempotency_key=str(uuid.uuid4()),
        now=local(3, 14),
        entry=charting.ChartEntry(
            status="given",
            administered_at=local(3, 14),
            order=acetaminophen,
            prn_reason="Knee pain 6/10",
        ),
    ).administration
    charting.administration_record_effectiveness(
        administration=prn, user=staff.rebecca, result="effective", note="", now=local(3, 15)
    )
    chart(
        dose_at(metformin, local(4, 8)),
        user=staff.maria,
        at=local(4, 8),
        status="held",
        reason="Blood glucose 62",
        vitals={"blood_glucose": "62"},
    )
    in_error = chart(dose_at(lisinopril, local(4, 8)), user=staff.maria, at=local(4, 8, 10))
    charting.administration_mark_entered_in_error(
        administration=in_error,
        user=staff.rebecca,
        reason="Charted for the wrong resident",
        now=local(4, 9),
    )
    doses_close_missed(now=local(5, 6))
    doses_sync_for_order(order=donepezil, now=local(12, 6))
    chart(dose_at(donepezil, local(12, 21)), user=staff.darnell, at=local(12, 21))
    chart(
        dose_at(donepezil, local(13, 21)),
        user=staff.darnell,
        at=local(13, 18, 30),
        override_by=staff.rebecca,
        override_secret=DEMO_PASSWORD,
        override_reason="Family outing at 19:00, prescriber agrees",
    )
    return ChartedMonth(
        cart=cart,
        resident=resident,
        staff=staff,
        lisinopril=lisinopril,
        metformin=metformin,
        donepezil=donepezil,
        acetaminophen=acetaminophen,
    )


def build_fifteen_orders(facility) -> Resident:
    cart = MedCartFactory(facility=facility, name="Cart fifteen")
    room = RoomFactory(facility=facility, unit=cart.unit, cart=cart, number="214")
    resident = ResidentFactory(
        facility=facility, room=room, first_name="Harold", last_name="Jensen"
    )
    for index in range(15):
        OrderFactory(
            resident=resident,
            medication=MedicationFactory(generic_name=f"medication {index + 1:02d}"),
            administration_times=["08:00"],
            instructions="Give with a full glass of water.",
            starts_at=local(1, 0),
        )
    return resident


def printed_pdf(resident: Resident) -> bytes:
    mar = monthly_mars(residents=[resident], month=MONTH, now=PRINTED_AT)[0]
    return render.render_monthly_mar(mar, rendered_at=PRINTED_AT)


@dataclass(frozen=True)
class Printed:
    """The two PDFs, and what pdfplumber reads from them (read once: it is slow)."""

    whitfield: bytes
    jensen: bytes
    whitfield_pages: list[str]
    jensen_pages: list[str]
    whitfield_grid: list[dict]  # the words on page 1, with positions


@pytest.fixture(scope="module")
def printed(django_db_setup, django_db_blocker) -> Printed:
    """Both residents' November, rendered once; the rows are rolled back at once. A module's
    fixture stands outside each test's moment, so it names its own (Nov 20, noon)."""
    with (
        time_machine.travel(local(20, 12), tick=False),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        month = build_charted_month()
        jensen = build_fifteen_orders(month.resident.facility)
        whitfield, jensen = printed_pdf(month.resident), printed_pdf(jensen)
        transaction.set_rollback(True)
    result = Printed(
        whitfield=whitfield,
        jensen=jensen,
        whitfield_pages=pages_text(whitfield),
        jensen_pages=pages_text(jensen),
        whitfield_grid=grid_words(whitfield),
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "monthly-mar-whitfield.pdf").write_bytes(result.whitfield)
    (ARTIFACTS / "monthly-mar-fifteen-orders.pdf").write_bytes(result.jensen)
    return result


def pages_text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def grid_words(pdf: bytes, page_number: int = 0) -> list[dict]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return document.pages[page_number].extract_words()


def cell_text(words: list[dict], *, medication: str, row: str, day: int) -> str:
    """The text printed in one grid cell: the order's row at ``row`` (e.g. "08:00") and
    the column of ``day``, found from the positions of the header and labels."""
    time_header = next(word for word in words if word["text"] == "Time")
    days = [
        word
        for word in words
        if abs(word["top"] - time_header["top"]) < 8
        and word["x0"] > time_header["x1"]
        and word["text"].isdigit()
    ]
    column = next(word for word in days if word["text"] == str(day))
    width = (days[-1]["x1"] - days[0]["x0"]) / (len(days) - 1)
    center_x = (column["x0"] + column["x1"]) / 2
    block = next(word for word in words if word["text"].lower() == medication.lower())
    label = min(
        (
            word
            for word in words
            if word["text"] == row
            and word["top"] >= block["top"] - 2
            and time_header["x0"] - 4 <= word["x0"] <= time_header["x1"] + 4
        ),
        key=lambda word: word["top"],
    )
    center_y = (label["top"] + label["bottom"]) / 2
    inside = [
        word
        for word in words
        if abs((word["x0"] + word["x1"]) / 2 - center_x) < width / 2
        and abs((word["top"] + word["bottom"]) / 2 - center_y) < 4
    ]
    return " ".join(word["text"] for word in sorted(inside, key=lambda word: word["x0"]))


def test_it_prints_the_residents_name_and_the_month_on_every_page(printed):
    for texts, name in (
        (printed.whitfield_pages, "Whitfield, Margaret"),
        (printed.jensen_pages, "Jensen, Harold"),
    ):
        assert len(texts) >= 2
        for number, text in enumerate(texts, 1):
            assert name in text, f"page {number} lacks the resident's name"
            assert "November 2026" in text, f"page {number} lacks the month"
            assert f"Page {number} of {len(texts)}" in text


def test_it_prints_the_header_with_allergies_diagnoses_and_code_status(printed):
    first = printed.whitfield_pages[0]

    assert "Cedar Court" in first
    assert "Penicillin (Hives, moderate)" in first
    assert "I10 Essential (primary) hypertension" in first
    assert "DNR" in first
    assert "Dr. Ana Ortiz" in first
    assert "Corner Pharmacy" in first
    assert "03/14/1938 (age 88)" in first
    assert "112" in first


def test_it_puts_the_initials_in_the_column_of_the_day_the_dose_was_given(printed):
    words = printed.whitfield_grid

    assert cell_text(words, medication="Lisinopril", row="08:00", day=3) == "MS"
    assert cell_text(words, medication="Lisinopril", row="08:00", day=2) == ""
    assert cell_text(words, medication="Donepezil", row="21:00", day=12) == "DB"


def test_it_puts_the_not_given_code_where_one_was_charted(printed):
    words = printed.whitfield_grid

    assert cell_text(words, medication="Metformin", row="08:00", day=3) == "R"
    assert cell_text(words, medication="Metformin", row="08:00", day=4) == "H"


def test_it_marks_missed_doses_and_late_ones(printed):
    words = printed.whitfield_grid

    # Never charted: closed as missed by the job.
    assert cell_text(words, medication="Metformin", row="20:00", day=4) == "M"
    # Entered in error and never charted again: pending past its late limit, with the
    # mark that sends the reader to the amendment on the notes page.
    assert cell_text(words, medication="Lisinopril", row="08:00", day=4) == "M\u2020"
    # Given after its window: initials with the late mark.
    assert cell_text(words, medication="Metformin", row="20:00", day=3) == "DB*"


def test_it_lists_every_charting_user_in_the_signature_legend(printed):
    text = "\n".join(printed.whitfield_pages)

    assert "MS Maria Santos CMA" in text
    assert "DB Darnell Brooks CMA" in text
    assert "RH Rebecca Hall RN" in text
    legend = text[text.index("Signatures") :]
    assert "Recorded a PRN result" in legend
    assert "Amended an entry" in legend


def test_it_records_prn_doses_with_reason_and_result(printed):
    text = "\n".join(printed.whitfield_pages)

    assert "PRN record" in text
    assert "11/03 14:00 Acetaminophen 10 mg tablet 1 tablet Knee pain 6/10 Given" in text
    assert "Effective (15:00 RH)" in text


def test_it_lists_not_given_doses_missed_doses_and_amendments_on_the_notes_page(printed):
    # The notes follow the legends (on the same page when they fit), so read them from
    # their heading on, across the page break if there is one.
    text = "\n".join(printed.whitfield_pages)
    notes = text[text.index("Notes: doses not given") :]

    assert printed.whitfield_pages[-1].startswith("MEDICATION ADMINISTRATION RECORD")
    assert "Refused" in notes
    assert "Held: Blood glucose 62" in notes
    assert "11/04 20:00 Metformin 10 mg tablet Not reviewed" in notes
    assert "Entered in error" in notes
    assert "Charted for the wrong resident" in notes
    assert "Rebecca Hall, RN" in notes


def test_it_lists_the_vitals_taken_before_doses_on_the_notes_page(printed):
    text = "\n".join(printed.whitfield_pages)
    notes = text[text.index("Vitals taken before doses") :]

    assert "11/03 08:05 Lisinopril 10 mg tablet Given BP 128/78, Pulse 72 MS" in notes
    assert "11/04 08:00 Metformin 10 mg tablet Held Glucose 62 mg/dL MS" in notes


def test_it_lists_doses_given_on_a_nurses_override_with_who_when_and_why(printed):
    text = "\n".join(printed.whitfield_pages)
    notes = text[text.index("Given on a nurse's override") :]

    assert "11/13 21:00 Donepezil 10 mg tablet 11/13 18:30 DB" in notes
    assert "Rebecca Hall, RN, 11/13 18:30" in notes
    assert "Family outing at 19:00, prescriber agrees" in notes
    assert "window opens at 19:00" in notes


def test_it_shows_the_code_legend(printed):
    text = "\n".join(printed.whitfield_pages)

    for label in ("Refused", "Held", "Not available", "Resident away", "Asleep / unable"):
        assert f"Not given: {label.lower()}" in text
    assert "Missed: never charted" in text


def test_a_resident_with_fifteen_orders_prints_on_two_pages(printed):
    # 15 single-time orders: 13 blocks fill the first grid page, the other 2 start the
    # second (under the repeated header and day row) with the PRN record, the legends and
    # the notes after them. (The notes used to start a page of their own: a third of a
    # community's pages, and WeasyPrint's time goes by the page.)
    reader = PdfReader(io.BytesIO(printed.jensen))
    texts = printed.jensen_pages

    assert len(reader.pages) == 2
    assert "Medication 13" in texts[0] and "Medication 14" not in texts[0]
    assert "Medication 15" in texts[1] and "Signatures" in texts[1]
    assert "Medication, dose, route, frequency" in texts[1]
    assert "Notes: doses not given" in texts[1]


def test_it_prints_us_letter_landscape(printed):
    page = PdfReader(io.BytesIO(printed.whitfield)).pages[0]

    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (792, 612)


def test_it_saves_a_png_of_the_first_page_as_a_test_artifact(printed):
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm (poppler-utils) is not installed; bin/install-sysdeps adds it.")
    target = ARTIFACTS / "monthly-mar-page-1"

    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [pdftoppm, "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
         str(ARTIFACTS / "monthly-mar-whitfield.pdf"), str(target)],
        check=True,
        timeout=60,
    )  # fmt: skip

    png = target.with_suffix(".png")
    assert png.stat().st_size > 20_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
