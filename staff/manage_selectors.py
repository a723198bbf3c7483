"""Reads for the administrator's staff screens: the people of one's communities, one
person with their certifications, and everyone whose certification is running out."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from medtech.core import permissions
from medtech.core.scope import scope
from staff.models import Certification, FacilityMembership, User
from staff.selectors import user_charting_refusal

DUE_WITHIN = dt.timedelta(days=30)
# The certification a role charts on; the others (CPR, first aid) are listed but do not
# stop anyone from charting.
CHARTING_KIND = {
    User.Role.MED_TECH: Certification.Kind.MEDICATION_AIDE,
    User.Role.NURSE: Certification.Kind.NURSE_LICENSE,
}


def _people(admin: User) -> QuerySet[User]:
    permissions.require(admin, permissions.Area.ADMIN_SCREENS, "manage staff")
    members = scope(FacilityMembership.objects, user=admin).values("user_id")
    return User.objects.filter(pk__in=members)


def staff_for_admin(*, admin: User, include_inactive: bool = False) -> list[User]:
    """Everyone in the administrator's communities with their communities and
    certifications (three queries whatever their number)."""
    people = _people(admin)
    if not include_inactive:
        people = people.filter(is_active=True)
    return list(
        people.prefetch_related(
            Prefetch(
                "memberships",
                queryset=FacilityMembership.objects.select_related("facility").order_by(
                    "facility__name", "id"
                ),
            ),
            Prefetch(
                "certifications", queryset=Certification.objects.order_by("kind", "-expires_on")
            ),
        ).order_by("last_name", "first_name", "id")
    )


def staff_member_for_admin(*, admin: User, public_id: uuid.UUID) -> User:
    """One person sharing a community with the administrator; anyone else is 404."""
    return get_object_or_404(_people(admin), public_id=public_id)


def certifications_of(*, user: User) -> list[Certification]:
    return list(user.certifications.order_by("kind", "-expires_on", "-id"))


@dataclass(frozen=True)
class CertificationDue:
    user: User
    certification: Certification
    days_left: int  # negative: expired that many days ago
    charting_refusal: str | None  # why they cannot chart today, if they cannot

    @property
    def is_expired(self) -> bool:
        return self.days_left < 0


def certifications_due(*, admin: User, today: dt.date) -> list[CertificationDue]:
    """Each active person's latest certification of each kind that has expired or expires
    within 30 days, soonest first, with whether it stops them charting now."""
    people = staff_for_admin(admin=admin)
    rows = []
    for person in people:
        latest: dict[str, Certification] = {}
        for certification in person.certifications.all():  # newest expiry first per kind
            latest.setdefault(certification.kind, certification)
        for certification in latest.values():
            if certification.expires_on > today + DUE_WITHIN:
                continue
            refusal = None
            memberships = person.memberships.all()
            expired = certification.expires_on < today
            if expired and memberships and CHARTING_KIND.get(person.role) == certification.kind:
                # Only for the few whose charting certificate has lapsed: the rule itself
                # stays in one place.
                refusal = user_charting_refusal(
                    user=person, facility_id=memberships[0].facility_id, today=today
                )
            rows.append(
                CertificationDue(
                    user=person,
                    certification=certification,
                    days_left=(certification.expires_on - today).days,
                    charting_refusal=refusal,
                )
            )
    return sorted(rows, key=lambda row: (row.days_left, row.user.last_name, row.user.pk))
