"""The signed-in person's home page and the administrator's audit trail."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from medtech.core import permissions
from medtech.core.audit import audit_events_search
from medtech.core.scope import facility_ids_of
from medtech.models import AuditEvent
from residents.selectors import facility_overviews_for_user
from staff import audit_words
from staff.audit_forms import AuditSearchForm
from staff.models import User
from staff.selectors import user_charting_refusal


@login_required
def home(request: HttpRequest) -> HttpResponse:
    facilities = facility_overviews_for_user(user=request.user)
    refusal = None
    if facilities and request.user.role in (User.Role.MED_TECH, User.Role.NURSE):
        facility = facilities[0]
        refusal = user_charting_refusal(
            user=request.user,
            facility_id=facility.pk,
            today=timezone.now().astimezone(facility.zone).date(),
        )
    return render(request, "home.html", {"facilities": facilities, "charting_refusal": refusal})


AUDIT_PAGE_SIZE = 50


@login_required
@require_GET
def audit_search(request: HttpRequest) -> HttpResponse:
    """The audit trail of the administrator's communities: who read or changed what,
    when and from where, newest first, narrowed by person, resident, days and kind."""
    permissions.require(request.user, permissions.Area.AUDIT, "search the audit trail")
    facility_ids = facility_ids_of(user=request.user)
    form = AuditSearchForm(request.GET, facility_ids=facility_ids)
    is_valid = form.is_valid()
    events = (
        audit_events_search(facility_ids=facility_ids, **form.search_arguments())
        if is_valid
        else AuditEvent.objects.none()
    )
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "page": page,
            "lines": audit_words.audit_lines(
                page.object_list, default_zone=ZoneInfo(settings.DEFAULT_FACILITY_TIME_ZONE)
            ),
        },
        status=200 if is_valid else 400,
    )
