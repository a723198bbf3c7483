import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mar.models import Administration, EffectivenessCheck, Order
from mar.services import administrations as charting
from mar.services.doses import doses_close_missed
from nurse.reports import facility_report
from tests.factories import MedicationFactory, OrderFactory, StockItemFactory
from tests.nurse.conftest import NOW, Ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def charted(ward):
    """Resident 1's closed doses: given on time, refused in window, given late, the rest
    missed; the first one's amount corrected afterwards (a wrong dose)."""
    ward.materialize(days=2)
    order = ward.orders[0]
    doses = list(order.doses.filter(window_end__lt=NOW).order_by("scheduled_at"))
    first = ward.chart(doses[0])
    ward.chart(doses[1], status="refused", reason="Said no")
    ward.chart(doses[2], late_minutes=15)
    doses_close_missed(now=NOW)
    charting.administration_amend(
        administration=first,
        user=ward.nurse,
        field="dose_amount",
        new_value="2",
        reason="Two tablets were given",
        now=NOW,
    )
    return ward, doses


def test_it_counts_due_on_time_missed_and_cms_errors(charted):
    ward, doses = charted
    other_due = ward.orders[1].doses.filter(window_end__lt=NOW).count()

    report = facility_report(facility=ward.facility, now=NOW, days=30)

    totals = report.totals
    assert totals.due == len(doses) + other_due
    assert totals.on_time == 2
    assert totals.late_given == 1
    assert totals.missed == len(doses) - 3 + other_due
    assert totals.wrong_dose == 1
    assert totals.errors == totals.missed + 2
    assert len(report.daily) == 30
    unit_a = report.by_unit["Wing A"]
    assert sum(stat.due for stat in unit_a) == len(doses)
    assert sum(stat.on_time for stat in unit_a) == 2
    (tech,) = report.by_staff
    assert (tech.charted, tech.on_time) == (3, 2)
    resident = ward.residents[0]
    assert [(r.count, r.resident) for r in report.refusals] == [
        (1, f"{resident.last_name}, {resident.first_name}")
    ]


def test_it_counts_prn_use_with_effectiveness(ward):
    resident = ward.residents[0]
    order = OrderFactory(
        resident=resident,
        medication=MedicationFactory(generic_name="acetaminophen"),
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=60,
        prn_max_per_24h=4,
    )
    StockItemFactory(
        cart=ward.carts[0], resident=resident, medication=order.medication, order=order
    )
    given = []
    for hours in (30, 20, 5):
        at = NOW.replace(minute=0) - dt.timedelta(hours=hours)
        given.append(
            charting.administration_record(
                user=ward.tech,
                idempotency_key=f"prn-{hours}",
                now=at,
                entry=charting.ChartEntry(
                    status="given", administered_at=at, order=order, prn_reason="Knee pain"
                ),
            ).administration
        )
    charting.administration_record_effectiveness(
        administration=given[0], user=ward.tech, result="effective", note="", now=NOW
    )

    report = facility_report(facility=ward.facility, now=NOW, days=30)

    (row,) = report.prn_use
    assert (row.count, row.effective, row.not_effective, row.owed) == (3, 1, 0, 2)
    assert EffectivenessCheck.objects.count() == 1
    assert Administration.objects.filter(scheduled_dose__isnull=True).count() == 3


def test_it_draws_the_on_time_chart_as_inline_svg(client, charted):
    ward, _ = charted
    client.force_login(ward.nurse)

    response = client.get(reverse("nurse:reports"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="chart-on-time"' in html
    assert "<polyline" in html and "<svg" in html
    assert "style=" not in html.split("<main", 1)[1]
    assert "<script>" not in html


def test_it_exports_each_report_as_csv(client, charted):
    ward, _ = charted
    client.force_login(ward.nurse)

    daily = client.get(reverse("nurse:report_csv", args=["on-time-daily"]))
    errors = client.get(reverse("nurse:report_csv", args=["error-rate"]))
    others = [
        client.get(reverse("nurse:report_csv", args=[name])).status_code
        for name in ("on-time-by-unit", "on-time-by-staff", "missed-daily", "refusals", "prn-use")
    ]
    unknown = client.get("/reports/nonsense.csv")

    rows = list(csv.reader(io.StringIO(daily.content.decode())))
    assert daily["Content-Type"].startswith("text/csv")
    assert rows[0] == ["date", "doses_due", "on_time", "on_time_percent"]
    assert len(rows) == 31
    assert sum(int(row[2]) for row in rows[1:]) == 2
    error_rows = list(csv.reader(io.StringIO(errors.content.decode())))
    assert sum(int(row[4]) for row in error_rows[1:]) == 1
    assert others == [200] * 5
    assert unknown.status_code == 404


def test_it_answers_403_to_a_med_tech(client, ward):
    client.force_login(ward.tech)

    assert client.get(reverse("nurse:reports")).status_code == 403
    assert client.get(reverse("nurse:report_csv", args=["refusals"])).status_code == 403


def test_it_never_reports_on_another_community(client, ward):
    client.force_login(ward.other_nurse)

    response = client.get(reverse("nurse:reports"), {"facility": ward.facility.public_id})

    assert response.status_code == 404


def queries_for_reports(client, nurse) -> int:
    client.force_login(nurse)
    client.get(reverse("nurse:reports"))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("nurse:reports"))
    assert response.status_code == 200
    return len(captured)


def test_it_makes_the_same_number_of_queries_for_more_history(client, django_assert_num_queries):
    small = Ward(residents=1)
    small.history(days=2)
    small_queries = queries_for_reports(client, small.nurse)
    large = Ward(residents=4)
    large.history(days=6)
    client.force_login(large.nurse)
    client.get(reverse("nurse:reports"))

    with django_assert_num_queries(small_queries):
        response = client.get(reverse("nurse:reports"))

    assert "Wing B" in response.content.decode()


def test_a_bar_chart_keeps_a_long_name_whole_and_inside_the_chart():
    from nurse.views.reports import LABEL_CHAR_PX, hbar_chart

    name = "Weaver-Montgomery, Judith Anne"

    chart = hbar_chart("Doses by staff", [(name, 12, "12"), ("Li, Bo", 3, "3")], maximum=12)

    assert chart.bars[0].label == name
    assert chart.left - 8 >= LABEL_CHAR_PX * len(name)  # the label's start is inside the chart
    assert all(bar.x + bar.width + 40 <= chart.width for bar in chart.bars)


def test_the_reports_page_prints_staff_names_untruncated(client, charted):
    ward, _ = charted
    ward.tech.first_name, ward.tech.last_name = "Judith Anne", "Weaver-Montgomery-Ellington"
    ward.tech.save()
    client.force_login(ward.nurse)

    html = client.get(reverse("nurse:reports")).content.decode()

    assert "…" not in html.split('data-testid="chart-by-staff"', 1)[-1].split("</figure>", 1)[0]
