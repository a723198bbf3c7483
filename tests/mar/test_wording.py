"""Orders, doses and routes in words (mar.wording): the one place every page, the API's
display strings and the printed MAR read them from."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from pypdf import PdfReader

from mar import wording
from mar.models import Amendment, Medication, Order, Route, Vital
from mar.services import administrations as charting
from mar.services.doses import doses_sync_for_order
from printing import render
from printing.selectors import Month, monthly_mars
from staff.models import Certification, User
from staff.selectors import user_charting_refusal
from tests.factories import CertificationFactory, MedicationFactory
from tests.mar.conftest import NOW, Community
from tests.world import person

AT = NOW + dt.timedelta(minutes=30)  # 07:30 in Chicago: the 08:00 dose is due
CHICAGO = ZoneInfo("America/Chicago")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "print"


@pytest.fixture
def moment() -> dt.datetime:
    return AT


def order_like(**fields) -> SimpleNamespace:
    values = {
        "frequency": "times_of_day",
        "administration_times": ["08:00"],
        "days_of_week": [],
        "days_of_month": [],
        "interval": None,
        "dose_amount": Decimal("1"),
        "dose_unit": "tablet",
        "route": Route.ORAL,
    }
    return SimpleNamespace(**values | fields)


@pytest.mark.parametrize(
    ("amount", "unit", "words"),
    [
        ("1", "tablet", "1 tablet"),
        ("2.000", "tablet", "2 tablets"),
        ("2", "tabs", "2 tablets"),
        ("12", "suppository", "12 suppositories"),
        ("1", "dose", "1 dose"),
        ("3", "doses", "3 doses"),
        ("2", "patch", "2 patches"),
        ("0.5", "mL", "0.5 mL"),
        ("10", "units", "10 units"),
    ],
)
def test_it_says_a_dose_with_the_right_plural(amount, unit, words):
    assert wording.dose_words(Decimal(amount), unit) == words


def test_it_says_routes_in_words_not_codes():
    drops = order_like(dose_amount=Decimal("1"), dose_unit="drop", route=Route.OPHTHALMIC)

    assert wording.sig_words(drops) == "1 drop in the eye (ophthalmic)"
    assert wording.route_words(Route.ORAL) == "by mouth"
    assert wording.route_words(Route.INHALED) == "inhaled"


def test_it_names_a_solution_breathed_in_an_inhalation_solution():
    duoneb = SimpleNamespace(form=Medication.Form.SOLUTION, default_route=Route.INHALED)
    syrup = SimpleNamespace(form=Medication.Form.SOLUTION, default_route=Route.ORAL)

    assert wording.form_words(duoneb, route=Route.INHALED) == "inhalation solution"
    assert wording.form_words(syrup, route=Route.ORAL) == "oral solution"


def test_it_says_the_vitals_needed_in_words():
    assert wording.needs_vitals_words([Vital.BLOOD_GLUCOSE]) == (
        "Needs blood glucose before giving"
    )
    assert wording.vitals_words([Vital.SYSTOLIC, Vital.DIASTOLIC, Vital.PULSE]) == (
        "blood pressure and pulse"
    )
    assert wording.needs_vitals_words([]) == ""


def test_it_says_how_often_with_the_pass_times_as_clock_times():
    every_two_days = order_like(frequency="every_n_days", interval=2, administration_times=["AM"])
    every_six_hours = order_like(frequency="every_n_hours", interval=6, administration_times=[])

    assert wording.frequency_words(every_two_days, pass_times={"AM": dt.time(8)}) == (
        "Every 2 days at 08:00"
    )
    assert wording.frequency_words(every_six_hours) == "Every 6 hours"


def test_it_says_an_order_ends_on_its_last_day():
    midnight_after = dt.datetime(2026, 12, 9, 0, 0, tzinfo=CHICAGO)
    evening = dt.datetime(2026, 12, 8, 20, 0, tzinfo=CHICAGO)

    assert wording.end_words(midnight_after, zone=CHICAGO) == "Tue Dec 8, 2026 (last day)"
    assert wording.end_words(evening, zone=CHICAGO) == "Tue Dec 8, 2026 at 20:00"
    assert wording.end_words(None, zone=CHICAGO) == "Open-ended"


def test_the_pass_card_says_the_dose_route_and_vitals_in_words(client, community, clock):
    order = community.stocked_order(
        now=None,
        dose_amount=Decimal("2"),
        required_vitals=[Vital.BLOOD_GLUCOSE],
        medication=MedicationFactory(generic_name="glipizide"),
    )
    doses_sync_for_order(order=order, now=AT)
    client.force_login(community.tech)

    html = client.get(reverse("mar:pass_resident", args=[community.resident.public_id])).text

    assert "2 tablets</strong> by mouth" in html
    assert "Needs blood glucose before giving" in html
    assert "Needs: blood_glucose" not in html
    assert "By mouth (PO)" not in html


def test_the_pass_card_shows_the_time_a_nurse_amended_it_to(client, community, clock):
    order = community.stocked_order(now=None)
    doses_sync_for_order(order=order, now=AT)
    dose = order.doses.order_by("scheduled_at", "id").first()
    record = charting.administration_record(
        user=community.tech,
        idempotency_key="amended-time",
        now=AT,
        entry=charting.ChartEntry(status="given", administered_at=AT, scheduled_dose=dose),
    ).administration
    nurse = person(community.facility, User.Role.NURSE)
    amended_to = AT - dt.timedelta(minutes=2)  # 07:28 in Chicago
    charting.administration_amend(
        administration=record,
        user=nurse,
        field=Amendment.Field.ADMINISTERED_AT,
        new_value=amended_to.isoformat(),
        reason="Given at 07:28, charted at 07:30",
        now=AT + dt.timedelta(minutes=5),
    )
    client.force_login(community.tech)

    html = client.get(reverse("mar:pass_resident", args=[community.resident.public_id])).text

    assert "Given 07:28 by" in html
    assert "Given 07:30 by" not in html


def test_the_record_page_says_how_often_in_words(client, community, clock):
    community.stocked_order(frequency="every_n_hours", interval=6, administration_times=[])
    community.stocked_order(
        frequency="every_n_days",
        interval=2,
        administration_times=["AM"],
        medication=MedicationFactory(generic_name="furosemide"),
    )
    community.facility.pass_times.update_or_create(name="AM", defaults={"time_of_day": "08:00"})
    client.force_login(community.nurse)

    html = client.get(reverse("nurse:resident_record", args=[community.resident.public_id])).text

    assert "Every 6 hours" in html
    assert "Every 2 days at 08:00" in html
    assert "Every N" not in html


def test_the_printed_mar_calls_an_inhaled_duoneb_an_inhalation_solution(community, clock):
    duoneb = MedicationFactory(
        generic_name="ipratropium/albuterol",
        brand_name="DuoNeb",
        strength="0.5 mg-3 mg/3 mL",
        form=Medication.Form.SOLUTION,
        default_route=Route.INHALED,
    )
    community.stocked_order(
        medication=duoneb, dose_amount=Decimal("3"), dose_unit="mL", route=Route.INHALED
    )
    mar = monthly_mars(residents=[community.resident], month=Month(dt.date(2026, 11, 1)), now=AT)[0]

    block = next(b for b in mar.orders if "DuoNeb" in b.medication)
    printed = render.render_monthly_mar(mar, rendered_at=AT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "words-monthly-mar.pdf").write_bytes(printed)  # for a person to look at
    pdf = PdfReader(io.BytesIO(printed))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in pdf.pages)

    assert "inhalation solution" in block.medication
    assert "oral solution" not in block.medication
    assert "inhalation solution" in text


def test_a_lapsed_certificate_is_named_as_a_person_says_it(community):
    tech = person(community.facility, User.Role.MED_TECH, certified=False)
    CertificationFactory(
        user=tech,
        kind=Certification.Kind.MEDICATION_AIDE,
        issued_on=dt.date(2024, 1, 1),
        expires_on=dt.date(2026, 1, 1),
    )

    refusal = user_charting_refusal(
        user=tech, facility_id=community.facility.pk, today=dt.date(2026, 11, 20)
    )

    assert refusal.startswith("Your medication aide certificate expired on Jan 1, 2026")
    assert "/" not in refusal


def test_the_settings_form_says_a_number_out_of_range_in_words(client, community):
    form_errors = _facility_form_errors({"late_limit_minutes": "40000"}, community)

    assert form_errors["late_limit_minutes"] == ["Enter a whole number of minutes from 0 to 1440."]
    assert "32767" not in str(form_errors)


def _facility_form_errors(changes: dict, community: Community) -> dict:
    from residents.forms import FacilityForm

    facility = community.facility
    data = {
        name: getattr(facility, name)
        for name in FacilityForm.Meta.fields
        if not isinstance(getattr(facility, name), bool)
    }
    form = FacilityForm(data=data | changes, pass_times={"AM": dt.time(8)}, instance=facility)
    form.is_valid()
    return form.errors


def test_an_order_names_its_frequency_the_same_everywhere():
    order = Order(frequency="every_n_hours", interval=1)

    assert wording.frequency_words(order) == "Every hour"
