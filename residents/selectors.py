from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Q, QuerySet

from residents.models import Facility, Resident
from staff.models import User


def facilities_for_user(*, user: User) -> QuerySet[Facility]:
    """The facilities a user belongs to; everything they may see hangs off these."""
    return Facility.objects.filter(memberships__user=user)


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
