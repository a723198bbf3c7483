import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from mar.models import Order, ScheduledDose
from mar.selectors import DoseState, dose_state, facility_pass_times, resident_was_away
from medtech.core import permissions
from medtech.core.scope import facilities_of, scope
from residents.models import (
    Allergy,
    Diagnosis,
    Facility,
    Resident,
    ResidentAbsence,
    Room,
    Unit,
)
from staff.models import User

MONTH = dt.timedelta(days=31)


def facilities_for_user(*, user: User) -> QuerySet[Facility]:
    """The facilities a user belongs to; everything they may see hangs off these."""
    return facilities_of(user=user)


def facility_overviews_for_user(*, user: User) -> list[Facility]:
    """The user's facilities with resident counts and cart names, in one query."""
    return list(
        facilities_for_user(user=user)
        .annotate(
            active_residents=Count(
                "residents",
                filter=Q(residents__status=Resident.Status.ACTIVE),
                distinct=True,
            ),
            away_residents=Count(
                "residents", filter=Q(residents__status=Resident.Status.AWAY), distinct=True
            ),
            cart_names=ArrayAgg(
                "carts__name",
                filter=Q(carts__is_active=True),
                distinct=True,
                order_by="carts__name",
                default=[],
            ),
        )
        .order_by("name", "id")
    )


# --- Residents through their stay (the administrator's and nurse's screens) -----------------

RESIDENT_READERS = permissions.roles_for(permissions.Area.RESIDENTS_READ)
STATUS_FILTERS = {
    "in_house": (Resident.Status.ACTIVE, Resident.Status.AWAY),
    "active": (Resident.Status.ACTIVE,),
    "away": (Resident.Status.AWAY,),
    "discharged": (Resident.Status.DISCHARGED,),
    "deceased": (Resident.Status.DECEASED,),
    "all": tuple(Resident.Status.values),
}


def require_resident_reader(user: User) -> None:
    """Nurses and administrators read the resident list and a stay; med techs work from
    the med pass (403)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        raise PermissionDenied("Sign in first.")
    permissions.require(
        user,
        permissions.Area.RESIDENTS_READ,
        message="Only nurses and administrators can open the resident list.",
    )


def require_administrator(user: User) -> None:
    permissions.require(user, permissions.Area.ADMIN_SCREENS, "manage residents and settings")


def residents_for_user(
    *,
    user: User,
    search: str = "",
    unit_id: int | None = None,
    status: str = "in_house",
    facility_ids: list[int] | None = None,
) -> list[Resident]:
    """Residents of the user's communities by name, narrowed by a search (name or room),
    a unit and a status. One query whatever their number."""
    residents = (
        scope(Resident.objects.all(), user=user)
        .filter(status__in=STATUS_FILTERS.get(status, STATUS_FILTERS["in_house"]))
        .select_related("room__unit", "facility")
        .order_by("last_name", "first_name", "id")
    )
    if facility_ids is not None:
        residents = residents.filter(facility_id__in=facility_ids)
    if unit_id is not None:
        residents = residents.filter(room__unit_id=unit_id)
    if search := search.strip():
        residents = residents.filter(
            Q(last_name__icontains=search)
            | Q(first_name__icontains=search)
            | Q(preferred_name__icontains=search)
            | Q(room__number__istartswith=search)
        )
    return list(residents[:500])


def resident_for_reader(*, user: User, public_id: uuid.UUID) -> Resident:
    """A resident of one of the user's communities; anyone else's answers 404."""
    return get_object_or_404(
        scope(Resident.objects.all(), user=user).select_related(
            "facility", "room__unit", "room__cart"
        ),
        public_id=public_id,
    )


def units_for_user(*, user: User) -> list[Unit]:
    return list(
        scope(Unit.objects.all(), user=user)
        .select_related("facility")
        .order_by("facility__name", "name", "id")
    )


def rooms_for_facility(*, facility: Facility) -> list[Room]:
    return list(
        Room.objects.filter(facility=facility)
        .select_related("unit", "cart")
        .order_by("unit__name", "number", "id")
    )


@dataclass
class StayDose:
    dose: ScheduledDose
    state: DoseState


@dataclass
class ResidentStay:
    resident: Resident
    allergies: list[Allergy]
    diagnoses: list[Diagnosis]
    absences: list[ResidentAbsence]
    open_absence: ResidentAbsence | None
    orders: list[Order]
    recent_doses: list[StayDose]
    upcoming_doses: list[StayDose]


def resident_stay(*, resident: Resident, now: dt.datetime) -> ResidentStay:
    """A resident's stay at a glance: allergies, diagnoses, absences, orders, and their
    doses of the last two days and the next day with the state each is in."""
    facility = resident.facility
    late_limit = dt.timedelta(minutes=facility.late_limit_minutes)
    absences = list(
        ResidentAbsence.objects.filter(resident=resident)
        .select_related("recorded_by")
        .order_by("-started_at", "-id")[:20]
    )
    doses = list(
        ScheduledDose.objects.filter(
            resident=resident,
            scheduled_at__gte=now - dt.timedelta(days=2),
            scheduled_at__lt=now + dt.timedelta(days=1),
        )
        .select_related("order__medication")
        .annotate(is_away=resident_was_away())
        .order_by("scheduled_at", "id")
    )
    recent, upcoming = [], []
    for dose in doses:
        state = dose_state(
            status=dose.status,
            window_start=dose.window_start,
            window_end=dose.window_end,
            late_limit=late_limit,
            now=now,
            is_away=dose.is_away,
        )
        (upcoming if state == DoseState.UPCOMING else recent).append(StayDose(dose, state))
    return ResidentStay(
        resident=resident,
        allergies=list(resident.allergies.order_by("allergen", "id")),
        diagnoses=list(resident.diagnoses.order_by("description", "id")),
        absences=absences,
        open_absence=next((a for a in absences if a.ended_at is None), None),
        orders=list(
            Order.objects.filter(resident=resident)
            .exclude(status=Order.Status.DISCONTINUED, status_changed_at__lt=now - MONTH)
            .select_related("medication")
            .order_by("medication__generic_name", "id")
        ),
        recent_doses=list(reversed(recent))[:30],
        upcoming_doses=upcoming[:30],
    )


# --- The community's settings ----------------------------------------------------------------


def facility_for_admin(*, user: User, public_id: uuid.UUID | None) -> Facility:
    """One of the administrator's communities (the first by name when none is named)."""
    require_administrator(user)
    facilities = facilities_of(user=user).order_by("name", "id")
    if public_id is None:
        facility = facilities.first()
        if facility is None:
            raise Http404("You are not a member of any community.")
        return facility
    return get_object_or_404(facilities, public_id=public_id)


@dataclass
class FacilitySetup:
    facility: Facility
    pass_times: dict[str, dt.time]
    units: list[Unit]
    carts: list
    rooms: list[Room]


def facility_setup(*, facility: Facility) -> FacilitySetup:
    return FacilitySetup(
        facility=facility,
        pass_times=facility_pass_times(facility=facility),
        units=list(facility.units.order_by("name", "id")),
        carts=list(
            facility.carts.select_related("unit")
            .annotate(room_count=Count("rooms"))
            .order_by("name", "id")
        ),
        rooms=rooms_for_facility(facility=facility),
    )


def allergy_conflict_warning(*, resident: Resident) -> str:
    """What to tell whoever recorded an allergy when orders of the resident now wait for
    a nurse's review because an allergy recorded after them matches ("" when none do)."""
    orders = list(
        Order.objects.filter(resident=resident, allergy_conflict_at__isnull=False)
        .exclude(status=Order.Status.DISCONTINUED)
        .select_related("medication")
        .order_by("id")
    )
    if not orders:
        return ""
    names = "; ".join(str(order.medication) for order in orders)
    return (
        f"This allergy matches {len(orders)} of {resident.display_name}'s orders ({names}). "
        "No dose of them is given until a nurse reviews each order; the nurses were notified."
    )
