from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from mar import selectors
from mar.services import concerns
from mar.services.administrations import ChartingError
from medtech.core import permissions
from medtech.core.scope import scope
from residents.models import ConcernReport


@login_required
@require_GET
def concern_list(request: HttpRequest) -> HttpResponse:
    permissions.require(
        request.user,
        permissions.Area.CONCERN_REVIEW,
        message="Concern reports are for nurses and administrators.",
    )
    grouped = selectors.concerns_for_user(user=request.user, now=timezone.now())
    return render(request, "mar/concerns.html", {"grouped": grouped})


@login_required
@require_POST
def concern_acknowledge(request: HttpRequest, report_id) -> HttpResponse:
    report = get_object_or_404(
        scope(ConcernReport.objects, user=request.user, path="resident__facility").select_related(
            "resident"
        ),
        public_id=report_id,
    )
    permissions.require(
        request.user,
        permissions.Area.EXCEPTION_ACK,
        message="Only a nurse acknowledges a concern report.",
    )
    try:
        concerns.concern_acknowledge(
            report=report,
            user=request.user,
            note=request.POST.get("note", "")[:4000],
            now=timezone.now(),
        )
    except ChartingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Acknowledged: {report.resident.display_name}.")
    return redirect("nurse:concerns")
