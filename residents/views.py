"""The administrator's screens for residents through their stay, and the community's
settings. Nurses read the resident list, a stay and the face sheet; administrators make
the changes; med techs work from the med pass (403). Another community's residents and
settings answer 404.

Thin views: parse the form, call one service or selector, render. Every page works
without JavaScript; with htmx the resident list filters in place.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory import services as inventory_services
from mar.selectors import facility_pass_times
from mar.services import stays
from medtech.core import permissions
from medtech.core.audit import audit_read
from medtech.core.scope import scope
from residents import forms, selectors, services
from residents.models import Facility, Resident, Room
from residents.photos import PhotoRejected, photo_reencode


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _stay_url(resident: Resident) -> str:
    return reverse("residents:stay", args=[resident.public_id])


def record_url(resident: Resident) -> str:
    """The nurse's clinical record of the resident, or their stay page until it exists."""
    try:
        return reverse("nurse:resident_record", args=[resident.public_id])
    except NoReverseMatch:
        return _stay_url(resident)


def _is_admin(request: HttpRequest) -> bool:
    return permissions.can(request.user, permissions.Area.ADMIN_SCREENS)


FIELD_ALIASES = {"allergies": "has_no_known_allergies"}


def _add_error(form, error: services.ResidentError | inventory_services.StockInvalid) -> None:
    """Every problem the service found, each at its field (all at once, not one a submit)."""
    for name, message in getattr(error, "problems", None) or [(error.field, str(error))]:
        field = FIELD_ALIASES.get(name or "", name)
        form.add_error(field if field in form.fields else None, message)


# --- The list, admission -----------------------------------------------------------------


@login_required
@require_GET
def resident_list(request: HttpRequest) -> HttpResponse:
    selectors.require_resident_reader(request.user)
    units = selectors.units_for_user(user=request.user)
    form = forms.ResidentSearchForm(request.GET or None, units=units)
    filters = form.cleaned_data if form.is_valid() else {}
    unit = filters.get("unit")
    residents = selectors.residents_for_user(
        user=request.user,
        search=filters.get("q") or "",
        unit_id=unit.pk if unit else None,
        status=filters.get("status") or "in_house",
    )
    context = {
        "form": form,
        "rows": [(resident, record_url(resident)) for resident in residents],
        "is_admin": _is_admin(request),
        "facilities": selectors.facilities_for_user(user=request.user).order_by("name", "id"),
    }
    template = "residents/list.html"
    if request.htmx and request.htmx.target == "resident-table":
        template += "#resident-table"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def resident_admit(request: HttpRequest) -> HttpResponse:
    facility = selectors.facility_for_admin(
        user=request.user, public_id=_uuid(request.GET.get("facility"))
    )
    form = forms.AdmitForm(request.POST or None, request.FILES or None, facility=facility)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                photo = photo_reencode(upload=data["photo"]) if data.get("photo") else None
                resident = services.resident_admit(
                    facility=facility,
                    by=request.user,
                    now=timezone.now(),
                    room=data["room"],
                    photo=photo,
                    has_no_known_allergies=data["has_no_known_allergies"],
                    allergies=[
                        services.AllergyInput(
                            allergen=data[f"allergen_{i}"],
                            reaction=data[f"reaction_{i}"],
                            severity=data[f"severity_{i}"] or "unknown",
                        )
                        for i in range(forms.ALLERGY_ROWS)
                    ],
                    diagnoses=[
                        services.DiagnosisInput(
                            description=data[f"diagnosis_{i}"], icd10_code=data[f"icd10_{i}"]
                        )
                        for i in range(forms.DIAGNOSIS_ROWS)
                    ],
                    request=request,
                    **{name: data[name] for name in services.RESIDENT_FIELDS},
                )
            except PhotoRejected as error:
                form.add_error("photo", str(error))
            except services.ResidentError as error:
                if isinstance(error, services.ResidentNotPermitted):
                    raise PermissionDenied(str(error)) from error
                _add_error(form, error)
            else:
                messages.success(request, f"{resident.display_name} is admitted.")
                return redirect(_stay_url(resident))
        status = 400
    context = {"form": form, "facility": facility}
    return render(request, "residents/admit.html", context, status=status)


# --- One resident's stay -----------------------------------------------------------------


def _stay_context(request: HttpRequest, resident: Resident, **bound) -> dict:
    now = timezone.now()
    facility = resident.facility
    local_now = now.astimezone(facility.zone).replace(second=0, microsecond=0, tzinfo=None)
    context = {
        "stay": selectors.resident_stay(resident=resident, now=now),
        "resident": resident,
        "record_url": record_url(resident),
        "is_admin": _is_admin(request),
    }
    if context["is_admin"]:
        context |= {
            "move_form": forms.MoveForm(facility=facility, prefix="move"),
            "leave_form": forms.LeaveForm(initial={"started_at": local_now}, prefix="leave"),
            "return_form": forms.ReturnForm(initial={"returned_at": local_now}, prefix="return"),
            "discharge_form": forms.DischargeForm(
                initial={"on_date": local_now.date()}, prefix="discharge"
            ),
            "allergy_form": forms.AllergyForm(prefix="allergy"),
        } | bound
    return context


def _resident(request: HttpRequest, resident_id: uuid.UUID) -> Resident:
    selectors.require_resident_reader(request.user)
    return selectors.resident_for_reader(user=request.user, public_id=resident_id)


@login_required
@require_GET
def resident_stay(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    resident = _resident(request, resident_id)
    audit_read(
        actor=request.user,
        resident=resident,
        view="residents:stay",
        now=timezone.now(),
        request=request,
    )
    return render(request, "residents/stay.html", _stay_context(request, resident))


def _stay_change(request: HttpRequest, resident_id: uuid.UUID, *, form_name: str, form, act):
    """Run ``act(cleaned_data)`` for a valid ``form`` and go back to the stay page, or show
    the page again with the form's errors (nothing changed)."""
    resident = _resident(request, resident_id)
    selectors.require_administrator(request.user)
    if form.is_valid():
        try:
            message = act(resident, form.cleaned_data)
        except (services.ResidentNotPermitted, inventory_services.StockNotPermitted) as error:
            raise PermissionDenied(str(error)) from error
        except (services.ResidentError, inventory_services.StockInvalid) as error:
            _add_error(form, error)
        else:
            messages.success(request, message)
            return redirect(_stay_url(resident))
    context = _stay_context(request, resident, **{form_name: form}) | {"open_form": form_name}
    return render(request, "residents/stay.html", context, status=400)


def _aware(resident: Resident, value):
    return timezone.make_aware(value, resident.facility.zone) if timezone.is_naive(value) else value


@login_required
@require_POST
def resident_move(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    facility = _resident(request, resident_id).facility

    def act(resident: Resident, data: dict) -> str:
        services.resident_move(
            resident=resident,
            room=data["room"],
            reason=data["reason"],
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        return f"{resident.display_name} moved to room {data['room'].number}."

    form = forms.MoveForm(request.POST, facility=facility, prefix="move")
    return _stay_change(request, resident_id, form_name="move_form", form=form, act=act)


@login_required
@require_POST
def resident_leave(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    def act(resident: Resident, data: dict) -> str:
        services.resident_leave(
            resident=resident,
            kind=data["kind"],
            started_at=_aware(resident, data["started_at"]),
            expected_return_on=data["expected_return_on"],
            note=data["note"],
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        kind = Resident.AwayKind(data["kind"]).label.lower()
        return f"{resident.display_name} is away ({kind}); their doses show as away."

    form = forms.LeaveForm(request.POST, prefix="leave")
    return _stay_change(request, resident_id, form_name="leave_form", form=form, act=act)


@login_required
@require_POST
def resident_return(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    def act(resident: Resident, data: dict) -> str:
        services.resident_return(
            resident=resident,
            returned_at=_aware(resident, data["returned_at"]),
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        return f"{resident.display_name} is back; their doses are due as usual again."

    form = forms.ReturnForm(request.POST, prefix="return")
    return _stay_change(request, resident_id, form_name="return_form", form=form, act=act)


@login_required
@require_POST
def resident_discharge(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    def act(resident: Resident, data: dict) -> str:
        stays.resident_discharge(
            resident=resident,
            outcome=data["outcome"],
            on_date=data["on_date"],
            reason=data["reason"],
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        word = "discharged" if data["outcome"] == Resident.Status.DISCHARGED else "deceased"
        return f"{resident.display_name} is recorded as {word}; their orders have ended."

    form = forms.DischargeForm(request.POST, prefix="discharge")
    return _stay_change(request, resident_id, form_name="discharge_form", form=form, act=act)


@login_required
@require_POST
def resident_allergy_add(request: HttpRequest, resident_id: uuid.UUID) -> HttpResponse:
    def act(resident: Resident, data: dict) -> str:
        stays.resident_allergy_add(
            resident=resident,
            allergy=services.AllergyInput(
                allergen=data["allergen"], reaction=data["reaction"], severity=data["severity"]
            ),
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        if warning := selectors.allergy_conflict_warning(resident=resident):
            messages.warning(request, warning)
        return f"Allergy to {data['allergen']} recorded."

    form = forms.AllergyForm(request.POST, prefix="allergy")
    return _stay_change(request, resident_id, form_name="allergy_form", form=form, act=act)


@login_required
@require_GET
def resident_photo(request: HttpRequest, resident_id: uuid.UUID) -> FileResponse:
    """The photo, to anyone of the resident's community (med techs check it at the cart)."""
    resident = get_object_or_404(
        scope(Resident.objects.all(), user=request.user), public_id=resident_id
    )
    if not resident.photo:
        raise Http404("No photo.")
    try:
        handle = resident.photo.open("rb")
    except FileNotFoundError as error:
        raise Http404("No photo.") from error
    return FileResponse(handle, content_type="image/jpeg")


# --- The community's settings ------------------------------------------------------------


def _facility(request: HttpRequest, facility_id: uuid.UUID | None = None) -> Facility:
    return selectors.facility_for_admin(
        user=request.user, public_id=facility_id or _uuid(request.GET.get("facility"))
    )


def _settings_context(request: HttpRequest, facility: Facility, **bound) -> dict:
    setup = selectors.facility_setup(facility=facility)
    return {
        "setup": setup,
        "facility": facility,
        "facilities": selectors.facilities_for_user(user=request.user).order_by("name", "id"),
        "form": forms.FacilityForm(instance=facility, pass_times=setup.pass_times),
        "unit_form": forms.UnitForm(),
        "cart_form": forms.CartForm(facility=facility),
        "room_form": forms.RoomForm(facility=facility),
        "room_forms": [
            (
                room,
                forms.RoomForm(
                    facility=facility,
                    prefix=f"room-{room.pk}",
                    initial={"number": room.number, "unit": room.unit, "cart": room.cart},
                ),
            )
            for room in setup.rooms
        ],
    } | bound


def _settings_url(facility: Facility) -> str:
    return reverse("residents:facility_settings") + f"?facility={facility.public_id}"


@login_required
@require_http_methods(["GET", "POST"])
def facility_settings(request: HttpRequest) -> HttpResponse:
    facility = _facility(request)
    if request.method == "GET":
        return render(request, "facility/settings.html", _settings_context(request, facility))
    pass_times = facility_pass_times(facility=facility)
    form = forms.FacilityForm(request.POST, instance=facility, pass_times=pass_times)
    if form.is_valid():
        try:
            count = stays.facility_update(
                facility=facility,
                by=request.user,
                now=timezone.now(),
                pass_times=form.pass_times(),
                request=request,
                **form.settings(),
            )
        except (services.ResidentNotPermitted, inventory_services.StockNotPermitted) as error:
            raise PermissionDenied(str(error)) from error
        except (services.ResidentError, inventory_services.StockInvalid) as error:
            _add_error(form, error)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            note = f" Future doses of {count} orders were rescheduled." if count else ""
            messages.success(request, f"Settings saved.{note}")
            return redirect(_settings_url(facility))
    context = _settings_context(request, facility, form=form)
    return render(request, "facility/settings.html", context, status=400)


def _setup_change(request: HttpRequest, facility: Facility, form_name: str, form, act):
    if form.is_valid():
        try:
            message = act(form.cleaned_data)
        except (services.ResidentNotPermitted, inventory_services.StockNotPermitted) as error:
            raise PermissionDenied(str(error)) from error
        except (services.ResidentError, inventory_services.StockInvalid) as error:
            _add_error(form, error)
        else:
            messages.success(request, message)
            return redirect(_settings_url(facility) + "#setup")
    context = _settings_context(request, facility, **{form_name: form})
    return render(request, "facility/settings.html", context, status=400)


@login_required
@require_POST
def unit_add(request: HttpRequest, facility_id: uuid.UUID) -> HttpResponse:
    facility = _facility(request, facility_id)

    def act(data: dict) -> str:
        unit = services.unit_create(
            facility=facility,
            name=data["name"],
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        return f"Unit {unit.name} added."

    return _setup_change(request, facility, "unit_form", forms.UnitForm(request.POST), act)


@login_required
@require_POST
def cart_add(request: HttpRequest, facility_id: uuid.UUID) -> HttpResponse:
    facility = _facility(request, facility_id)

    def act(data: dict) -> str:
        cart = inventory_services.cart_create(
            facility=facility,
            name=data["name"],
            unit=data["unit"],
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        return f"{cart.name} added. Choose the rooms it serves below."

    form = forms.CartForm(request.POST, facility=facility)
    return _setup_change(request, facility, "cart_form", form, act)


@login_required
@require_POST
def room_save(request: HttpRequest, facility_id: uuid.UUID) -> HttpResponse:
    """Add a room (no ``room`` field) or change one (``room``: its id, fields prefixed)."""
    facility = _facility(request, facility_id)
    room = None
    if room_id := request.POST.get("room"):
        if not room_id.isdigit():
            raise Http404("No such room.")
        room = get_object_or_404(Room, pk=int(room_id), facility=facility)
    prefix = f"room-{room.pk}" if room else None
    form = forms.RoomForm(request.POST, facility=facility, prefix=prefix)

    def act(data: dict) -> str:
        saved = services.room_save(
            facility=facility,
            room=room,
            number=data["number"],
            unit=data["unit"],
            cart=data["cart"],
            by=request.user,
            now=timezone.now(),
            request=request,
        )
        cart = saved.cart.name if saved.cart else "no cart"
        return f"Room {saved.number} saved ({saved.unit.name}, {cart})."

    return _setup_change(request, facility, "room_form", form, act)
