import datetime as dt

from staff.models import Certification, FacilityMembership, User


def staff_by_facility(*, facility_ids: set[int], role: str) -> dict[int, list[int]]:
    """Active users' ids of one role for each facility."""
    by_facility: dict[int, list[int]] = {}
    for user_id, facility_id in (
        User.objects.filter(role=role, is_active=True, memberships__facility_id__in=facility_ids)
        .order_by("id")
        .values_list("id", "memberships__facility_id")
    ):
        by_facility.setdefault(facility_id, []).append(user_id)
    return by_facility


def nurses_by_facility(*, facility_ids: set[int]) -> dict[int, list[int]]:
    """Who gets the alerts about a facility's residents."""
    return staff_by_facility(facility_ids=facility_ids, role=User.Role.NURSE)


def facility_ids_by_user(*, user_ids: set[int]) -> dict[int, list[int]]:
    by_user: dict[int, list[int]] = {}
    for user_id, facility_id in (
        FacilityMembership.objects.filter(user_id__in=user_ids)
        .order_by("id")
        .values_list("user_id", "facility_id")
    ):
        by_user.setdefault(user_id, []).append(facility_id)
    return by_user


def user_charting_refusal(*, user: User, facility_id: int, today: dt.date) -> str | None:
    """Why this user may not chart a dose in this facility today, or None if they may.

    Only active med techs with a current medication-aide certification, or nurses with
    a current license, who belong to the facility, chart doses (DESIGN: certification is
    the condition for doing the job).
    """
    if not user.is_active:
        return "This account is deactivated."
    if not user.memberships.filter(facility_id=facility_id).exists():
        return "You are not a member of this resident's community."
    kind = {
        User.Role.MED_TECH: Certification.Kind.MEDICATION_AIDE,
        User.Role.NURSE: Certification.Kind.NURSE_LICENSE,
    }.get(user.role)
    if kind is None:
        return "Only med techs and nurses chart doses."
    current = user.certifications.filter(kind=kind, expires_on__gte=today).exists()
    if current:
        return None
    latest = user.certifications.filter(kind=kind).order_by("-expires_on", "-id").first()
    label = Certification.Kind(kind).label.lower()
    if latest is None:
        return f"You have no {label} on file, so you cannot chart. Ask your administrator."
    return (
        f"Your {label} expired on {latest.expires_on:%b %-d, %Y}, so you cannot chart "
        "until it is renewed. You can still read the record."
    )
