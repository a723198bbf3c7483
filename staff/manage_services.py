"""Writes about people: an administrator creates a user with a role and communities,
records their certifications, and deactivates them at once.

Kept apart from ``staff.services`` (the tablet's PIN and lock) so the two can change
independently; the same rules apply: keyword-only arguments, ``now`` from the edge, one
transaction per change, every change audited (``medtech.core.audit``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest

from medtech.core import permissions
from medtech.core.audit import audit_write, snapshot
from medtech.core.errors import DomainError, Invalid, NotPermitted
from medtech.core.scope import facility_ids_of
from residents.models import Facility
from staff.models import Certification, FacilityMembership, User, is_generic_username
from staff.tokens import api_tokens_revoke_all

INITIALS = re.compile(r"[A-Z]{1,3}[0-9]?")
USERNAME = re.compile(r"[A-Za-z0-9.@+_-]{3,150}")
STATE = re.compile(r"[A-Z]{2}")
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
# What an uploaded copy of a certificate may be, told by its first bytes, not its name.
DOCUMENT_SIGNATURES = {
    b"%PDF-": ("pdf", "application/pdf"),
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
    b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
}
USER_AUDIT_FIELDS = ("username", "first_name", "last_name", "email", "role", "initials", "title")


class StaffError(DomainError):
    """A change about a person that cannot be made; the message says what to do.
    ``field`` names the form field at fault, when there is one."""


class StaffNotPermitted(NotPermitted, StaffError):
    pass


class StaffInvalid(Invalid, StaffError):
    pass


def _require_admin(user: User, facility_ids: list[int]) -> None:
    permissions.require(
        user, permissions.Area.ADMIN_SCREENS, "manage staff", error=StaffNotPermitted
    )
    mine = set(facility_ids_of(user=user))
    if not facility_ids or not set(facility_ids) <= mine:
        raise StaffNotPermitted("You can only add people to your own communities.")


def _shared_facility_ids(admin: User, user: User) -> list[int]:
    theirs = set(user.memberships.values_list("facility_id", flat=True))
    return sorted(theirs & set(facility_ids_of(user=admin)))


def initials_taken(*, initials: str, facilities: list[Facility], exclude: User | None = None):
    """The first user of these facilities with these initials, or None. Deactivated
    people count too: their initials stay on the MARs they signed."""
    taken = FacilityMembership.objects.filter(
        facility__in=facilities, user__initials=initials
    ).select_related("user", "facility")
    if exclude is not None:
        taken = taken.exclude(user=exclude)
    return taken.order_by("facility__name", "id").first()


@transaction.atomic
def user_create(
    *,
    by: User,
    username: str,
    first_name: str,
    last_name: str,
    role: str,
    initials: str,
    facilities: list[Facility],
    password: str,
    now: dt.datetime,
    email: str = "",
    title: str = "",
    request: HttpRequest | None = None,
) -> User:
    """Create a person who can sign in, with a role, their initials (unique among the
    staff of each of their communities, as the MAR's signature legend needs), a
    title and their communities."""
    _require_admin(by, [facility.pk for facility in facilities])
    username = username.strip()
    initials = initials.strip().upper()
    if not USERNAME.fullmatch(username):
        raise StaffInvalid(
            "A username is 3 or more letters, digits or . @ + - _ (no spaces).", field="username"
        )
    if is_generic_username(username):
        raise StaffInvalid(
            f"{username} is a shared or generic name; every person signs as themselves. "
            "Use the person's own name (e.g. maria.santos).",
            field="username",
        )
    if role not in User.Role.values:
        raise StaffInvalid("Choose a role from the list.", field="role")
    if not first_name.strip() or not last_name.strip():
        raise StaffInvalid("First and last name are required.", field="first_name")
    if not INITIALS.fullmatch(initials):
        raise StaffInvalid(
            "Initials are 1 to 3 capital letters and an optional digit, e.g. MS or MS2.",
            field="initials",
        )
    # Serialize creations per facility so two admins cannot give out the same initials.
    list(Facility.objects.select_for_update().filter(pk__in=[f.pk for f in facilities]))
    if User.objects.filter(username__iexact=username).exists():
        raise StaffInvalid(f"The username {username} is taken. Choose another.", field="username")
    if clash := initials_taken(initials=initials, facilities=facilities):
        raise StaffInvalid(
            f"{initials} are already {clash.user.get_full_name() or clash.user.username}'s "
            f"initials at {clash.facility.name}. Add a letter or a digit (e.g. {initials}2).",
            field="initials",
        )
    user = User(
        username=username,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        role=role,
        initials=initials,
        title=title.strip(),
    )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise StaffInvalid(" ".join(error.messages), field="password") from error
    user.set_password(password)
    user.save()
    FacilityMembership.objects.bulk_create(
        FacilityMembership(user=user, facility=facility) for facility in facilities
    )
    for facility in facilities:
        audit_write(
            actor=by,
            action="user.create",
            target=user,
            facility=facility,
            after=snapshot(user, fields=USER_AUDIT_FIELDS),
            request=request,
            now=now,
        )
    return user


def _document_kind(upload: UploadedFile) -> tuple[str, str]:
    if upload.size is not None and upload.size > DOCUMENT_MAX_BYTES:
        raise StaffInvalid("The copy is larger than 5 MB. Scan it smaller.", field="document")
    head = upload.read(8)
    upload.seek(0)
    for signature, kind in DOCUMENT_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    raise StaffInvalid("The copy must be a PDF, JPEG or PNG file.", field="document")


@transaction.atomic
def certification_add(
    *,
    by: User,
    user: User,
    kind: str,
    number: str,
    state: str,
    issued_on: dt.date,
    expires_on: dt.date,
    now: dt.datetime,
    document: UploadedFile | None = None,
    request: HttpRequest | None = None,
) -> Certification:
    """Record a certification (medication aide, nurse license, CPR, first aid) with an
    optional copy. A renewal is a new row: the old one stays as history."""
    shared = _shared_facility_ids(by, user)
    _require_admin(by, shared)
    state = state.strip().upper()
    if kind not in Certification.Kind.values:
        raise StaffInvalid("Choose the kind of certification.", field="kind")
    if not number.strip():
        raise StaffInvalid("Type the certificate or license number.", field="number")
    if not STATE.fullmatch(state):
        raise StaffInvalid("The issuing state is two letters, e.g. IL.", field="state")
    if expires_on <= issued_on:
        raise StaffInvalid("The expiry date must be after the issue date.", field="expires_on")
    certification = Certification(
        user=user,
        kind=kind,
        number=number.strip()[:60],
        state=state,
        issued_on=issued_on,
        expires_on=expires_on,
    )
    if document is not None:
        extension, _ = _document_kind(document)
        certification.document.save(f"{uuid.uuid4().hex}.{extension}", document, save=False)
    certification.save()
    for facility_id in shared:
        audit_write(
            actor=by,
            action="certification.add",
            target=certification,
            facility=facility_id,
            after=snapshot(
                certification, fields=["kind", "number", "state", "issued_on", "expires_on"]
            )
            | {"user": user.username, "document": certification.document.name},
            request=request,
            now=now,
        )
    return certification


def _delete_sessions(user: User, *, now: dt.datetime) -> int:
    """Delete every live session signed in as ``user`` from the session store."""
    doomed = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=now).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)


@transaction.atomic
def user_deactivate(
    *,
    by: User,
    user: User,
    reason: str,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> dict[str, int]:
    """Stop a person at once: they can no longer sign in, their sessions and API tokens
    end, and they come off any cart they were on duty for. Nothing they charted changes."""
    shared = _shared_facility_ids(by, user)
    _require_admin(by, shared)
    if user.pk == by.pk:
        raise StaffInvalid("You cannot deactivate yourself. Ask another administrator.")
    if not reason.strip():
        raise StaffInvalid("Say why, for the audit trail.", field="reason")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise StaffInvalid(f"{user.get_full_name() or user.username} is already deactivated.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = {
        "sessions": _delete_sessions(user, now=now),
        "tokens": api_tokens_revoke_all(user=user, now=now, request=request, reason="deactivated"),
        "cart_assignments": user.cart_assignments.filter(ended_at__isnull=True).update(
            ended_at=now
        ),
    }
    for facility_id in shared:
        audit_write(
            actor=by,
            action="user.deactivate",
            target=user,
            facility=facility_id,
            before={"is_active": True},
            after={"is_active": False} | ended,
            reason=reason.strip(),
            request=request,
            now=now,
        )
    return ended
