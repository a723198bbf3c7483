from staff.models import FacilityMembership, User


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
