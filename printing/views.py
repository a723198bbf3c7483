"""Printing: the print page, PDFs of a resident's month and of a cart's sheets, and the
whole-community print with its progress (polled by htmx, refreshed without it).

Administrators and nurses print everything of their communities; a med tech prints
the downtime sheet of the cart they are on duty for. Another community's resident,
cart or print job answers 404; a document the role may not print answers 403.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from inventory.models import MedCart
from inventory.selectors import cart_for_user
from mar import selectors
from mar.models import PrintJob
from medtech.core.audit import audit_read
from medtech.core.scope import facilities_of, scope
from printing import render as documents
from printing import services as printing
from printing.selectors import (
    Month,
    can_print_records,
    cart_of_user,
    community_jobs,
    face_sheet,
    latest_sheet,
    printable_carts,
    residents_for_month,
    shift_start,
)
from residents import selectors as resident_selectors
from residents.models import Facility
from residents.selectors import facilities_for_user

MONTHS_OFFERED = 13
logger = logging.getLogger(__name__)


def _month(value: str | None, *, facility: Facility | None) -> Month:
    zone = facility.zone if facility else timezone.get_current_timezone()
    if not value:
        return Month.containing(timezone.now(), zone)
    try:
        return Month.parse(value)
    except ValueError as error:
        raise Http404(str(error)) from error


def _pdf_response(job: PrintJob, filename: str) -> FileResponse:
    # A record of care: NoStoreMiddleware keeps it out of shared browsers' and proxies' caches.
    return FileResponse(
        job.file.open("rb"), content_type="application/pdf", filename=f"{slugify(filename)}.pdf"
    )


def _may_print_cart_sheet(request: HttpRequest, cart: MedCart) -> bool:
    if can_print_records(user=request.user):
        return True
    own = cart_of_user(user=request.user)
    return own is not None and own.pk == cart.pk


@login_required
@require_GET
def print_home(request: HttpRequest) -> HttpResponse:
    facilities = list(facilities_for_user(user=request.user).order_by("name", "id"))
    month = _month(request.GET.get("month"), facility=facilities[0] if facilities else None)
    may_print = can_print_records(user=request.user)
    current = Month.containing(timezone.now(), facilities[0].zone if facilities else dt.UTC)
    months = [current]
    while len(months) < MONTHS_OFFERED:
        months.append(months[-1].previous())
    context = {
        "may_print": may_print,
        "month": month,
        "months": months,
        "carts": printable_carts(user=request.user),
        "communities": [
            {
                "facility": facility,
                "residents": list(residents_for_month(facility=facility, month=month)),
                "jobs": community_jobs(facility=facility),
            }
            for facility in facilities
        ]
        if may_print
        else [],
    }
    return render(request, "print/home.html", context)


@login_required
@require_GET
def resident_month_pdf(request: HttpRequest, resident_id, month: str) -> FileResponse:
    resident = selectors.resident_for_user(user=request.user, public_id=resident_id)
    if not can_print_records(user=request.user):
        raise PermissionDenied("Only administrators and nurses print the MAR.")
    now = timezone.now()
    job = printing.resident_month_document(
        resident=resident,
        month=_month(month, facility=resident.facility),
        now=now,
        requested_by=request.user,
    )
    audit_read(
        actor=request.user,
        resident=resident,
        view="printing:resident_month_pdf",
        request=request,
        now=now,
    )
    return _pdf_response(job, f"MAR {month} {resident.last_name} {resident.first_name}")


@login_required
@require_POST
def community_month_print(request: HttpRequest, facility_id, month: str) -> HttpResponse:
    facility = get_object_or_404(facilities_of(user=request.user), public_id=facility_id)
    try:
        asked = printing.community_month_request(
            facility=facility,
            month=_month(month, facility=facility),
            user=request.user,
            now=timezone.now(),
        )
    except printing.PrintNotPermitted as error:
        raise PermissionDenied(str(error)) from error
    except printing.PrintError as error:
        messages.error(request, str(error))
        return redirect("printing:print_home")
    if not asked.is_new and asked.job.status == PrintJob.Status.READY:
        messages.success(request, "Nothing changed since it was last printed: here is that file.")
    return redirect("printing:print_job", job_id=asked.job.public_id)


def _job_for_user(request: HttpRequest, job_id) -> PrintJob:
    job = get_object_or_404(
        scope(PrintJob.objects, user=request.user).select_related(
            "facility", "requested_by", "resident", "cart"
        ),
        public_id=job_id,
    )
    if job.kind == PrintJob.Kind.DOWNTIME and job.cart and _may_print_cart_sheet(request, job.cart):
        return job
    if not can_print_records(user=request.user):
        raise PermissionDenied("Only administrators and nurses print the MAR.")
    return job


@login_required
@require_GET
def print_job(request: HttpRequest, job_id) -> HttpResponse:
    """A print's progress: the htmx poll swaps the progress partial until it is ready."""
    job = _job_for_user(request, job_id)
    template = "print/job.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"job": job, "month": Month(job.month) if job.month else None})


@login_required
@require_GET
def print_job_file(request: HttpRequest, job_id) -> FileResponse:
    job = _job_for_user(request, job_id)
    if job.status != PrintJob.Status.READY:
        raise Http404("This print is not ready yet.")
    if job.resident is not None:
        audit_read(
            actor=request.user,
            resident=job.resident,
            view="printing:print_job_file",
            request=request,
            now=timezone.now(),
        )
    subject = job.resident.display_name if job.resident else job.cart or job.facility
    when = f"{job.month:%Y-%m}" if job.month else f"{job.covers_from:%Y-%m-%d}"
    return _pdf_response(job, f"{job.get_kind_display()} {when} {subject}")


@login_required
@require_GET
def downtime_sheet_pdf(request: HttpRequest, cart_id) -> FileResponse:
    """The cart's downtime sheet from its cached file (rendered now only if none exists)."""
    cart = cart_for_user(user=request.user, public_id=cart_id)
    if not _may_print_cart_sheet(request, cart):
        raise PermissionDenied("A med tech prints the downtime sheet of their own cart.")
    now = timezone.now()
    job = latest_sheet(cart=cart)
    if job is None or job.covers_from < shift_start(zone=cart.facility.zone, now=now):
        # The beat job has not renewed it this shift: render it now. If that fails, the
        # last one kept is better than nothing, and its header says which 24 hours it is.
        try:
            job = printing.downtime_sheet_document(cart=cart, now=now, requested_by=request.user)
        except Exception:
            if job is None:
                raise
            logger.exception(
                "downtime sheet for cart %s not rendered; serving the kept one", cart.pk
            )
    return _pdf_response(job, f"Downtime {cart.name} {job.covers_from:%Y-%m-%d %H%M}")


@login_required
@require_GET
def count_sheet_pdf(request: HttpRequest, cart_id) -> FileResponse:
    """The cart's controlled-substance counts and running logs for ?from= to ?to= (dates,
    both included; the last 7 days by default)."""
    cart = cart_for_user(user=request.user, public_id=cart_id)
    if not can_print_records(user=request.user):
        raise PermissionDenied("Only administrators and nurses print the count sheet.")
    zone = cart.facility.zone
    today = timezone.now().astimezone(zone).date()
    try:
        first = dt.date.fromisoformat(request.GET.get("from") or str(today - dt.timedelta(days=6)))
        last = dt.date.fromisoformat(request.GET.get("to") or str(today))
    except ValueError as error:
        raise Http404("Dates are written 2026-11-22.") from error
    try:
        job = printing.count_sheet_document(
            cart=cart,
            covers_from=dt.datetime.combine(first, dt.time(0), tzinfo=zone),
            covers_until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone),
            now=timezone.now(),
            requested_by=request.user,
        )
    except printing.PrintError as error:
        raise Http404(str(error)) from error
    return _pdf_response(job, f"Count sheet {cart.name} {first} to {last}")


@login_required
@require_GET
def face_sheet_pdf(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    resident_selectors.require_resident_reader(request.user)
    resident = resident_selectors.resident_for_reader(user=request.user, public_id=resident_id)
    now = timezone.now()
    audit_read(
        actor=request.user, resident=resident, view="printing:face_sheet", now=now, request=request
    )
    sheet = face_sheet(resident=resident, today=now.astimezone(resident.facility.zone).date())
    pdf = documents.render_face_sheet(sheet, rendered_at=now)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"face-sheet-{slugify(resident.last_name)}-{slugify(resident.first_name)}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
