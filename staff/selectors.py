import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, QuerySet

from medtech.core import permissions
from medtech.core.scope import facilities_of
from residents.models import Facility
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


def nurses_of_facility(*, facility_id: int) -> QuerySet[User]:
    """The nurses of a community who can sign (an override, a second check), by name."""
    return User.objects.filter(
        role=User.Role.NURSE,
        is_active=True,
        is_shared_account=False,
        memberships__facility_id=facility_id,
    ).order_by("last_name", "first_name", "id")


def facility_ids_by_user(*, user_ids: set[int]) -> dict[int, list[int]]:
    by_user: dict[int, list[int]] = {}
    for user_id, facility_id in (
        FacilityMembership.objects.filter(user_id__in=user_ids)
        .order_by("id")
        .values_list("user_id", "facility_id")
    ):
        by_user.setdefault(user_id, []).append(facility_id)
    return by_user


def user_signing_refusal(*, user: User) -> str | None:
    """Why this account may not put a signature on anything (chart a dose, witness, sign a
    count), or None. The one place of the rule "no shared or generic accounts sign"."""
    if not user.is_active:
        return "This account is deactivated."
    if user.is_shared_account:
        return (
            f"{user.get_username()} is a shared account: it can read, but every dose, "
            "witness and count is signed by a person under their own name."
        )
    return None


def user_charting_refusal(*, user: User, facility_id: int, today: dt.date) -> str | None:
    """Why this user may not chart a dose in this facility today, or None if they may.

    Only active med techs with a current medication-aide certification, or nurses with
    a current license, who belong to the facility, chart doses (DESIGN: certification is
    the condition for doing the job). A certification is current only between its issue
    and expiry dates, both included: one issued in the future does not count yet.
    """
    if refusal := user_signing_refusal(user=user):
        return refusal
    kind = {
        User.Role.MED_TECH: Certification.Kind.MEDICATION_AIDE,
        User.Role.NURSE: Certification.Kind.NURSE_LICENSE,
    }.get(user.role)
    # One query on the way to yes (every chart asks): the membership, and with it whether
    # a current certification is on file. No row: not a member.
    current = Certification.objects.filter(
        user=user, kind=kind or "", issued_on__lte=today, expires_on__gte=today
    )
    member = list(
        FacilityMembership.objects.filter(user=user, facility_id=facility_id)
        .annotate(has_current=Exists(current))
        .values_list("has_current", flat=True)[:1]
    )
    if not member:
        return "You are not a member of this resident's community."
    if (refused := permissions.refusal(user, permissions.Area.CHART, "chart doses")) is not None:
        return refused
    if kind is None:
        return "Only med techs and nurses chart doses."
    if member[0]:
        return None
    return _no_current_certification(user=user, kind=kind, today=today)


# A certification as a sentence names it: "Your medication aide certificate expired".
CERTIFICATION_WORDS = {
    Certification.Kind.MEDICATION_AIDE: "medication aide certificate",
    Certification.Kind.NURSE_LICENSE: "nurse license",
    Certification.Kind.CPR: "CPR certificate",
    Certification.Kind.FIRST_AID: "first aid certificate",
}


def _no_current_certification(*, user: User, kind: str, today: dt.date) -> str:
    label = CERTIFICATION_WORDS.get(kind, str(kind).replace("_", " "))
    # One query: a person has a handful of certificates of one kind.
    certifications = list(user.certifications.filter(kind=kind).order_by("-expires_on", "-id"))
    started = next((c for c in certifications if c.issued_on <= today), None)
    upcoming = min(
        (c for c in certifications if c.issued_on > today),
        key=lambda c: (c.issued_on, c.pk),
        default=None,
    )
    if started is None and upcoming is None:
        return f"You have no {label} on file, so you cannot chart. Ask your administrator."
    if started is not None:
        refusal = f"Your {label} expired on {started.expires_on:%b %-d, %Y}"
    else:
        refusal = f"You have no current {label}"
    if upcoming is not None:
        return (
            f"{refusal}, and the one on file is valid only from {upcoming.issued_on:%b %-d, %Y}, "
            "so you cannot chart until then. You can still read the record."
        )
    return f"{refusal}, so you cannot chart until it is renewed. You can still read the record."


def certification_date_warning(*, issued_on: dt.date, expires_on: dt.date, today: dt.date) -> str:
    """What to tell the person recording a certification whose dates do not make it
    current today ("" when they do): it is kept, but it does not let anyone chart."""
    if expires_on < today:
        return (
            f"This certification already expired on {expires_on:%b %-d, %Y}: it is kept as "
            "history but does not count. Record the renewed one to let this person chart."
        )
    if issued_on > today:
        return (
            f"This certification is issued on {issued_on:%b %-d, %Y}, a date still to come: "
            "it counts only from that day."
        )
    return ""


@dataclass(frozen=True)
class TabletPerson:
    """Someone the lock screen offers to switch to: what the big button shows."""

    public_id: uuid.UUID
    name: str
    initials: str
    has_pin: bool  # a PIN that opens: set, and not one to set again
    needs_new_pin: bool  # a PIN from before 6-digit PINs: its owner must set it again


def tablet_people(
    *, public_ids: Iterable[uuid.UUID], current_user: User | None = None
) -> list[TabletPerson]:
    """Active users with these public ids (and the signed-in user), by first name."""
    ids = set(public_ids)
    if current_user is not None and current_user.is_authenticated:
        ids.add(current_user.public_id)
    users = (
        User.objects.filter(public_id__in=ids, is_active=True)
        .only(
            "public_id",
            "username",
            "first_name",
            "last_name",
            "initials",
            "pin_hash",
            "pin_offline_memory_kib",
        )
        .order_by("first_name", "last_name", "id")
    )
    return [tablet_person_for_user(user=user) for user in users]


def tablet_user_by_public_id(*, public_id: uuid.UUID, allowed: Iterable[uuid.UUID]) -> User | None:
    """The active user with ``public_id`` if it is one of ``allowed``, else None."""
    if public_id not in set(allowed):
        return None
    return User.objects.filter(public_id=public_id, is_active=True).first()


def auto_lock_minutes_for_user(*, user: User) -> int:
    """The tablet's inactivity lock of the user's first facility (by name), or the default."""
    minutes = (
        facilities_of(user=user)
        .order_by("name", "id")
        .values_list("auto_lock_minutes", flat=True)
        .first()
    )
    return minutes or Facility._meta.get_field("auto_lock_minutes").default


def tablet_person_for_user(*, user: User) -> TabletPerson:
    """The lock screen's button for a user already loaded (no query)."""
    return TabletPerson(
        public_id=user.public_id,
        name=user.get_full_name() or user.username,
        initials=user.initials,
        has_pin=bool(user.pin_hash) and not user.pin_needs_renewal,
        needs_new_pin=user.pin_needs_renewal,
    )
