"""Printing services: documents kept and reused while the record is unchanged, the
whole-community print part by part, pre-rendering only what changed, the downtime
sheet, the count sheet, and the renderer's URL fetcher."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pdfplumber
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from inventory.models import ControlledCount, ControlledCountLine, StockTransaction
from mar.models import Order, PrintJob, PrintJobPart
from mar.services.doses import doses_materialize, doses_sync_for_order
from printing import render
from printing import services as printing
from printing.selectors import (
    CellState,
    Month,
    monthly_mars,
    shift_start,
)
from staff.models import User
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    ResidentFactory,
    RoomFactory,
    StockItemFactory,
    UserFactory,
)
from tests.printing.test_pdf import (
    CHICAGO,
    MONTH,
    chart,
    dose_at,
    local,
    make_order,
    make_staff,
)

pytestmark = pytest.mark.django_db
NOW = local(5, 12)  # Thursday Nov 5, noon in Chicago


@pytest.fixture
def moment() -> dt.datetime:
    """The moment these tests stand at."""
    return NOW


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def facility():
    return FacilityFactory(name="Cedar Court")


@pytest.fixture
def staff(facility):
    return make_staff(facility)


def resident_with_one_order(facility, staff, *, last_name: str, room: str, cart=None):
    """A resident with lisinopril at 08:00, given on Nov 3 by MS."""
    cart = cart or MedCartFactory(facility=facility)
    resident = ResidentFactory(
        facility=facility,
        room=RoomFactory(facility=facility, unit=cart.unit, cart=cart, number=room),
        first_name="Pat",
        last_name=last_name,
    )
    order = make_order(resident, cart, "lisinopril", administration_times=["08:00"])
    doses_sync_for_order(order=order, now=local(3, 6))
    chart(dose_at(order, local(3, 8)), user=staff.maria, at=local(3, 8))
    return resident, order


def pdf_text(job: PrintJob) -> str:
    with job.file.open("rb") as handle, pdfplumber.open(io.BytesIO(handle.read())) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def test_it_gives_the_same_file_again_while_the_month_is_unchanged(facility, staff):
    resident, _ = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    first = printing.resident_month_document(resident=resident, month=MONTH, now=NOW)

    again = printing.resident_month_document(
        resident=resident,
        month=MONTH,
        now=NOW + dt.timedelta(minutes=5),
        requested_by=staff.rebecca,
    )

    assert again.pk == first.pk
    assert again.file.name == first.file.name
    assert PrintJob.objects.count() == 1
    # One order: the grid, the legends and the notes fit on one page (the notes no longer
    # force a page of their own).
    assert first.status == PrintJob.Status.READY and first.page_count == 1
    assert "Abbott, Pat" in pdf_text(first)


def test_it_renders_again_once_a_dose_is_charted(facility, staff):
    resident, order = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    first = printing.resident_month_document(resident=resident, month=MONTH, now=local(4, 7))
    doses_sync_for_order(order=order, now=local(4, 6))

    chart(dose_at(order, local(4, 8)), user=staff.darnell, at=local(4, 8))
    second = printing.resident_month_document(resident=resident, month=MONTH, now=local(4, 9))

    assert second.pk != first.pk
    assert second.fingerprint != first.fingerprint
    assert "DB Darnell Brooks" in pdf_text(second)
    assert "Darnell Brooks" not in pdf_text(first)


def test_the_prerender_job_finds_only_the_residents_whose_month_changed(facility, staff):
    changed, order = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    unchanged, _ = resident_with_one_order(facility, staff, last_name="Baker", room="102")
    for resident_id, month_key in printing.resident_months_stale(now=local(4, 7)):
        printing.resident_month_prerender(
            resident_id=resident_id, month_key=month_key, now=local(4, 7)
        )
    assert printing.resident_months_stale(now=local(4, 7)) == []

    doses_sync_for_order(order=order, now=local(4, 6))
    chart(dose_at(order, local(4, 8)), user=staff.maria, at=local(4, 8))

    assert printing.resident_months_stale(now=local(4, 9)) == [(changed.pk, "2026-11")]
    assert PrintJob.objects.filter(resident=unchanged).count() == 1


def test_the_prerender_job_keeps_last_month_in_the_first_days_of_a_month(facility):
    assert printing.months_to_prerender(facility=facility, now=local(2, 12)) == [
        Month(dt.date(2026, 10, 1)),
        MONTH,
    ]
    assert printing.months_to_prerender(facility=facility, now=NOW) == [MONTH]


def test_a_community_print_reuses_rendered_residents_and_merges_in_room_order(
    facility, staff, django_capture_on_commit_callbacks
):
    first, _ = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    second, _ = resident_with_one_order(facility, staff, last_name="Baker", room="102")
    prerendered = printing.resident_month_document(resident=second, month=MONTH, now=NOW)

    with django_capture_on_commit_callbacks() as enqueued:
        asked = printing.community_month_request(
            facility=facility, month=MONTH, user=staff.rebecca, now=NOW
        )
    job = asked.job
    assert asked.is_new and len(enqueued) == 1
    assert (job.status, job.parts_done, job.parts_total) == ("queued", 1, 2)
    assert (job.requested_by, job.requested_at) == (staff.rebecca, NOW)

    with django_capture_on_commit_callbacks() as merge:
        todo = printing.community_month_start(job_id=job.pk, now=NOW)
        assert todo == [job.parts.get(resident=first).pk]
        printing.community_part_render(part_id=todo[0], now=NOW)
    assert len(merge) == 1
    merged = printing.community_month_merge(job_id=job.pk, now=NOW)

    parts = {part.resident_id: part.document for part in job.parts.select_related("document")}
    assert parts[second.pk] == prerendered
    reader = PdfReader(io.BytesIO(merged.file.read()))
    assert merged.status == PrintJob.Status.READY
    assert merged.page_count == len(reader.pages) == sum(doc.page_count for doc in parts.values())
    assert [item.title for item in reader.outline] == ["Abbott, Pat", "Baker, Pat"]
    assert "Abbott, Pat" in reader.pages[0].extract_text()


def test_asking_again_for_an_unchanged_month_gives_the_same_file_at_once(
    facility, staff, django_capture_on_commit_callbacks
):
    resident, _ = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    printing.resident_month_document(resident=resident, month=MONTH, now=NOW)
    with django_capture_on_commit_callbacks():
        job = printing.community_month_request(
            facility=facility, month=MONTH, user=staff.rebecca, now=NOW
        ).job
    with django_capture_on_commit_callbacks():
        printing.community_month_start(job_id=job.pk, now=NOW)
    printing.community_month_merge(job_id=job.pk, now=NOW)
    administrator = UserFactory(role=User.Role.ADMINISTRATOR, facility=facility)

    with django_capture_on_commit_callbacks() as enqueued:
        again = printing.community_month_request(
            facility=facility, month=MONTH, user=administrator, now=NOW + dt.timedelta(hours=1)
        )

    assert not again.is_new and enqueued == []
    assert again.job.pk == job.pk and again.job.file.name
    assert PrintJob.objects.filter(kind=PrintJob.Kind.COMMUNITY_MONTH).count() == 1


def test_a_second_request_while_the_first_renders_joins_it(
    facility, staff, django_capture_on_commit_callbacks
):
    resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    with django_capture_on_commit_callbacks():
        first = printing.community_month_request(
            facility=facility, month=MONTH, user=staff.rebecca, now=NOW
        )

    with django_capture_on_commit_callbacks() as enqueued:
        second = printing.community_month_request(
            facility=facility, month=MONTH, user=staff.rebecca, now=NOW
        )

    assert second.job.pk == first.job.pk and not second.is_new and enqueued == []
    assert PrintJobPart.objects.count() == 1


def test_a_med_tech_cannot_print_the_community(facility, staff):
    with pytest.raises(printing.PrintNotPermitted):
        printing.community_month_request(facility=facility, month=MONTH, user=staff.maria, now=NOW)


def test_the_monthly_mar_takes_the_same_queries_for_one_resident_or_three(facility, staff):
    residents = [
        resident_with_one_order(facility, staff, last_name=name, room=str(100 + index))[0]
        for index, name in enumerate(("Abbott", "Baker", "Carver"))
    ]
    with CaptureQueriesContext(connection) as one:
        monthly_mars(residents=residents[:1], month=MONTH, now=NOW)

    with CaptureQueriesContext(connection) as three:
        monthly_mars(residents=residents, month=MONTH, now=NOW)

    assert len(three) == len(one)


def test_it_shades_days_before_an_order_started_and_days_it_skips(facility, staff):
    cart = MedCartFactory(facility=facility)
    resident = ResidentFactory(
        facility=facility, room=RoomFactory(facility=facility, unit=cart.unit, cart=cart)
    )
    make_order(
        resident,
        cart,
        "alendronate",
        frequency=Order.Frequency.DAYS_OF_WEEK,
        days_of_week=[1],
        administration_times=["06:30"],
        starts_at=local(9, 0),
    )

    [mar] = monthly_mars(residents=[resident], month=MONTH, now=NOW)

    cells = mar.orders[0].rows[0].cells
    assert [cells[day - 1].state for day in (2, 8)] == [CellState.INACTIVE] * 2
    assert cells[9 - 1].state == CellState.OPEN  # Monday Nov 9: due
    assert cells[10 - 1].state == CellState.UNSCHEDULED  # Tuesday: not a dosing day
    assert mar.orders[0].frequency == "Mon at 06:30"


def test_a_dose_moved_by_the_spring_forward_gap_stays_on_its_row(facility, staff):
    cart = MedCartFactory(facility=facility)
    resident = ResidentFactory(
        facility=facility, room=RoomFactory(facility=facility, unit=cart.unit, cart=cart)
    )
    march = Month(dt.date(2027, 3, 1))
    order = make_order(
        resident,
        cart,
        "levothyroxine",
        administration_times=["02:30"],
        starts_at=dt.datetime(2027, 3, 1, tzinfo=CHICAGO),
    )
    doses_sync_for_order(order=order, now=dt.datetime(2027, 3, 14, 1, 0, tzinfo=CHICAGO))
    # 02:30 does not exist on Mar 14, 2027: the dose is at 03:00 CDT (08:00 UTC).
    dose = order.doses.get(scheduled_at=dt.datetime(2027, 3, 14, 8, 0, tzinfo=dt.UTC))
    chart(dose, user=staff.maria, at=dose.scheduled_at)

    [mar] = monthly_mars(residents=[resident], month=march, now=dose.scheduled_at)

    rows = mar.orders[0].rows
    assert [row.label for row in rows] == ["02:30"]
    assert rows[0].cells[14 - 1].text == "MS"


def test_the_fall_back_day_prints_an_ambiguous_time_once(facility, staff):
    cart = MedCartFactory(facility=facility)
    resident = ResidentFactory(
        facility=facility, room=RoomFactory(facility=facility, unit=cart.unit, cart=cart)
    )
    order = make_order(
        resident,
        cart,
        "melatonin",
        administration_times=["01:30"],
        starts_at=dt.datetime(2026, 10, 30, tzinfo=CHICAGO),
    )
    doses_sync_for_order(order=order, now=dt.datetime(2026, 11, 1, 0, 0, tzinfo=CHICAGO))
    dose = order.doses.get(scheduled_at=dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC))
    chart(dose, user=staff.darnell, at=dose.scheduled_at)

    [mar] = monthly_mars(residents=[resident], month=MONTH, now=NOW)

    assert [row.label for row in mar.orders[0].rows] == ["01:30"]
    assert mar.orders[0].rows[0].cells[0].text == "DB"


def test_the_downtime_sheet_lists_the_next_24_hours_and_is_kept_for_the_shift(facility, staff):
    cart = MedCartFactory(facility=facility, name="Cart A")
    resident, _ = resident_with_one_order(
        facility, staff, last_name="Abbott", room="101", cart=cart
    )
    make_order(resident, cart, "metformin", administration_times=["20:00"])
    doses_materialize(now=local(5, 6, 30))

    sheet = printing.downtime_sheet_document(cart=cart, now=local(5, 6, 30))
    again = printing.downtime_sheet_document(cart=cart, now=local(5, 13, 59))
    next_shift = printing.downtime_sheet_document(cart=cart, now=local(5, 14, 0))

    text = pdf_text(sheet)
    assert again.pk == sheet.pk and next_shift.pk != sheet.pk
    assert (sheet.covers_from, sheet.covers_until) == (local(5, 6), local(6, 6))
    assert "DOSES DUE Thu Nov 5, 2026 06:00 to Fri Nov 6, 2026 06:00" in text
    assert "Room 101 · Abbott, Pat" in text
    assert "Thu 08:00 Lisinopril 10 mg tablet" in text
    assert "Thu 20:00 Metformin 10 mg tablet" in text
    assert "Fri 08:00" not in text
    assert "Initials Time given" in text


def test_the_beat_job_renders_a_downtime_sheet_only_when_the_shift_or_the_doses_change(
    facility, staff
):
    cart = MedCartFactory(facility=facility)
    resident_with_one_order(facility, staff, last_name="Abbott", room="101", cart=cart)

    assert printing.downtime_sheets_refresh(now=local(5, 6, 5)) == 1
    assert printing.downtime_sheets_refresh(now=local(5, 6, 15)) == 0
    assert printing.downtime_sheets_refresh(now=local(5, 14, 5)) == 1


@pytest.mark.parametrize(
    ("local_now", "expected"),
    [
        (dt.datetime(2026, 11, 5, 5, 59, tzinfo=CHICAGO), "2026-11-04 22:00"),
        (dt.datetime(2026, 11, 5, 6, 0, tzinfo=CHICAGO), "2026-11-05 06:00"),
        (dt.datetime(2026, 11, 5, 23, 0, tzinfo=CHICAGO), "2026-11-05 22:00"),
        # The fall-back night: 22:00 the evening before, in CDT.
        (dt.datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO), "2026-10-31 22:00"),
    ],
)
def test_shifts_start_at_six_two_and_ten_local_time(local_now, expected):
    start = shift_start(zone=CHICAGO, now=local_now)

    assert f"{start.astimezone(CHICAGO):%Y-%m-%d %H:%M}" == expected


def test_the_count_sheet_prints_each_count_and_the_running_log(facility, staff):
    cart = MedCartFactory(facility=facility, name="Cart A")
    resident = ResidentFactory(
        facility=facility, room=RoomFactory(facility=facility, unit=cart.unit, cart=cart)
    )
    item = StockItemFactory(
        cart=cart,
        resident=resident,
        medication=MedicationFactory(
            generic_name="lorazepam", strength="0.5 mg", dea_schedule="IV"
        ),
        quantity_on_hand=Decimal("29"),
        rx_number="RX-77",
    )
    StockTransaction.objects.create(
        stock_item=item,
        kind=StockTransaction.Kind.RECEIVE,
        quantity=Decimal("30"),
        balance_after=Decimal("30"),
        performed_by=staff.maria,
        witness=staff.rebecca,
        created_at=local(2, 15),
    )
    # The inventory app's count services are still being written: the rows they will
    # make are created here as they stand in the model.
    count = ControlledCount.objects.create(
        cart=cart,
        started_at=local(3, 14),
        outgoing_user=staff.maria,
        incoming_user=staff.darnell,
        outgoing_signed_at=local(3, 14, 5),
        incoming_signed_at=local(3, 14, 6),
        status=ControlledCount.Status.DISCREPANCY,
    )
    ControlledCountLine.objects.create(
        count=count,
        stock_item=item,
        expected_quantity=Decimal("30"),
        outgoing_quantity=Decimal("30"),
        incoming_quantity=Decimal("29"),
    )

    job = printing.count_sheet_document(
        cart=cart,
        covers_from=local(1, 0),
        covers_until=local(8, 0),
        now=NOW,
        requested_by=staff.rebecca,
    )

    text = pdf_text(job)
    assert "CONTROLLED-SUBSTANCE COUNT SHEET Cart A" in text
    assert "Discrepancy" in text and "Maria Santos, CMA" in text
    assert "Lorazepam 0.5 mg tablet" in text and "RX-77 30 30 29" in text
    assert "11/02 15:00 Received from pharmacy 30 30 MS RH" in text


class TestTheRenderersUrlFetcher:
    fetcher = render.StaticFilesOnlyFetcher()

    def test_it_serves_the_projects_own_stylesheet(self):
        response = self.fetcher.fetch(f"{render.BASE_URL}static/css/print.css")

        assert b"@page" in response.read()
        assert response.content_type == "text/css"

    @pytest.mark.parametrize(
        "url",
        [
            "https://example.com/logo.png",
            "http://static.medtech.invalid/static/css/print.css",
            "file:///etc/passwd",
            "https://static.medtech.invalid/static/../medtech/settings.py",
            "https://static.medtech.invalid/static/%2e%2e/medtech/settings.py",
            "https://static.medtech.invalid/media/residents/photo.jpg",
            "data:text/html;base64,PGgxPmhpPC9oMT4=",
        ],
    )
    def test_it_refuses_anything_else(self, url):
        with pytest.raises(render.PrintResourceRefused):
            self.fetcher.fetch(url)


def test_text_typed_into_an_order_is_printed_as_text_not_fetched(facility, staff):
    resident, order = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    Order.objects.filter(pk=order.pk).update(
        instructions='<img src="file:///etc/passwd"> <link rel="stylesheet" href="https://x.test/a.css">'
    )

    job = printing.resident_month_document(resident=resident, month=MONTH, now=NOW)

    assert '<img src="file:///etc/passwd">' in pdf_text(job).replace("\n", " ")


def test_a_print_that_never_progressed_is_given_up_and_asked_again(
    facility, staff, django_capture_on_commit_callbacks
):
    resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    with django_capture_on_commit_callbacks():
        lost = printing.community_month_request(
            facility=facility, month=MONTH, user=staff.rebecca, now=NOW
        ).job

    with django_capture_on_commit_callbacks() as enqueued:
        fresh = printing.community_month_request(
            facility=facility, month=MONTH, user=staff.rebecca, now=NOW + dt.timedelta(hours=1)
        )

    lost.refresh_from_db()
    assert fresh.is_new and fresh.job.pk != lost.pk and len(enqueued) == 1
    assert lost.status == PrintJob.Status.FAILED and "given up" in lost.error


def test_pruning_deletes_superseded_prerenders_but_keeps_what_people_asked_for(
    facility, staff, django_capture_on_commit_callbacks
):
    resident, order = resident_with_one_order(facility, staff, last_name="Abbott", room="101")
    old = printing.resident_month_document(resident=resident, month=MONTH, now=local(4, 7))
    doses_sync_for_order(order=order, now=local(4, 6))
    chart(dose_at(order, local(4, 8)), user=staff.maria, at=local(4, 8))
    asked = printing.resident_month_document(
        resident=resident, month=MONTH, now=local(4, 9), requested_by=staff.rebecca
    )
    chart(dose_at(order, local(5, 8)), user=staff.maria, at=local(5, 8))
    newest = printing.resident_month_document(resident=resident, month=MONTH, now=local(5, 9))

    deleted = printing.print_files_prune(now=local(9, 9))

    assert deleted == 1
    assert set(PrintJob.objects.values_list("pk", flat=True)) == {asked.pk, newest.pk}
    assert not old.file.storage.exists(old.file.name)
