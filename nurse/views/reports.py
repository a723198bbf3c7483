"""The nurse's reports with charts drawn here, as inline SVG (no script, no internet), and
each table exportable as CSV. The numbers come from ``nurse.reports``; this module
only lays them out."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from mar import forms
from mar import selectors_drugs as drug_selectors
from medtech.core import permissions
from medtech.core.scope import facilities_of
from nurse import reports as nurse_reports

READ = permissions.Area.EXCEPTIONS_READ
PALETTE = ("#0b5c8c", "#a15c00", "#1d7a3a", "#7b3fa0", "#b3261e", "#3f6e7d", "#6b6b00")

# --- Chart geometry -----------------------------------------------------------------------

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 30, 14, 34
LABEL_CHAR_PX = 7  # the widest a 12 px label's average character runs


@dataclass
class Series:
    name: str
    colour: str
    segments: list[str]  # polyline "x,y x,y ..." strings, broken where there is no value
    dots: list[tuple[float, float, str]]


@dataclass
class LineChart:
    title: str
    width: int
    height: int
    series: list[Series]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _y(fraction: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)


def _labelled(days) -> list[tuple[int, str]]:
    """About eight day labels, evenly spaced back from the last day (always labelled)."""
    step = max(1, -(-len(days) // 8))
    last = len(days) - 1
    return [(i, f"{day:%b %-d}") for i, day in enumerate(days) if (last - i) % step == 0]


def _day_labels(days) -> list[tuple[float, str]]:
    return [(_x(i, len(days)), label) for i, label in _labelled(days)]


def line_chart(title: str, days, named_values: dict[str, list[float | None]]) -> LineChart:
    """Rates (0..1) per day, one line per name; a day without doses breaks the line."""
    series = []
    for number, (name, values) in enumerate(named_values.items()):
        segments, current, dots = [], [], []
        for i, value in enumerate(values):
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = _x(i, len(values)), _y(value)
            current.append(f"{x:.1f},{y:.1f}")
            dots.append((round(x, 1), round(y, 1), f"{days[i]:%b %-d}: {value:.0%}"))
        if current:
            segments.append(" ".join(current))
        series.append(Series(name, PALETTE[number % len(PALETTE)], segments, dots))
    return LineChart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        series=series,
        y_ticks=[(_y(f), f"{f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)],
        x_labels=_day_labels(days),
    )


def column_chart(title: str, days, values: list[int]) -> BarChart:
    top = max([*values, 1])
    span = (WIDTH - LEFT - RIGHT) / max(1, len(values))
    bars = []
    for i, value in enumerate(values):
        height = (HEIGHT - TOP - BOTTOM) * value / top
        bars.append(
            Bar(
                x=round(LEFT + i * span + span * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(span * 0.7, 1),
                height=round(height, 1),
                label=f"{days[i]:%b %-d}",
                value=str(value),
            )
        )
    ticks = sorted({0, top // 2, top})
    return BarChart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        y_ticks=[(_y(t / top), str(t)) for t in ticks],
        x_labels=[(LEFT + (i + 0.5) * span, label) for i, label in _labelled(days)],
    )


def hbar_chart(title: str, rows: list[tuple[str, float, str]], *, maximum: float) -> BarChart:
    """Horizontal bars: (label, value, text) each; the label column is on the left, as
    wide as the longest label needs (a 12 px label is at most about 7 px a character), so
    no name is cut at the chart's edge ("eaver, Judith") or shortened."""
    row_height = 26
    longest = max((len(label) for label, _, _ in rows), default=0)
    label_width = min(max(140, LABEL_CHAR_PX * longest + 16), WIDTH // 2)
    height = TOP + row_height * max(1, len(rows)) + 10
    span = WIDTH - label_width - 70
    bars = [
        Bar(
            x=label_width,
            y=TOP + i * row_height,
            width=round(span * (value / maximum) if maximum else 0, 1),
            height=row_height - 8,
            label=label,
            value=text,
        )
        for i, (label, value, text) in enumerate(rows)
    ]
    return BarChart(title=title, width=WIDTH, height=height, bars=bars, left=label_width)


# --- Views --------------------------------------------------------------------------------


def _report(request: HttpRequest) -> nurse_reports.Report:
    permissions.require(request.user, READ, message="Reports are for nurses and administrators.")
    form = forms.ReportForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    facilities = facilities_of(user=request.user).order_by("name", "id")
    if data.get("facility"):
        facilities = facilities.filter(public_id=data["facility"])
    facility = facilities.first()
    if facility is None:
        raise Http404("No community of yours to report on.")
    return nurse_reports.facility_report(
        facility=facility, now=timezone.now(), days=data.get("days") or 30
    )


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    days = report.days
    unit_rates = {name: [s.on_time_rate for s in stats] for name, stats in report.by_unit.items()}
    charts = {
        "on_time": line_chart(
            "On-time rate per day", days, {"All units": [s.on_time_rate for s in report.daily]}
        ),
        "by_unit": line_chart("On-time rate per day, by unit", days, unit_rates),
        "missed": column_chart("Missed doses per day", days, [s.missed for s in report.daily]),
        "error_rate": line_chart(
            "Medication error rate per day (CMS)",
            days,
            {"Error rate": [s.error_rate for s in report.daily]},
        ),
        "by_staff": hbar_chart(
            "On-time rate by staff member",
            [
                (f"{s.name} ({s.initials})", s.on_time_rate or 0, f"{(s.on_time_rate or 0):.0%}")
                for s in report.by_staff
            ],
            maximum=1,
        ),
        "refusals": hbar_chart(
            "Refusals by resident and medication",
            [
                (f"{r.resident} · {r.medication}", r.count, str(r.count))
                for r in report.refusals[:15]
            ],
            maximum=max([r.count for r in report.refusals] + [1]),
        ),
        "prn": hbar_chart(
            "PRN doses by resident and medication",
            [
                (f"{r.resident} · {r.medication}", r.count, str(r.count))
                for r in report.prn_use[:15]
            ],
            maximum=max([r.count for r in report.prn_use] + [1]),
        ),
    }
    facilities = list(facilities_of(user=request.user).order_by("name", "id"))
    context = {
        "report": report,
        "charts": charts,
        "facilities": facilities,
        "query": request.GET.urlencode(),
        "days_count": len(days),
        "drug_alerts": drug_selectors.drug_alert_counts(
            facility=report.facility, now=timezone.now()
        ),
    }
    return render(request, "nurse/reports.html", context)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _csv_rows(name: str, report: nurse_reports.Report) -> tuple[list[str], list[list]]:
    if name == "on-time-daily":
        header = ["date", "doses_due", "on_time", "on_time_percent"]
        return header, [[s.day, s.due, s.on_time, _percent(s.on_time_rate)] for s in report.daily]
    if name == "on-time-by-unit":
        header = ["date", "unit", "doses_due", "on_time", "on_time_percent"]
        rows = [
            [s.day, unit, s.due, s.on_time, _percent(s.on_time_rate)]
            for unit, stats in report.by_unit.items()
            for s in stats
        ]
        return header, rows
    if name == "on-time-by-staff":
        header = ["staff", "initials", "doses_charted", "on_time", "on_time_percent"]
        return header, [
            [s.name, s.initials, s.charted, s.on_time, _percent(s.on_time_rate)]
            for s in report.by_staff
        ]
    if name == "missed-daily":
        return ["date", "missed"], [[s.day, s.missed] for s in report.daily]
    if name == "refusals":
        header = ["resident", "medication", "refusals"]
        return header, [[r.resident, r.medication, r.count] for r in report.refusals]
    if name == "prn-use":
        header = ["resident", "medication", "prn_doses", "effective", "not_effective", "owed"]
        return header, [
            [r.resident, r.medication, r.count, r.effective, r.not_effective, r.owed]
            for r in report.prn_use
        ]
    if name == "error-rate":
        header = [
            "date",
            "opportunities",
            "missed",
            "given_outside_window",
            "wrong_dose_amended",
            "errors",
            "error_rate_percent",
        ]
        return header, [
            [
                s.day,
                s.due,
                s.missed,
                s.late_given,
                s.wrong_dose,
                s.errors,
                _percent(s.error_rate),
            ]
            for s in report.daily
        ]
    raise Http404("No such report.")


CSV_NAMES = (
    "on-time-daily",
    "on-time-by-unit",
    "on-time-by-staff",
    "missed-daily",
    "refusals",
    "prn-use",
    "error-rate",
)


def _cell(value) -> object:
    # A cell a spreadsheet would read as a formula is written as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@login_required
@require_GET
def report_csv(request: HttpRequest, name: str) -> HttpResponse:
    if name not in CSV_NAMES:
        raise Http404("No such report.")
    report = _report(request)
    header, rows = _csv_rows(name, report)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{name}-{report.days[0]:%Y%m%d}-{report.days[-1]:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response
