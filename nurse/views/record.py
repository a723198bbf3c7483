"""The resident's clinical record (demographics, allergies, diagnoses, orders, the last 7
days of the MAR as a grid, PRN history, concern reports) and one administration's full
history, where a nurse corrects it by amendment. Every view of a record is audited."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from mar import forms
from mar.models import Administration, Amendment
from mar.selectors import administration_current_value
from mar.services import administrations as charting
from medtech.core import permissions
from medtech.core.audit import audit_read
from medtech.core.errors import http_status
from nurse import selectors as nurse_selectors

READ = permissions.Area.EXCEPTIONS_READ
AMEND = permissions.Area.AMEND


@login_required
@require_http_methods(["GET"])
def resident_record(request: HttpRequest, resident_id) -> HttpResponse:
    permissions.require(request.user, READ, message="The record is for nurses and administrators.")
    resident = nurse_selectors.resident_for_nurse(user=request.user, public_id=resident_id)
    now = timezone.now()
    record = nurse_selectors.resident_record(resident=resident, now=now)
    audit_read(
        actor=request.user,
        resident=resident,
        view="nurse:resident_record",
        request=request,
        now=now,
    )
    context = {
        "record": record,
        "resident": resident,
        "prn_counts": nurse_selectors.prn_effectiveness_counts(record.prn_history),
        "can_write": permissions.can(request.user, permissions.Area.ORDER_ENTER),
        "now": now,
    }
    return render(request, "nurse/record.html", context)


def _shown(field: str, value: str, zone) -> str:
    """An amended value as a person reads it: local times, status words."""
    if not value:
        return ""
    if field == Amendment.Field.ADMINISTERED_AT:
        try:
            return f"{dt.datetime.fromisoformat(value).astimezone(zone):%a %b %-d, %Y %H:%M}"
        except ValueError:
            return value
    if field == Amendment.Field.STATUS:
        return dict(Administration.Status.choices).get(value, value)
    return value


def _history(request, administration, form, *, status=200, error=""):
    zone = administration.resident.facility.zone
    amendments = [
        SimpleNamespace(
            amendment=amendment,
            old=_shown(amendment.field, amendment.old_value, zone),
            new=_shown(amendment.field, amendment.new_value, zone),
        )
        for amendment in administration.amendments.all()
    ]
    context = {
        "record": administration,
        "resident": administration.resident,
        "amendments": amendments,
        "form": form,
        "error": error,
        "can_amend": permissions.can(request.user, AMEND)
        and not administration.is_entered_in_error,
        "current": {
            field: _shown(
                field,
                administration_current_value(administration=administration, field=field),
                zone,
            )
            for field in ("administered_at", "status", "reason", "note", "dose_amount")
        },
    }
    return render(request, "nurse/administration.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def administration_detail(request: HttpRequest, record_id) -> HttpResponse:
    """One record, as charted and as amended since (who, when, why); the amendment form."""
    permissions.require(request.user, READ, message="Records are for nurses and administrators.")
    administration = nurse_selectors.administration_with_history(
        user=request.user, public_id=record_id
    )
    now = timezone.now()
    if request.method == "GET":
        audit_read(
            actor=request.user,
            resident=administration.resident,
            view="nurse:administration_detail",
            request=request,
            now=now,
        )
        return _history(request, administration, forms.AmendForm())
    permissions.require(request.user, AMEND, message="Only a nurse corrects a record.")
    form = forms.AmendForm(request.POST)
    if not form.is_valid():
        return _history(request, administration, form, status=400)
    field = form.cleaned_data["field"]
    reason = form.cleaned_data["reason"]
    try:
        if field == Amendment.Field.ENTERED_IN_ERROR:
            charting.administration_mark_entered_in_error(
                administration=administration, user=request.user, reason=reason, now=now
            )
        else:
            charting.administration_amend(
                administration=administration,
                user=request.user,
                field=field,
                new_value=form.new_value(zone=administration.resident.facility.zone),
                reason=reason,
                now=now,
            )
    except charting.ChartingError as error:
        status = http_status(error)
        fresh = nurse_selectors.administration_with_history(user=request.user, public_id=record_id)
        return _history(request, fresh, form, status=status, error=str(error))
    messages.success(request, "Correction recorded; the original stays in the history.")
    return redirect("nurse:administration_detail", record_id=administration.public_id)
