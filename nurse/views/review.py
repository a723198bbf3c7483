"""The nurse's exceptions review: the filterable list, acknowledging one or many with a
follow-up note, and the follow-ups owed after refusals and holds (overdue ones in red).

The filter form is a plain GET form (links can be shared and bookmarked); with htmx only
the list is swapped. Acknowledging posts the ticked rows and comes back to the same list.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from mar import forms
from mar import selectors_drugs as drug_selectors
from mar.services import followups
from medtech.core import permissions
from nurse import selectors as nurse_selectors

READ = permissions.Area.EXCEPTIONS_READ
ACK = permissions.Area.EXCEPTION_ACK


def _filters(form: forms.ExceptionFilterForm) -> nurse_selectors.ExceptionFilters:
    data = form.cleaned_data if form.is_valid() else {}
    return nurse_selectors.ExceptionFilters(
        facility=data.get("facility"),
        unit=data.get("unit"),
        cart=data.get("cart"),
        resident=data.get("resident"),
        staff=data.get("staff"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        kind=data.get("kind") or None,
        status=data.get("status") or "open",
    )


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, READ, message="The review list is for nurses.")
    now = timezone.now()
    form = forms.ExceptionFilterForm(request.GET or None)
    filters = _filters(form) if form.is_bound else nurse_selectors.ExceptionFilters()
    choices = nurse_selectors.exception_filter_choices(user=request.user)
    zone = choices.facilities[0].zone if choices.facilities else None
    page_number = (form.cleaned_data.get("page") if form.is_bound and form.is_valid() else 1) or 1
    page = nurse_selectors.exceptions_page(
        user=request.user, now=now, filters=filters, page=page_number, zone=zone
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "choices": choices,
        "page": page,
        "query": query.urlencode(),
        "followups": nurse_selectors.followups_open(user=request.user, now=now),
        "psychotropics_ending": drug_selectors.psychotropic_prn_orders_ending(
            facility_ids=[f.pk for f in choices.facilities], now=now
        ),
        "now": now,
        "can_ack": permissions.can(request.user, ACK),
        "invalid_filters": form.is_bound and not form.is_valid(),
    }
    template = "nurse/review.html"
    if request.htmx and request.htmx.target == "exception-list":
        template += "#exception-list"
    return render(request, template, context)


@login_required
@require_GET
def overdue_board(request: HttpRequest) -> HttpResponse:
    """Every cart's doses unrecorded now (window passed, nobody charted), for the nurse."""
    permissions.require(request.user, READ, message="The overdue board is for nurses.")
    now = timezone.now()
    carts = nurse_selectors.overdue_board(user=request.user, now=now)
    context = {
        "carts": carts,
        "total": sum(cart.count for cart in carts),
        "several_communities": len({cart.facility.pk for cart in carts}) > 1,
        "now": now,
    }
    return render(request, "nurse/overdue.html", context)


def _back(request: HttpRequest):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("nurse:review")


@login_required
@require_POST
def review_acknowledge(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, ACK, message="Only a nurse acknowledges exceptions.")
    form = forms.AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a follow-up note, then acknowledge.")
        return _back(request)
    now = timezone.now()
    only = request.POST.get("only", "")[:120]
    subjects = nurse_selectors.exception_subjects_for_nurse(
        user=request.user, now=now, keys=[only] if only else form.cleaned_data["keys"]
    )
    try:
        result = followups.exceptions_acknowledge_many(
            user=request.user,
            subjects=subjects,
            note=form.cleaned_data["note"],
            physician_notified=form.cleaned_data["physician_notified"],
            family_notified=form.cleaned_data["family_notified"],
            now=now,
        )
    except followups.FollowUpError as error:
        messages.error(request, str(error))
        return _back(request)
    if result.reviews:
        closed = (
            f" {result.followups_closed} follow-up(s) closed." if result.followups_closed else ""
        )
        messages.success(request, f"Acknowledged {len(result.reviews)}.{closed}")
    for _, why in result.refused:
        messages.error(request, f"Not acknowledged: {why}")
    return _back(request)


@login_required
@require_POST
def followup_done(request: HttpRequest, followup_id) -> HttpResponse:
    permissions.require(request.user, ACK, message="Only a nurse closes a follow-up.")
    followup = nurse_selectors.followup_for_nurse(user=request.user, public_id=followup_id)
    form = forms.FollowUpDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write what was done.")
        return _back(request)
    try:
        followups.followup_complete(
            followup=followup,
            user=request.user,
            note=form.cleaned_data["note"],
            prescriber_notified=form.cleaned_data["prescriber_notified"],
            now=timezone.now(),
        )
    except followups.FollowUpError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Follow-up done: {followup.resident.display_name}.")
    return _back(request)
