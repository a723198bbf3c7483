"""Facility scope: which records a user may reach, written once.

A user reaches the records of the facilities they are a member of
(``staff.FacilityMembership``), and only while their account is active: a deactivated
account reaches nothing, whatever memberships it still has. Every page, API view, offline
bundle, print, selector, service and the Django admin narrows its querysets with
``scope``; none joins ``memberships__user`` itself, so the rule cannot drift apart. The
answer to a record out of scope is 404 (another community's ids cannot even be probed).

The core imports no app: the membership and facility models are looked up by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from django.apps import apps
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import Model, QuerySet

M = TypeVar("M", bound="Model")


def memberships() -> QuerySet:
    """Every facility membership (``staff.FacilityMembership``)."""
    return apps.get_model("staff", "FacilityMembership").objects.all()


def scope(
    queryset: QuerySet[M],
    *,
    user: AbstractBaseUser | AnonymousUser,
    path: str | Iterable[str] = "facility",
) -> QuerySet[M]:
    """``queryset`` narrowed to the facilities ``user`` reaches. ``path`` leads from the
    model to its Facility (``"resident__facility"``, ``"cart__facility"``; ``"pk"`` for
    Facility itself); several paths are alternatives (a row reached by any of them)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    reached = memberships().filter(user=user).values("facility_id")
    if isinstance(path, str):
        return queryset.filter(**{f"{path}__in": reached})
    either = Q()
    for one in path:
        either |= Q(**{f"{one}__in": reached})
    return queryset.filter(either).distinct()


def facilities_of(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet:
    """The facilities ``user`` reaches (unordered: callers order)."""
    return scope(apps.get_model("residents", "Facility").objects.all(), user=user, path="pk")


def is_member(*, user: AbstractBaseUser | AnonymousUser, facility_id: int) -> bool:
    """Whether ``user`` reaches the facility ``facility_id``."""
    return facilities_of(user=user).filter(pk=facility_id).exists()


def facility_ids_of(*, user: AbstractBaseUser | AnonymousUser) -> list[int]:
    """The ids of the facilities ``user`` reaches, in one query (for filters that take
    ids, such as the exception lists' UNION parts and the audit search)."""
    return list(facilities_of(user=user).order_by("pk").values_list("pk", flat=True))
