"""The med pass on the tablet: pick a cart, see its residents, chart each dose.

Thin views: parse the form, call one selector or service, render. Every page works
without JavaScript (plain links and forms); with htmx the chart panels open in place
and only the resident's dose list is re-rendered after charting.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from inventory.models import CartAssignment
from inventory.selectors import cart_board_read_only, cart_for_user, carts_for_user
from inventory.services import CartNotPermitted, cart_assignment_end, cart_assignment_start
from mar import forms, selectors
from mar.models import Administration, Order, ScheduledDose
from mar.services import administrations as charting
from mar.services import concerns, give_all
from medtech.core import permissions
from medtech.core.audit import audit_read, audit_read_many
from medtech.core.errors import http_status
from medtech.core.permissions import Area
from medtech.core.scope import scope
from residents.models import Resident
from staff.selectors import nurses_of_facility, user_charting_refusal


def _resident_page(resident: Resident) -> str:
    return reverse("mar:pass_resident", args=[resident.public_id])


@login_required
@require_GET
def pass_start(request: HttpRequest) -> HttpResponse:
    """Pick a cart. Someone already on duty goes straight to their cart."""
    assignment = (
        CartAssignment.objects.filter(user=request.user, ended_at__isnull=True)
        .select_related("cart")
        .first()
    )
    if assignment and request.GET.get("choose") is None:
        return redirect("mar:pass_cart", cart_id=assignment.cart.public_id)
    carts = carts_for_user(user=request.user)
    context = {
        "carts": carts,
        "assignment": assignment,
        "may_look": permissions.can(request.user, Area.EXCEPTIONS_READ),
    }
    return render(request, "mar/pass_carts.html", context)


@login_required
@require_POST
def cart_take(request: HttpRequest, cart_id) -> HttpResponse:
    cart = cart_for_user(user=request.user, public_id=cart_id)
    try:
        cart_assignment_start(cart=cart, user=request.user, now=timezone.now())
    except CartNotPermitted as error:
        raise Http404(str(error)) from error
    messages.success(request, f"You are on duty for {cart.name}. Its reminders come to you.")
    return redirect("mar:pass_cart", cart_id=cart.public_id)


@login_required
@require_POST
def cart_hand_over(request: HttpRequest) -> HttpResponse:
    cart_assignment_end(user=request.user, now=timezone.now())
    messages.success(request, "Cart handed over. You no longer get its reminders.")
    return redirect("mar:pass_start")


@login_required
@require_GET
def pass_cart(request: HttpRequest, cart_id) -> HttpResponse:
    """The cart's board. Someone not on duty for it who may look (a nurse; the med tech who
    handed it over) sees it read only: no way to chart from it, and each resident shown
    is a read in the audit trail."""
    cart = cart_for_user(user=request.user, public_id=cart_id)
    now = timezone.now()
    search = request.GET.get("q", "")[:60]
    period, rows = selectors.cart_residents(cart=cart, now=now, search=search)
    on_duty = CartAssignment.objects.filter(
        cart=cart, user=request.user, ended_at__isnull=True
    ).exists()
    read_only = not on_duty and cart_board_read_only(cart=cart, user=request.user, now=now)
    if read_only:
        audit_read_many(
            actor=request.user,
            residents=[row.resident for row in rows],
            view=request.resolver_match.view_name,
            request=request,
            now=now,
        )
    context = {
        "cart": cart,
        "period": period,
        "rows": rows,
        "search": search,
        "on_duty": on_duty,
        "read_only": read_only,
        "sees_records": permissions.can(request.user, Area.EXCEPTIONS_READ),
    }
    template = "mar/pass_residents.html"
    if request.htmx and request.htmx.target == "resident-list":
        template += "#resident-list"
    return render(request, template, context)


def _audit_read(request: HttpRequest, resident: Resident, now) -> None:
    """Every page or panel that shows a resident's record: one audit row per request."""
    view = request.resolver_match.view_name if request.resolver_match else request.path
    audit_read(actor=request.user, resident=resident, view=view, request=request, now=now)


def _pass_context(request: HttpRequest, resident: Resident, *, just_charted: bool = False) -> dict:
    """``just_charted``: the charting service checked, in this request, that the user may
    chart here (the answer to a new record); no need to ask again."""
    now = timezone.now()
    _audit_read(request, resident, now)
    facility = resident.facility
    refusal = None
    if not just_charted:
        refusal = user_charting_refusal(
            user=request.user, facility_id=facility.pk, today=now.astimezone(facility.zone).date()
        )
    pass_ = selectors.resident_pass(resident=resident, now=now)
    return {
        "pass": pass_,
        "resident": resident,
        "charting_refusal": refusal,
        "give_all": give_all.give_all_cards(pass_=pass_, requires_scan=facility.requires_scan),
    }


@login_required
@require_GET
def pass_resident(request: HttpRequest, resident_id) -> HttpResponse:
    resident = selectors.resident_for_user(user=request.user, public_id=resident_id)
    context = _pass_context(request, resident)
    if resident.room and resident.room.cart_id and not context["charting_refusal"]:
        context["offline_panels"] = _offline_panels(request, resident, context["pass"])
    return render(request, "mar/pass_resident.html", context)


OFFLINE_CHARTABLE = {"due", "late", "upcoming", "missed"}


def _offline_panels(request: HttpRequest, resident: Resident, pass_) -> list[dict]:
    """The chart panels of this page's doses and PRN orders, drawn now by the same partials
    that answer online, for the page's <template>s: without a connection
    static/js/offline/panels.js clones them instead of asking the server (so the offline
    panel cannot drift from the online one). No queries of their own."""
    nurses = nurses_of_facility(facility_id=resident.facility_id)  # lazy: never rendered
    base = {"request": request, "user": request.user, "csrf_token": get_token(request)}
    panels = []

    def panel(key: str, template: str, order: Order, form, extra: dict) -> None:
        context = _chart_context(request, resident=resident, order=order, form=form)
        html = render_to_string(f"{template}#panel", base | context | extra | {"offline": True})
        panels.append({"key": key, "html": html})

    for cards in pass_.groups.values():
        for card in cards:
            if card.record or card.state not in OFFLINE_CHARTABLE:
                continue
            dose, order = card.dose, card.dose.order
            for status in (Administration.Status.GIVEN, ""):
                giving = status == Administration.Status.GIVEN
                form = forms.ChartForm(
                    order=order,
                    nurses=nurses,
                    initial={"status": status},
                    auto_id=f"offline-{dose.public_id}-{status or 'not-given'}-%s",
                )
                extra = {
                    "dose": dose,
                    "not_given_choices": forms.NOT_GIVEN_CHOICES,
                    "giving": giving,
                    "panel_id": f"panel-{dose.public_id}",
                }
                kind = "given" if giving else "not-given"
                panel(f"dose-{dose.public_id}-{kind}", "mar/chart_panel.html", order, form, extra)
    for card in pass_.prn:
        order = card.order
        form = forms.PrnForm(order=order, nurses=nurses, auto_id=f"offline-{order.public_id}-%s")
        extra = {"giving": True, "panel_id": f"prn-panel-{order.public_id}"}
        panel(f"prn-{order.public_id}", "mar/prn_panel.html", order, form, extra)
    return panels


def _dose_for_user(request: HttpRequest, dose_id) -> ScheduledDose:
    return get_object_or_404(
        scope(ScheduledDose.objects, user=request.user, path="resident__facility").select_related(
            "order__medication", "resident__facility"
        ),
        public_id=dose_id,
    )


def _after_charting(
    request: HttpRequest, resident: Resident, message: str, *, just_charted: bool = False
) -> HttpResponse:
    """htmx: the refreshed dose list; without JS: back to the resident's page."""
    if request.htmx:
        context = _pass_context(request, resident, just_charted=just_charted) | {"flash": message}
        return render(request, "mar/pass_resident.html#pass-body", context)
    messages.success(request, message)
    return redirect(_resident_page(resident))


def _not_done(request: HttpRequest, resident: Resident, message: str, *, status: int):
    """A refused undo or follow-up. htmx: the dose list with the reason on top (the forms
    target ``#pass-body``; a redirect would be followed and the whole page swapped into
    it); without JS: back to the resident's page with the message."""
    if request.htmx:
        context = _pass_context(request, resident) | {"flash_error": message}
        return render(request, "mar/pass_resident.html#pass-body", context, status=status)
    messages.error(request, message)
    return redirect(_resident_page(resident))


def _panel(request: HttpRequest, template: str, context: dict, *, status: int = 200):
    """The chart panel: the whole page without JS; for htmx just the panel, which on a
    refusal replaces itself (instead of the dose list the form normally targets)."""
    _audit_read(request, context["resident"], timezone.now())
    if not request.htmx:
        return render(request, template, context, status=status)
    response = render(request, f"{template}#panel", context, status=status)
    if request.method == "POST":
        response = reswap(retarget(response, f"#{context['panel_id']}"), "innerHTML")
    return response


def _refused(request, template: str, context: dict, error: charting.ChartingError):
    status = http_status(error)
    return _panel(request, template, context | {"error": str(error)}, status=status)


def _given_at(form, resident: Resident, now):
    clock = form.cleaned_data.get("given_at")
    if clock is None:
        return now
    return forms.local_time_to_instant(clock, zone=resident.facility.zone, now=now)


def _chart_context(request: HttpRequest, *, resident: Resident, order: Order, form) -> dict:
    """What both chart panels show besides the dose: who can override, and whether the
    person at the tablet is a nurse who overrides by themselves."""
    return {
        "order": order,
        "resident": resident,
        "form": form,
        "requires_scan": resident.facility.requires_scan,
        "nurse_at_tablet": permissions.can(request.user, Area.NURSE_OVERRIDE),
    }


def _chart_refused(request, template: str, context: dict, error: charting.ChartingError):
    """The panel again with the refusal; a rule a nurse may override opens the override
    (and for a crossed hold parameter, charting it held with the readings taken)."""
    extra = {"overridable": isinstance(error, charting.OverridableStop)}
    if isinstance(error, charting.HoldParameterMet):
        extra |= {"hold_reasons": "; ".join(error.reasons), "held_key": forms.new_idempotency_key()}
    return _refused(request, template, context | extra, error)


@login_required
@require_http_methods(["GET", "POST"])
def dose_chart(request: HttpRequest, dose_id) -> HttpResponse:
    """The confirm panel for one dose (GET) and charting it (POST)."""
    dose = _dose_for_user(request, dose_id)
    permissions.require(request.user, Area.CHART, "chart doses")
    order, resident = dose.order, dose.resident
    nurses = nurses_of_facility(facility_id=resident.facility_id)
    if request.method == "GET":
        # ?status=given opens the given panel; anything else the not-given one, with no
        # reason preselected (the med tech always chooses the code).
        giving = request.GET.get("status", Administration.Status.GIVEN) == "given"
        form = forms.ChartForm(
            order=order,
            nurses=nurses,
            initial={
                "idempotency_key": forms.new_idempotency_key(),
                "status": Administration.Status.GIVEN if giving else "",
            },
        )
    else:
        form = forms.ChartForm(request.POST, order=order, nurses=nurses)
        giving = form["status"].value() == Administration.Status.GIVEN
    context = _chart_context(request, resident=resident, order=order, form=form) | {
        "dose": dose,
        "not_given_choices": forms.NOT_GIVEN_CHOICES,
        "giving": giving,
        "panel_id": f"panel-{dose.public_id}",
    }
    template = "mar/chart_panel.html"
    if request.method == "GET":
        now = timezone.now()
        early = giving and charting.too_early_stop(dose=dose, at=now)
        if early and not charting.dose_override_waiting(dose=dose, now=now):
            # Before the window opens: the panel offers the nurse's override at once
            # rather than a Given that is refused only after Confirm.
            context |= {"overridable": True, "error": str(early), "early": True}
        return _panel(request, template, context)
    if not form.is_valid():
        return _panel(request, template, context, status=400)
    now = timezone.now()
    try:
        result = charting.administration_record(
            user=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
            now=now,
            entry=form.entry(scheduled_dose=dose, administered_at=_given_at(form, resident, now)),
        )
    except charting.ChartingError as error:
        return _chart_refused(request, template, context, error)
    record = result.administration
    return _after_charting(
        request,
        resident,
        f"{record.get_status_display()}: {order.medication} "
        f"at {timezone.localtime(record.administered_at):%H:%M}.",
        just_charted=result.created,
    )


@login_required
@require_http_methods(["GET", "POST"])
def prn_give(request: HttpRequest, order_id) -> HttpResponse:
    """A PRN dose: given, or held or refused with why (and the readings taken)."""
    order = _prn_order_for_user(request, order_id)
    permissions.require(request.user, Area.CHART, "chart doses")
    resident = order.resident
    nurses = nurses_of_facility(facility_id=resident.facility_id)
    if request.method == "GET":
        form = forms.PrnForm(
            order=order,
            nurses=nurses,
            initial={"idempotency_key": forms.new_idempotency_key()},
        )
    else:
        form = forms.PrnForm(request.POST, order=order, nurses=nurses)
    context = _chart_context(request, resident=resident, order=order, form=form) | {
        "panel_id": f"prn-panel-{order.public_id}",
        "giving": (form["status"].value() or "given") == Administration.Status.GIVEN,
    }
    template = "mar/prn_panel.html"
    if request.method == "GET":
        return _panel(request, template, context)
    if not form.is_valid():
        return _panel(request, template, context, status=400)
    now = timezone.now()
    try:
        result = charting.administration_record(
            user=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
            now=now,
            entry=form.entry(order=order, administered_at=_given_at(form, resident, now)),
        )
    except charting.ChartingError as error:
        return _chart_refused(request, template, context, error)
    record = result.administration
    at = timezone.localtime(record.administered_at)
    return _after_charting(
        request,
        resident,
        f"PRN {record.get_status_display().lower()}: {order.medication} at {at:%H:%M}.",
        just_charted=result.created,
    )


@login_required
@require_http_methods(["GET", "POST"])
def pass_give_all(request: HttpRequest, resident_id) -> HttpResponse:
    """Give all due: one confirm screen for the resident's plain due doses (GET), each
    one charted through the same charting service with its own key (POST)."""
    resident = selectors.resident_for_user(user=request.user, public_id=resident_id)
    permissions.require(request.user, Area.CHART, "chart doses")
    if request.method == "POST":
        return _give_all_post(request, resident)
    pass_context = _pass_context(request, resident)
    cards = pass_context["give_all"]
    context = pass_context | {
        "rows": [{"card": card, "key": forms.new_idempotency_key()} for card in cards],
        "one_by_one": _one_by_one(pass_context["pass"], resident, cards),
        "panel_id": "give-all",
    }
    return _panel(request, "mar/give_all.html", context)


def _one_by_one(pass_, resident: Resident, batched: list) -> list[tuple]:
    """The due doses left out of the batch, each with why (charted on their own cards)."""
    left = []
    for group in ("late", "due"):
        for card in pass_.groups[group]:
            if card in batched or card.record is not None:
                continue
            order = card.dose.order
            why = give_all.give_all_exclusion(
                order=order, requires_scan=resident.facility.requires_scan
            )
            if order.pk in pass_.out_of_stock_order_ids:
                why = "none on the cart"
            left.append((card, why))
    return left


def _give_all_post(request: HttpRequest, resident: Resident) -> HttpResponse:
    chosen = forms.GiveAllForm(request.POST)
    doses = []
    if chosen.is_valid():
        found = {
            dose.public_id: dose
            for dose in scope(ScheduledDose.objects, user=request.user, path="resident__facility")
            .filter(resident=resident, public_id__in=chosen.cleaned_data["dose"])
            .select_related("order__medication", "resident__facility")
        }
        doses = [
            (found[public_id], request.POST.get(f"key-{public_id}", ""))
            for public_id in chosen.cleaned_data["dose"]
            if public_id in found
        ]
    if not doses:
        return _not_done(request, resident, "No dose was ticked: nothing was charted.", status=400)
    results = give_all.administration_record_all(user=request.user, now=timezone.now(), doses=doses)
    charted = [result for result in results if result.administration is not None]
    refused = [result for result in results if result.administration is None]
    message = ""
    if charted:
        names = ", ".join(str(result.dose.order.medication) for result in charted)
        message = f"Given: {len(charted)} dose{'s' if len(charted) != 1 else ''} ({names})."
    problems = [f"{result.dose.order.medication}: {result.refusal}" for result in refused]
    if not request.htmx:
        if message:
            messages.success(request, message)
        for problem in problems:
            messages.error(request, f"Not charted, {problem}")
        return redirect(_resident_page(resident))
    context = _pass_context(request, resident) | {
        "flash": message,
        "give_all_refused": problems,
    }
    return render(request, "mar/pass_resident.html#pass-body", context)


def _prn_order_for_user(request: HttpRequest, order_id) -> Order:
    return get_object_or_404(
        scope(Order.objects, user=request.user, path="resident__facility").select_related(
            "medication", "resident__facility", "resident__room"
        ),
        public_id=order_id,
        frequency=Order.Frequency.PRN,
    )


@login_required
@require_POST
def override_ask(request: HttpRequest) -> HttpResponse:
    """The med tech asks the nurses for an override of the dose the panel stopped."""
    permissions.require(request.user, Area.CHART, "chart doses")
    form = forms.OverrideAskForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Name the dose or PRN order to override.", status=400)
    dose = order = None
    if form.cleaned_data["dose"]:
        dose = _dose_for_user(request, form.cleaned_data["dose"])
        resident = dose.resident
    else:
        order = _prn_order_for_user(request, form.cleaned_data["order"])
        resident = order.resident
    try:
        asked = charting.dose_override_request(
            user=request.user,
            what_stopped=form.cleaned_data["what_stopped"],
            now=timezone.now(),
            scheduled_dose=dose,
            order=order,
        )
    except charting.ChartingError as error:
        return _not_done(request, resident, str(error), status=http_status(error))
    return _after_charting(
        request,
        resident,
        f"Asked {asked} nurse{'s' if asked != 1 else ''} for an override. When one has "
        "overridden it from their device, chart the dose again.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def override_dose(request: HttpRequest, dose_id) -> HttpResponse:
    """A nurse overrides one scheduled dose from their own device."""
    dose = _dose_for_user(request, dose_id)
    return _override_page(request, resident=dose.resident, shown=dose.order, scheduled_dose=dose)


@login_required
@require_http_methods(["GET", "POST"])
def override_prn(request: HttpRequest, order_id) -> HttpResponse:
    """A nurse overrides the next dose of a PRN order from their own device."""
    order = _prn_order_for_user(request, order_id)
    return _override_page(request, resident=order.resident, shown=order, order=order)


def _override_page(request: HttpRequest, *, resident: Resident, shown: Order, **subject):
    """``subject``: the scheduled dose, or the PRN order, the service overrides."""
    permissions.require(request.user, Area.NURSE_OVERRIDE, "override a dose")
    order = shown
    form = forms.OverrideForm(request.POST or None)
    context = {"resident": resident, "order": order, "form": form, **subject}
    _audit_read(request, resident, timezone.now())
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render(request, "mar/override.html", context, status=status)
    try:
        charting.dose_override_grant(
            nurse=request.user, reason=form.cleaned_data["reason"], now=timezone.now(), **subject
        )
    except charting.ChartingError as error:
        status = http_status(error)
        return render(request, "mar/override.html", context | {"error": str(error)}, status=status)
    messages.success(
        request,
        f"Override given for {order.medication}. The med tech can chart it in the next hour.",
    )
    return redirect(_resident_page(resident))


def _record_for_user(request: HttpRequest, record_id) -> Administration:
    return get_object_or_404(
        scope(Administration.objects, user=request.user, path="resident__facility").select_related(
            "order__medication", "resident__facility"
        ),
        public_id=record_id,
    )


@login_required
@require_POST
def record_undo(request: HttpRequest, record_id) -> HttpResponse:
    record = _record_for_user(request, record_id)
    # The one who charted it (within 2 minutes) or a nurse: the service decides which.
    permissions.require(request.user, Area.CHART, "undo a charted dose")
    form = forms.UndoForm(request.POST)
    if not form.is_valid():
        return _not_done(
            request, record.resident, "Say why the entry was made in error.", status=400
        )
    try:
        charting.administration_mark_entered_in_error(
            administration=record,
            user=request.user,
            reason=form.cleaned_data["reason"],
            now=timezone.now(),
        )
    except charting.ChartingError as error:
        status = http_status(error)
        return _not_done(request, record.resident, str(error), status=status)
    return _after_charting(
        request, record.resident, f"Marked entered in error: {record.order.medication}."
    )


@login_required
@require_POST
def record_effectiveness(request: HttpRequest, record_id) -> HttpResponse:
    record = _record_for_user(request, record_id)
    permissions.require(request.user, Area.CHART, "follow up a PRN dose")
    form = forms.EffectivenessForm(request.POST)
    if not form.is_valid():
        return _not_done(request, record.resident, "Choose effective or not effective.", status=400)
    try:
        charting.administration_record_effectiveness(
            administration=record,
            user=request.user,
            result=form.cleaned_data["result"],
            note=form.cleaned_data["note"],
            now=timezone.now(),
        )
    except charting.ChartingError as error:
        status = http_status(error)
        return _not_done(request, record.resident, str(error), status=status)
    return _after_charting(
        request, record.resident, f"Follow-up charted for {record.order.medication}."
    )


@login_required
@require_http_methods(["GET", "POST"])
def concern_new(request: HttpRequest, resident_id) -> HttpResponse:
    resident = selectors.resident_for_user(user=request.user, public_id=resident_id)
    if request.method == "GET":
        form = forms.ConcernForm(initial={"administration": request.GET.get("after")})
    else:
        form = forms.ConcernForm(request.POST)
    context = {"resident": resident, "form": form}
    if request.method == "GET" or not form.is_valid():
        return render(
            request, "mar/concern.html", context, status=200 if request.method == "GET" else 400
        )
    now = timezone.now()
    record = None
    if form.cleaned_data["administration"]:
        record = Administration.objects.filter(
            public_id=form.cleaned_data["administration"], resident=resident
        ).first()
    clock = form.cleaned_data["observed_at"]
    observed_at = (
        forms.local_time_to_instant(clock, zone=resident.facility.zone, now=now) if clock else now
    )
    try:
        concerns.concern_report(
            resident=resident,
            user=request.user,
            kind=form.cleaned_data["kind"],
            description=form.cleaned_data["description"],
            observed_at=observed_at,
            now=now,
            administration=record,
        )
    except charting.ChartingError as error:
        return render(request, "mar/concern.html", context | {"error": str(error)}, status=400)
    messages.success(request, "Reported. The nurses have been notified.")
    return redirect(_resident_page(resident))
