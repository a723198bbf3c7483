"""The cart's stock: what is on a cart, an item's running log, receiving, waste, returns,
adjustments, transfers, the controlled-substance shift count, reorders and expiry.

Thin views: parse the form, call one selector or service, render. Every page works
without JavaScript; with htmx the stock filters refresh only the list. Another
community's carts, items and counts answer 404 (the selectors scope them).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory import forms, selectors, services
from inventory.models import ControlledCount, StockItem
from mar.models import Medication, Order
from medtech.core import permissions
from medtech.core.errors import http_status
from medtech.core.permissions import Area
from medtech.core.scope import scope
from residents.models import Facility, Resident
from staff.models import User


def _is_manager(user: User) -> bool:
    return permissions.can(user, Area.STOCK_MANAGE)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _facility(request: HttpRequest) -> Facility:
    try:
        return selectors.facility_for_user(
            user=request.user, public_id=_uuid(request.GET.get("facility"))
        )
    except Facility.DoesNotExist as error:
        raise Http404(str(error)) from error


def _refused(request, template: str, context: dict, error: services.StockError) -> HttpResponse:
    context = context | {"error": str(error), "error_field": getattr(error, "field", None)}
    return render(request, template, context, status=http_status(error))


def _item_page(item: StockItem) -> str:
    return reverse("inventory:item", args=[item.public_id])


# --- Start page, a cart's stock, one item --------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "overviews": selectors.stock_overview_for_user(user=request.user, now=now),
        "discrepancies": selectors.open_discrepancies_for_user(user=request.user),
        "in_progress": selectors.counts_in_progress_for_user(user=request.user),
        "is_manager": _is_manager(request.user),
    }
    return render(request, "inventory/index.html", context)


# Packages per page of a cart's stock: about three screens of a tablet, grouped by resident.
STOCK_PAGE_SIZE = 25


@login_required
@require_GET
def cart_stock(request: HttpRequest, cart_id: uuid.UUID) -> HttpResponse:
    cart = selectors.cart_for_user(user=request.user, public_id=cart_id)
    filters = {
        "resident_id": _uuid(request.GET.get("resident")),
        "controlled": request.GET.get("controlled") == "1",
        "low": request.GET.get("low") == "1",
        "expiring": request.GET.get("expiring") == "1",
        "include_empty": request.GET.get("empty") == "1",
        "search": request.GET.get("q", "").strip()[:60],
    }
    rows = selectors.cart_stock(cart=cart, now=timezone.now(), **filters)
    page = Paginator(rows, STOCK_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "cart": cart,
        "rows": rows,
        "page": page,
        "count_open": selectors.blind_count_open(cart_id=cart.pk),
        "filters": filters,
        "residents": selectors.residents_of_cart(cart=cart),
        "is_filtered": any(filters.values()),
    }
    template = "inventory/cart_stock.html"
    if request.htmx and request.htmx.target == "stock-list":
        template += "#stock-list"
    return render(request, template, context)


def _item_context(request: HttpRequest, item: StockItem) -> dict:
    facility = item.cart.facility
    now = timezone.now()
    today = now.astimezone(facility.zone).date()
    days_to_expiry = (item.expires_on - today).days
    supply = selectors.facility_supplies(
        facility=facility, now=now, resident_ids={item.resident_id}
    ).get((item.resident_id, item.medication_id))
    return {
        "item": item,
        "supply": supply,
        "days_to_expiry": days_to_expiry,
        "expiry": "expired"
        if days_to_expiry < 0
        else "expiring"
        if days_to_expiry <= facility.expiry_warning_days
        else "ok",
        "is_manager": _is_manager(request.user),
        "quantity_hidden": item.medication.is_controlled
        and selectors.blind_count_open(cart_id=item.cart_id),
    }


@login_required
@require_GET
def item(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    stock_item = selectors.item_for_user(user=request.user, public_id=item_id)
    context = _item_context(request, stock_item) | {
        "ledger": selectors.item_ledger(item=stock_item)
    }
    return render(request, "inventory/item.html", context)


@login_required
@require_GET
def item_log(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """The printable running log of one package."""
    stock_item = selectors.item_for_user(user=request.user, public_id=item_id)
    if stock_item.medication.is_controlled and selectors.blind_count_open(
        cart_id=stock_item.cart_id
    ):
        messages.info(request, "The running log can be printed once the shift count closes.")
        return redirect("inventory:item", item_id=stock_item.public_id)
    context = {
        "item": stock_item,
        "ledger": selectors.item_ledger(item=stock_item),
        "printed_at": timezone.now(),
    }
    return render(request, "inventory/item_log_print.html", context)


# --- Receiving -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, cart_id: uuid.UUID) -> HttpResponse:
    """Pick the resident and order (or scan the Rx number), then what came."""
    cart = selectors.cart_for_user(user=request.user, public_id=cart_id)
    facility = cart.facility
    params = request.POST if request.method == "POST" else request.GET
    scanned = params.get("rx", "").strip()[:40]
    pick = selectors.receiving_pick(
        cart=cart, resident_id=_uuid(params.get("resident")), rx=scanned
    )
    resident, orders, chosen_order = pick.resident, pick.orders, pick.order
    staff = selectors.staff_for_signing(facility=facility)
    if request.method == "POST":
        form = forms.ReceiveForm(request.POST, orders=orders, staff=staff, user=request.user)
    else:
        initial = {"package": "blister_card"}
        if chosen_order is not None:
            initial |= {"order": str(chosen_order.public_id), "rx_number": scanned}
        form = forms.ReceiveForm(initial=initial, orders=orders, staff=staff, user=request.user)
    context = {
        "cart": cart,
        "residents": pick.residents,
        "resident": resident,
        "orders": orders,
        "scanned": scanned,
        "rx_message": pick.message,
        "form": form,
    }
    template = "inventory/receive.html"
    if request.method == "GET":
        if request.htmx and request.htmx.target == "receive-form":
            template += "#receive-form"
        return render(request, template, context)
    if resident is None or not form.is_valid():
        return render(request, template, context, status=400)
    try:
        row = services.stock_receive(
            by=request.user,
            quantity=form.cleaned_data["quantity"],
            now=timezone.now(),
            order=form.chosen_order(),
            cart=cart,
            lot=form.cleaned_data["lot"],
            expires_on=form.cleaned_data["expires_on"],
            rx_number=form.cleaned_data["rx_number"],
            package=form.cleaned_data["package"],
            unit=form.cleaned_data["unit"],
            note=form.cleaned_data["note"],
            witness=form.witness_user(),
            witness_secret=form.cleaned_data["witness_secret"],
        )
    except services.StockError as error:
        return _refused(request, template, context, error)
    received = row.stock_item
    messages.success(
        request,
        f"Received {row.quantity.normalize():f} {received.unit} of {received.medication} "
        f"for {received.resident.display_name}.",
    )
    return redirect(_item_page(received))


# --- Waste, return, adjust, transfer -------------------------------------------------------


def _movement(
    request: HttpRequest,
    item_id: uuid.UUID,
    *,
    template: str,
    managers_only: bool,
    make_form,
    act,
    done: str,
) -> HttpResponse:
    """The shared shape of the four item forms: GET shows it, POST calls the service."""
    stock_item = selectors.item_for_user(user=request.user, public_id=item_id)
    if managers_only and not _is_manager(request.user):
        raise PermissionDenied("Only nurses and administrators can do this.")
    form = make_form(stock_item, request.POST if request.method == "POST" else None)
    context = _item_context(request, stock_item) | {"form": form}
    if request.method == "GET":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        act(stock_item, form, timezone.now())
    except services.StockError as error:
        return _refused(request, template, context, error)
    messages.success(request, done)
    return redirect(_item_page(stock_item))


@login_required
@require_http_methods(["GET", "POST"])
def waste(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    def make_form(stock_item: StockItem, data):
        staff = selectors.staff_for_signing(facility=stock_item.cart.facility)
        return forms.WasteForm(data, staff=staff, user=request.user)

    def act(stock_item: StockItem, form: forms.WasteForm, now) -> None:
        services.stock_waste(
            item=stock_item,
            quantity=form.cleaned_data["quantity"],
            reason=form.reason_text(),
            by=request.user,
            now=now,
            witness=form.witness_user(),
            witness_secret=form.cleaned_data["witness_secret"],
        )

    return _movement(
        request,
        item_id,
        template="inventory/waste.html",
        managers_only=False,
        make_form=make_form,
        act=act,
        done="Waste recorded.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def return_to_pharmacy(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    def make_form(stock_item: StockItem, data):
        staff = selectors.staff_for_signing(facility=stock_item.cart.facility)
        return forms.ReturnForm(data, staff=staff, user=request.user)

    def act(stock_item: StockItem, form: forms.ReturnForm, now) -> None:
        services.stock_return(
            item=stock_item,
            by=request.user,
            now=now,
            quantity=form.cleaned_data["quantity"],
            reason=form.cleaned_data["reason"],
            witness=form.witness_user(),
            witness_secret=form.cleaned_data["witness_secret"],
        )

    return _movement(
        request,
        item_id,
        template="inventory/return.html",
        managers_only=True,
        make_form=make_form,
        act=act,
        done="Return to the pharmacy recorded.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def adjust(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    def act(stock_item: StockItem, form: forms.AdjustForm, now) -> None:
        services.stock_adjust(
            item=stock_item,
            by=request.user,
            reason=form.cleaned_data["reason"],
            now=now,
            counted=form.cleaned_data["counted"],
        )

    return _movement(
        request,
        item_id,
        template="inventory/adjust.html",
        managers_only=True,
        make_form=lambda stock_item, data: forms.AdjustForm(data),
        act=act,
        done="Count corrected.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def transfer(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    def make_form(stock_item: StockItem, data):
        carts = [
            cart
            for cart in selectors.carts_for_user(user=request.user)
            if cart.facility_id == stock_item.cart.facility_id and cart.pk != stock_item.cart_id
        ]
        return forms.TransferForm(data, carts=carts)

    def act(stock_item: StockItem, form: forms.TransferForm, now) -> None:
        services.stock_transfer(
            item=stock_item,
            to_cart=form.chosen_cart(),
            by=request.user,
            now=now,
            quantity=form.cleaned_data["quantity"],
            reason=form.cleaned_data["reason"],
        )

    return _movement(
        request,
        item_id,
        template="inventory/transfer.html",
        managers_only=True,
        make_form=make_form,
        act=act,
        done="Moved to the other cart; both carts' logs show it.",
    )


# --- Controlled-substance shift counts -----------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def counts(request: HttpRequest, cart_id: uuid.UUID) -> HttpResponse:
    """A cart's counts, and starting the shift count."""
    cart = selectors.cart_for_user(user=request.user, public_id=cart_id)
    staff = [
        person
        for person in selectors.staff_for_signing(facility=cart.facility)
        if person.role in services.HANDLERS
    ]
    if request.method == "POST":
        form = forms.CountStartForm(request.POST, staff=staff)
    else:
        form = forms.CountStartForm(
            initial={"outgoing_user": str(request.user.public_id)}, staff=staff
        )
    history = selectors.counts_for_cart(cart=cart)
    context = {
        "cart": cart,
        "form": form,
        "history": history,
        "in_progress": next(
            (c for c in history if c.status == ControlledCount.Status.IN_PROGRESS), None
        ),
    }
    template = "inventory/counts.html"
    if request.method == "GET":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        started = services.count_start(
            cart=cart,
            outgoing_user=form.person("outgoing_user"),
            incoming_user=form.person("incoming_user"),
            by=request.user,
            now=timezone.now(),
        )
    except services.StockError as error:
        return _refused(request, template, context, error)
    return redirect("inventory:count", count_id=started.public_id)


def _counted(line) -> bool:
    return line.outgoing_quantity is not None and line.incoming_quantity is not None


def _count_context(request: HttpRequest, count: ControlledCount) -> dict:
    lines = selectors.count_lines(count=count)
    return {
        "count": count,
        "lines": lines,
        "is_finished": count.status
        not in (ControlledCount.Status.IN_PROGRESS, ControlledCount.Status.CANCELLED),
        "discrepant": sum(1 for line in lines if _counted(line) and line.is_discrepancy),
        "can_resolve": count.status == ControlledCount.Status.DISCREPANCY
        and not services.count_resolver_refusal(count=count, user=request.user),
        "resolve_form": forms.CountResolveForm(),
    }


@login_required
@require_GET
def count(request: HttpRequest, count_id: uuid.UUID) -> HttpResponse:
    shift_count = selectors.count_for_user(user=request.user, public_id=count_id)
    return render(request, "inventory/count.html", _count_context(request, shift_count))


@login_required
@require_http_methods(["GET", "POST"])
def count_sign(request: HttpRequest, count_id: uuid.UUID, side: str) -> HttpResponse:
    """One person's blind count: no expected numbers, nothing the other person entered."""
    if side not in services.SIDES:
        raise Http404("No such side of a count.")
    shift_count = selectors.count_for_user(user=request.user, public_id=count_id)
    person = getattr(shift_count, f"{side}_user")
    signed_at = getattr(shift_count, f"{side}_signed_at")
    if shift_count.status != ControlledCount.Status.IN_PROGRESS or signed_at is not None:
        messages.info(request, f"{person.get_full_name()} has signed; their count is closed.")
        return redirect("inventory:count", count_id=shift_count.public_id)
    lines = selectors.count_lines(count=shift_count)
    form = forms.CountSignForm(request.POST if request.method == "POST" else None, lines=lines)
    context = {"count": shift_count, "side": side, "person": person, "form": form}
    template = "inventory/count_sign.html"
    if request.method == "GET":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        signed = services.count_sign(
            count=shift_count,
            side=side,
            quantities=form.quantities(),
            secret=form.cleaned_data["secret"],
            now=timezone.now(),
        )
    except services.StockError as error:
        return _refused(request, template, context, error)
    if signed.status == ControlledCount.Status.DISCREPANCY:
        messages.error(request, "The counts do not match the record. The nurses have been told.")
    elif signed.status == ControlledCount.Status.MATCHED:
        messages.success(request, "Both counts match the record. The count is complete.")
    else:
        messages.success(request, f"{person.get_full_name()}'s count is signed.")
    return redirect("inventory:count", count_id=signed.public_id)


@login_required
@require_POST
def count_cancel(request: HttpRequest, count_id: uuid.UUID) -> HttpResponse:
    shift_count = selectors.count_for_user(user=request.user, public_id=count_id)
    try:
        services.count_cancel(count=shift_count, by=request.user, now=timezone.now())
    except services.StockError as error:
        messages.error(request, str(error))
        return redirect("inventory:count", count_id=shift_count.public_id)
    messages.success(request, "Count cancelled. Start a new one when both of you are ready.")
    return redirect("inventory:counts", cart_id=shift_count.cart.public_id)


@login_required
@require_POST
def count_resolve(request: HttpRequest, count_id: uuid.UUID) -> HttpResponse:
    shift_count = selectors.count_for_user(user=request.user, public_id=count_id)
    permissions.require(
        request.user, Area.COUNT_RESOLVE, message="Only a nurse can resolve a count discrepancy."
    )
    form = forms.CountResolveForm(request.POST)
    context = _count_context(request, shift_count) | {"resolve_form": form}
    if not form.is_valid():
        return render(request, "inventory/count.html", context, status=400)
    try:
        services.count_resolve(
            count=shift_count,
            by=request.user,
            note=form.cleaned_data["note"],
            now=timezone.now(),
            adjust_to_count=form.cleaned_data["adjust_to_count"],
        )
    except services.StockError as error:
        return _refused(request, "inventory/count.html", context, error)
    messages.success(request, "Discrepancy resolved.")
    return redirect("inventory:count", count_id=shift_count.public_id)


@login_required
@require_GET
def count_sheet(request: HttpRequest, count_id: uuid.UUID) -> HttpResponse:
    """The printable count sheet, once both have signed (before that it would not be blind)."""
    shift_count = selectors.count_for_user(user=request.user, public_id=count_id)
    context = _count_context(request, shift_count) | {"printed_at": timezone.now()}
    if not context["is_finished"]:
        messages.info(request, "The count sheet can be printed once both people have signed.")
        return redirect("inventory:count", count_id=shift_count.public_id)
    return render(request, "inventory/count_sheet.html", context)


# --- Reorders and expiry -------------------------------------------------------------------


@login_required
@require_GET
def reorders(request: HttpRequest) -> HttpResponse:
    facility = _facility(request)
    context = {
        "facility": facility,
        "facilities": selectors.facilities_for_user(user=request.user),
        "reorders": selectors.reorder_list(facility=facility, now=timezone.now()),
        "is_manager": _is_manager(request.user),
    }
    return render(request, "inventory/reorders.html", context)


def _reorders_page(facility: Facility) -> str:
    return f"{reverse('inventory:reorders')}?facility={facility.public_id}"


@login_required
@require_POST
def reorder_request(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, Area.STOCK_MANAGE, "request refills")
    form = forms.ReorderRequestForm(request.POST)
    if not form.is_valid():
        raise Http404("No such resident or medication.")
    resident = (
        scope(Resident.objects, user=request.user)
        .filter(public_id=form.cleaned_data["resident"])
        .first()
    )
    medication = Medication.objects.filter(public_id=form.cleaned_data["medication"]).first()
    if resident is None or medication is None:
        raise Http404("No such resident or medication.")
    order = (
        resident.orders.filter(medication=medication, status=Order.Status.ACTIVE)
        .order_by("id")
        .first()
    )
    try:
        services.reorder_request(
            resident=resident,
            medication=medication,
            order=order,
            by=request.user,
            now=timezone.now(),
            note=form.cleaned_data["note"],
        )
    except services.StockError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Marked requested: {medication} for {resident.display_name}.")
    return redirect(_reorders_page(resident.facility))


@login_required
@require_POST
def reorder_received(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    refill = selectors.reorder_request_for_user(user=request.user, public_id=request_id)
    permissions.require(request.user, Area.STOCK_MANAGE, "mark refills received")
    try:
        services.reorder_mark_received(request=refill, by=request.user, now=timezone.now())
    except services.StockError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Marked received: {refill.medication} for {refill.resident.display_name}. "
            "Receive the package onto the cart too.",
        )
    return redirect(_reorders_page(refill.resident.facility))


@login_required
@require_GET
def expiry(request: HttpRequest) -> HttpResponse:
    facility = _facility(request)
    context = {
        "facility": facility,
        "facilities": selectors.facilities_for_user(user=request.user),
        "expiry": selectors.expiry_list(facility=facility, now=timezone.now()),
        "is_manager": _is_manager(request.user),
    }
    return render(request, "inventory/expiry.html", context)
