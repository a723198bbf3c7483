"""The nurse's orders: enter one (with a 7-day preview of its schedule), verify another
nurse's, hold, resume, discontinue, change. Thin views: parse, call one service, render.

Without JavaScript the "Preview schedule" button posts the form back and the page shows
the preview; with htmx the preview follows the form as it is filled in.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mar import forms
from mar.models import Medication, Order
from mar.selectors import facility_pass_times
from mar.services import order_checks
from mar.services import orders as order_services
from medtech.core import permissions
from medtech.core.errors import http_status
from nurse import selectors as nurse_selectors
from residents.models import Resident

READ = permissions.Area.EXCEPTIONS_READ  # the nurse's screens: nurses, administrators read
WRITE = permissions.Area.ORDER_ENTER


def _initial_from(order: Order) -> dict:
    zone = order.resident.facility.zone
    starts = order.starts_at.astimezone(zone)
    hold = {}
    for n, parameter in enumerate(order.hold_parameters[:2], start=1):
        hold |= {
            f"hold_vital_{n}": parameter.get("vital", ""),
            f"hold_comparator_{n}": parameter.get("comparator", ""),
            f"hold_limit_{n}": parameter.get("limit"),
        }
    return {
        "medication": order.medication_id,
        "dose_amount": order.dose_amount.normalize(),
        "dose_unit": order.dose_unit,
        "route": order.route,
        "frequency": order.frequency,
        "administration_times": ", ".join(order.administration_times),
        "days_of_week": order.days_of_week,
        "days_of_month": ", ".join(str(d) for d in order.days_of_month),
        "interval": order.interval,
        "is_time_critical": order.is_time_critical,
        "prn_min_interval_minutes": order.prn_min_interval_minutes,
        "prn_max_per_24h": order.prn_max_per_24h,
        "followup_minutes": order.followup_minutes,
        "indication": order.indication,
        "required_vitals": order.required_vitals,
        "starts_on": starts.date(),
        "starts_time": starts.time().replace(second=0, microsecond=0),
        "prescriber": order.prescriber,
        "rx_number": order.rx_number,
        "instructions": order.instructions,
    } | hold


def _unsaved_order(form: forms.OrderForm, resident: Resident) -> Order | None:
    """The order the form describes, unsaved."""
    if not form.is_valid():
        return None
    fields = form.order_values(zone=resident.facility.zone)
    medication = form.cleaned_data.get("medication") or Medication(**form.new_medication())
    return Order(resident=resident, medication=medication, **fields)


def _order_page(request, resident, form, *, replaces=None, status=200, error="") -> HttpResponse:
    now = timezone.now()
    order = _unsaved_order(form, resident) if form.is_bound else None
    preview = checks = None
    if order is not None:
        pass_times = facility_pass_times(facility=resident.facility)
        preview = nurse_selectors.order_schedule_preview(
            order=order, facility=resident.facility, pass_times=pass_times, now=now
        )
        # The same checks as the service's, shown while the form is filled in.
        checks = order_checks.order_checks(order=order, now=now, pass_times=pass_times)
    context = {
        "resident": resident,
        "form": form,
        "preview": preview,
        "checks": checks,
        "allergy_matches": checks.allergies if checks else [],
        "allergies": list(resident.allergies.order_by("allergen", "id")),
        "replaces": replaces,
        "error": error,
    }
    template = "nurse/order_new.html"
    if request.htmx and request.htmx.target == "order-preview":
        template += "#order-preview"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest, resident_id) -> HttpResponse:
    """Enter a new order, or (``?replaces=<order>``) the changed order that replaces one."""
    permissions.require(request.user, WRITE, message="Only a nurse enters orders.")
    resident = nurse_selectors.resident_for_nurse(user=request.user, public_id=resident_id)
    replaces = None
    if replaces_id := request.GET.get("replaces") or request.POST.get("replaces"):
        try:
            replaces = nurse_selectors.order_for_nurse(user=request.user, public_id=replaces_id)
        except (Http404, ValidationError):  # a malformed id is the same as an unknown one
            replaces = None
        if replaces is not None and replaces.resident_id != resident.pk:
            replaces = None
    medications = Medication.objects.order_by("generic_name", "strength", "id")
    if request.method == "GET":
        initial = _initial_from(replaces) if replaces else {}
        initial.setdefault("starts_on", timezone.now().astimezone(resident.facility.zone).date())
        initial.setdefault("prescriber", resident.physician)
        if (picked := request.GET.get("medication", "")).isdigit():  # from the drug reference
            initial.setdefault("medication", int(picked))
        form = forms.OrderForm(initial=initial, medications=medications)
        return _order_page(request, resident, form, replaces=replaces)

    form = forms.OrderForm(request.POST, medications=medications)
    if "preview" in request.POST or not form.is_valid():
        status = 200 if "preview" in request.POST or form.is_valid() else 400
        return _order_page(request, resident, form, replaces=replaces, status=status)
    try:
        order = order_services.order_enter(
            resident=resident,
            by=request.user,
            now=timezone.now(),
            values=form.order_values(zone=resident.facility.zone),
            answers=form.answers(),
            medication=form.cleaned_data.get("medication"),
            new_medication=form.new_medication(),
            replaces=replaces,
            change_reason=request.POST.get("change_reason", "")[:2000],
        )
    except order_services.OrderError as error:
        return _order_page(
            request, resident, form, replaces=replaces, status=http_status(error), error=str(error)
        )
    if order.status == Order.Status.PENDING_VERIFICATION:
        messages.success(
            request, f"Order entered: {order}. A second nurse must verify it before it is given."
        )
    else:
        messages.success(request, f"Order entered and active: {order}.")
    return redirect("nurse:order_detail", order_id=order.public_id)


@login_required
@require_GET
def orders_pending(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, READ, message="Orders are for nurses and administrators.")
    pending = nurse_selectors.orders_awaiting_verification(user=request.user)
    return render(request, "nurse/orders_pending.html", {"orders": pending})


def _detail(
    request: HttpRequest,
    order: Order,
    *,
    status: int = 200,
    error: str = "",
    verify_form: forms.VerifyForm | None = None,
    review_form: forms.AllergyReviewForm | None = None,
):
    now = timezone.now()
    pass_times = facility_pass_times(facility=order.resident.facility)
    preview = nurse_selectors.order_schedule_preview(
        order=order, facility=order.resident.facility, pass_times=pass_times, now=now
    )
    checks = order_checks.order_checks(
        order=order, now=now, pass_times=pass_times, check_start=False
    )
    context = {
        "order": order,
        "resident": order.resident,
        "allergy_matches": checks.allergies,
        "checks": checks,
        "acknowledgements": nurse_selectors.order_acknowledgements(order=order),
        "preview": preview,
        "error": error,
        "can_write": permissions.can(request.user, WRITE),
        "entered_by_me": order.entered_by_id == request.user.pk,
        "verify_form": verify_form or forms.VerifyForm(),
        "review_form": review_form or forms.AllergyReviewForm(),
        "replaced_by": list(order.replaced_by.select_related("medication").order_by("id")),
    }
    return render(request, "nurse/order_detail.html", context, status=status)


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id) -> HttpResponse:
    permissions.require(request.user, READ, message="Orders are for nurses and administrators.")
    order = nurse_selectors.order_for_nurse(user=request.user, public_id=order_id)
    return _detail(request, order)


@login_required
@require_POST
def order_verify(request: HttpRequest, order_id) -> HttpResponse:
    permissions.require(request.user, WRITE, message="Only a nurse verifies orders.")
    order = nurse_selectors.order_for_nurse(user=request.user, public_id=order_id)
    form = forms.VerifyForm(request.POST)
    if not form.is_valid():
        return _detail(
            request,
            order,
            status=400,
            error="Check the order against the prescription first.",
            verify_form=form,
        )
    try:
        order_services.order_verify(
            order=order,
            verified_by=request.user,
            now=timezone.now(),
            allergy_acknowledged=form.cleaned_data["allergy_reviewed"],
            dose_warnings_acknowledged=form.cleaned_data["dose_warnings_reviewed"],
            drug_warnings_reason=form.cleaned_data["drug_warnings_reason"],
        )
    except order_services.OrderError as error:
        return _detail(
            request, order, status=http_status(error), error=str(error), verify_form=form
        )
    messages.success(request, f"Verified: {order}. It is now on the schedule.")
    return redirect("nurse:order_detail", order_id=order.public_id)


@login_required
@require_POST
def order_allergy_review(request: HttpRequest, order_id) -> HttpResponse:
    """Keep an order that an allergy recorded after it matches, with a reason."""
    permissions.require(request.user, WRITE, message="Only a nurse reviews an order's allergy.")
    order = nurse_selectors.order_for_nurse(user=request.user, public_id=order_id)
    form = forms.AllergyReviewForm(request.POST)
    form.is_valid()  # every field is optional here: the service says what is missing
    data = form.cleaned_data
    try:
        order_services.order_allergy_review(
            order=order,
            by=request.user,
            now=timezone.now(),
            acknowledged=bool(data.get("allergy_acknowledged")),
            reason_code=data.get("reason_code", ""),
            reason=data.get("reason", ""),
        )
    except order_services.OrderError as error:
        return _detail(
            request, order, status=http_status(error), error=str(error), review_form=form
        )
    messages.success(request, f"Allergy reviewed: {order} is given again as ordered.")
    return redirect("nurse:order_detail", order_id=order.public_id)


def _status_change(request: HttpRequest, order_id, action: str) -> HttpResponse:
    permissions.require(request.user, WRITE, message="Only a nurse changes orders.")
    order = nurse_selectors.order_for_nurse(user=request.user, public_id=order_id)
    reason = request.POST.get("reason", "").strip()[:2000]
    now = timezone.now()
    try:
        if action == "hold":
            order_services.order_hold(order=order, by=request.user, reason=reason, now=now)
            done = "On hold"
        elif action == "resume":
            order_services.order_resume(order=order, by=request.user, now=now)
            done = "Resumed"
        else:
            order_services.order_discontinue(order=order, by=request.user, reason=reason, now=now)
            done = "Discontinued"
    except order_services.OrderError as error:
        return _detail(request, order, status=http_status(error), error=str(error))
    messages.success(request, f"{done}: {order}.")
    return redirect("nurse:order_detail", order_id=order.public_id)


@login_required
@require_POST
def order_hold(request: HttpRequest, order_id) -> HttpResponse:
    return _status_change(request, order_id, "hold")


@login_required
@require_POST
def order_resume(request: HttpRequest, order_id) -> HttpResponse:
    return _status_change(request, order_id, "resume")


@login_required
@require_POST
def order_discontinue(request: HttpRequest, order_id) -> HttpResponse:
    return _status_change(request, order_id, "discontinue")
