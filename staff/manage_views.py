"""The administrator's staff screens: everyone in one's communities, a new person, one
person's certifications and deactivation, and the list of certifications running out.

Only administrators reach these pages (403 for anyone else); a person of another
community answers 404. Thin views: parse the form, call one service, render.
"""

from __future__ import annotations

import mimetypes
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from medtech.core import permissions
from medtech.core.scope import facilities_of
from staff import manage_forms as forms
from staff import manage_selectors as selectors
from staff import manage_services as services
from staff.models import Certification
from staff.selectors import certification_date_warning, user_charting_refusal


def _require_admin(request: HttpRequest) -> None:
    permissions.require(request.user, permissions.Area.ADMIN_SCREENS, "manage staff")


def _today(request: HttpRequest):
    return timezone.localdate()


def _add_error(form, error: services.StaffError) -> None:
    if isinstance(error, services.StaffNotPermitted):
        raise PermissionDenied(str(error))
    form.add_error(error.field if error.field in form.fields else None, str(error))


def _person_url(person) -> str:
    return reverse("staff_manage:detail", args=[person.public_id])


@login_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    show_all = request.GET.get("inactive") == "1"
    people = selectors.staff_for_admin(admin=request.user, include_inactive=show_all)
    context = {"people": people, "show_all": show_all, "today": _today(request)}
    return render(request, "staff/manage_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    facilities = facilities_of(user=request.user).order_by("name", "id")
    form = forms.UserCreateForm(request.POST or None, facilities=facilities)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                person = services.user_create(
                    by=request.user,
                    username=data["username"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    role=data["role"],
                    title=data["title"],
                    initials=data["initials"],
                    facilities=list(data["facilities"]),
                    password=data["password"],
                    now=timezone.now(),
                    request=request,
                )
            except services.StaffError as error:
                _add_error(form, error)
            else:
                messages.success(
                    request,
                    f"{person.get_full_name()} can sign in as {person.username}. "
                    "Add their certifications below.",
                )
                return redirect(_person_url(person))
        return render(request, "staff/manage_new.html", {"form": form}, status=400)
    return render(request, "staff/manage_new.html", {"form": form})


def _detail_context(request: HttpRequest, person, **bound) -> dict:
    memberships = list(
        person.memberships.select_related("facility").order_by("facility__name", "id")
    )
    return {
        "person": person,
        "memberships": memberships,
        "cannot_chart": bool(
            memberships
            and person.role in selectors.CHARTING_KIND
            and user_charting_refusal(
                user=person, facility_id=memberships[0].facility_id, today=_today(request)
            )
        ),
        "certifications": selectors.certifications_of(user=person),
        "today": _today(request),
        "certification_form": forms.CertificationForm(),
        "deactivate_form": forms.DeactivateForm(),
    } | bound


@login_required
@require_GET
def staff_detail(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    _require_admin(request)
    person = selectors.staff_member_for_admin(admin=request.user, public_id=user_id)
    return render(request, "staff/manage_detail.html", _detail_context(request, person))


@login_required
@require_POST
def certification_add(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    _require_admin(request)
    person = selectors.staff_member_for_admin(admin=request.user, public_id=user_id)
    form = forms.CertificationForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            certification = services.certification_add(
                by=request.user,
                user=person,
                kind=data["kind"],
                number=data["number"],
                state=data["state"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                document=data["document"],
                now=timezone.now(),
                request=request,
            )
        except services.StaffError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"{certification.get_kind_display()} recorded.")
            if warning := certification_date_warning(
                issued_on=certification.issued_on,
                expires_on=certification.expires_on,
                today=_today(request),
            ):
                messages.warning(request, warning)
            return redirect(_person_url(person))
    context = _detail_context(request, person, certification_form=form)
    return render(request, "staff/manage_detail.html", context, status=400)


@login_required
@require_POST
def staff_deactivate(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    _require_admin(request)
    person = selectors.staff_member_for_admin(admin=request.user, public_id=user_id)
    form = forms.DeactivateForm(request.POST)
    if form.is_valid():
        try:
            ended = services.user_deactivate(
                by=request.user,
                user=person,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
                request=request,
            )
        except services.StaffError as error:
            _add_error(form, error)
        else:
            messages.success(
                request,
                f"{person.get_full_name() or person.username} is deactivated: "
                f"{ended['sessions']} session(s) and {ended['tokens']} API token(s) ended.",
            )
            return redirect(_person_url(person))
    context = _detail_context(request, person, deactivate_form=form)
    return render(request, "staff/manage_detail.html", context, status=400)


@login_required
@require_GET
def certification_document(request: HttpRequest, certification_id: int) -> FileResponse:
    _require_admin(request)
    certification = get_object_or_404(
        Certification.objects.select_related("user"), pk=certification_id
    )
    selectors.staff_member_for_admin(admin=request.user, public_id=certification.user.public_id)
    if not certification.document:
        raise Http404("No copy on file.")
    try:
        handle = certification.document.open("rb")
    except FileNotFoundError as error:
        raise Http404("No copy on file.") from error
    content_type = mimetypes.guess_type(certification.document.name)[0] or "application/pdf"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def certifications_due(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    rows = selectors.certifications_due(admin=request.user, today=_today(request))
    return render(request, "staff/manage_expiring.html", {"rows": rows})
