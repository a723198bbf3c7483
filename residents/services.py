"""Writes about residents through their stay, and about a community's settings.

Admission, a move to another room, a hospital stay or leave of absence and the return
from it, discharge or death; the facility's settings and pass times, its units, carts
and rooms. Only administrators of the resident's (or facility's) community make these
changes; every one is audited (``medtech.core.audit``) in its own transaction.

An absence does not touch doses: doses scheduled while a resident is away are closed
as "away", not "missed", by ``mar.services.doses.doses_close_missed`` (it looks the
absence up), and the doses after the return are charted as usual. What a discharge, an
allergy or new pass times do to orders and doses is the record's (``mar.services.stays``
calls these and then does it), so this app does not import the MAR.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.http import HttpRequest

from medtech.core import permissions
from medtech.core.audit import audit_write, changed, snapshot
from medtech.core.errors import Conflict, DomainError, Invalid, NotPermitted
from medtech.core.scope import is_member
from residents.models import (
    Allergy,
    Diagnosis,
    Facility,
    MedPassTime,
    Resident,
    ResidentAbsence,
    Room,
    Unit,
)
from staff.models import User


class ResidentError(DomainError):
    """A change that cannot be made; the message says why and what to do instead.
    ``field`` names the form field at fault, when there is one."""


class ResidentNotPermitted(NotPermitted, ResidentError):
    pass


class ResidentInvalid(Invalid, ResidentError):
    """``problems``: every (field, message) found at once, so a form shows them together
    rather than one per submit; the message is the first of them."""

    def __init__(self, message: str = "", *, field: str | None = None, problems=None) -> None:
        super().__init__(message, field=field)
        self.problems: list[tuple[str | None, str]] = list(problems or [(field, message)])


EARLIEST_BIRTH = dt.date(1900, 1, 1)
# A resident who still holds a room: away in hospital or on leave keeps it.
OCCUPYING = (Resident.Status.ACTIVE, Resident.Status.AWAY)
_PHONE = re.compile(r"^[0-9+()./\- ]+(\s*(x|ext\.?)\s*\d+)?$", re.IGNORECASE)


def resident_facts_problems(fields: dict[str, Any], *, today: dt.date) -> list[tuple[str, str]]:
    """What is wrong or implausible in a resident's facts, all of it, with the true reason
    for each: a birth date in the future or before 1900, an admission before the birth or
    in the future, a phone number that is not one."""
    problems = []
    born, admitted = fields.get("date_of_birth"), fields.get("admitted_on")
    if born is not None and born > today:
        problems.append(("date_of_birth", "The date of birth is in the future."))
    elif born is not None and born < EARLIEST_BIRTH:
        problems.append(
            (
                "date_of_birth",
                f"The date of birth is before 1900 ({born:%b %-d, %Y}): check the year.",
            )
        )
    if admitted is not None and admitted > today:
        problems.append(("admitted_on", "The admission date is in the future."))
    elif admitted is not None and born is not None and born <= today and admitted < born:
        problems.append(("admitted_on", "The admission date is before the date of birth."))
    for name, label in (("physician_phone", "physician's"), ("pharmacy_phone", "pharmacy's")):
        phone = str(fields.get(name) or "").strip()
        digits = sum(c.isdigit() for c in phone)
        if phone and (not _PHONE.match(phone) or not 7 <= digits <= 15):
            problems.append(
                (name, f"The {label} phone number is not a phone number, e.g. (217) 555-0142.")
            )
    return problems


class ResidentWrongState(Conflict, ResidentError):
    pass


RESIDENT_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "admitted_on",
    "physician",
    "physician_phone",
    "pharmacy",
    "pharmacy_phone",
    "code_status",
)
FACILITY_FIELDS = (
    "name",
    "address",
    "license_number",
    "time_zone",
    "window_time_critical_minutes",
    "window_more_than_daily_minutes",
    "window_daily_minutes",
    "late_limit_minutes",
    "reminder_lead_minutes",
    "requires_second_check",
    "requires_scan",
    "auto_lock_minutes",
    "prn_followup_minutes",
    "reorder_threshold_days",
    "expiry_warning_days",
)
IN_HOUSE = (Resident.Status.ACTIVE, Resident.Status.AWAY)


@dataclass(frozen=True)
class AllergyInput:
    allergen: str
    reaction: str = ""
    severity: str = Allergy.Severity.UNKNOWN


@dataclass(frozen=True)
class DiagnosisInput:
    description: str
    icd10_code: str = ""


def _require_admin(user: User, facility_id: int) -> None:
    permissions.require(
        user,
        permissions.Area.ADMIN_SCREENS,
        "manage residents and the community's settings",
        error=ResidentNotPermitted,
    )
    if not is_member(user=user, facility_id=facility_id):
        raise ResidentNotPermitted("You are not a member of this community.")


def _locked_resident(resident: Resident) -> Resident:
    return (
        Resident.objects.select_for_update(of=("self",))
        .select_related("facility", "room")
        .get(pk=resident.pk)
    )


def _clean_allergies(allergies: list[AllergyInput]) -> list[AllergyInput]:
    cleaned: dict[str, AllergyInput] = {}
    for allergy in allergies:
        allergen = allergy.allergen.strip()
        if not allergen:
            continue
        if allergen.casefold() in cleaned:
            raise ResidentInvalid(f"{allergen} is listed twice.", field="allergies")
        if allergy.severity not in Allergy.Severity.values:
            raise ResidentInvalid("Choose a severity from the list.", field="allergies")
        cleaned[allergen.casefold()] = AllergyInput(
            allergen=allergen[:120],
            reaction=allergy.reaction.strip()[:200],
            severity=allergy.severity,
        )
    return list(cleaned.values())


def _room_of(facility: Facility, room: Room | None) -> Room | None:
    if room is not None and room.facility_id != facility.pk:
        raise ResidentInvalid("Choose a room of this community.", field="room")
    return room


@transaction.atomic
def resident_admit(
    *,
    facility: Facility,
    by: User,
    now: dt.datetime,
    room: Room | None,
    allergies: list[AllergyInput],
    has_no_known_allergies: bool,
    diagnoses: list[DiagnosisInput],
    photo: ContentFile | None = None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Resident:
    """Admit a resident: demographics, room, physician, pharmacy, code status, allergies
    (or a confirmed "no known allergies"), diagnoses and a photo, all or nothing."""
    _require_admin(by, facility.pk)
    unknown = set(fields) - set(RESIDENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown resident fields: {', '.join(sorted(unknown))}")
    allergies = _clean_allergies(allergies)
    if allergies and has_no_known_allergies:
        raise ResidentInvalid(
            "Either list the allergies or tick 'No known allergies', not both.", field="allergies"
        )
    if not allergies and not has_no_known_allergies:
        raise ResidentInvalid(
            "List the resident's allergies, or tick 'No known allergies' once confirmed.",
            field="allergies",
        )
    problems = [
        (name, "First and last name are required.")
        for name in ("first_name", "last_name")
        if not str(fields.get(name) or "").strip()
    ]
    problems += resident_facts_problems(fields, today=now.astimezone(facility.zone).date())
    if room is not None and (
        occupant := Resident.objects.filter(room=room, status__in=OCCUPYING)
        .order_by("last_name", "id")
        .first()
    ):
        problems.append(
            ("room", f"Room {room.number} is taken by {occupant.display_name}: choose another.")
        )
    if problems:
        raise ResidentInvalid(problems[0][1], field=problems[0][0], problems=problems)
    resident = Resident(
        facility=facility,
        room=_room_of(facility, room),
        has_no_known_allergies=has_no_known_allergies and not allergies,
        status=Resident.Status.ACTIVE,
        **{
            name: value.strip() if isinstance(value, str) else value
            for name, value in fields.items()
        },
    )
    if photo is not None:
        resident.photo.save(photo.name, photo, save=False)
    resident.save()
    Allergy.objects.bulk_create(
        Allergy(resident=resident, allergen=a.allergen, reaction=a.reaction, severity=a.severity)
        for a in allergies
    )
    Diagnosis.objects.bulk_create(
        Diagnosis(
            resident=resident,
            description=d.description.strip()[:200],
            icd10_code=d.icd10_code.strip().upper()[:10],
        )
        for d in diagnoses
        if d.description.strip()
    )
    audit_write(
        actor=by,
        action="resident.admit",
        target=resident,
        after=snapshot(resident)
        | {
            "allergies": [a.allergen for a in allergies],
            "diagnoses": [d.description.strip() for d in diagnoses if d.description.strip()],
        },
        request=request,
        now=now,
    )
    return resident


@transaction.atomic
def resident_allergy_add(
    *,
    resident: Resident,
    by: User,
    allergy: AllergyInput,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> Allergy:
    """Record an allergy; a confirmed "no known allergies" is cleared with it. What it
    does to the resident's orders is the record's: ``mar.services.stays`` calls this
    and then flags them, in one transaction."""
    _require_admin(by, resident.facility_id)
    resident = _locked_resident(resident)
    cleaned = _clean_allergies([allergy])
    if not cleaned:
        raise ResidentInvalid("Name the allergen.", field="allergen")
    allergy = cleaned[0]
    if resident.allergies.filter(allergen__iexact=allergy.allergen).exists():
        raise ResidentInvalid(f"{allergy.allergen} is already listed.", field="allergen")
    row = Allergy.objects.create(
        resident=resident,
        allergen=allergy.allergen,
        reaction=allergy.reaction,
        severity=allergy.severity,
    )
    if resident.has_no_known_allergies:
        resident.has_no_known_allergies = False
        resident.save(update_fields=["has_no_known_allergies"])
    audit_write(
        actor=by,
        action="resident.allergy_add",
        target=row,
        resident=resident,
        facility=resident.facility_id,
        after=snapshot(row, fields=["allergen", "reaction", "severity"]),
        request=request,
        now=now,
    )
    return row


@transaction.atomic
def resident_move(
    *,
    resident: Resident,
    room: Room,
    by: User,
    now: dt.datetime,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Resident:
    """Move a resident to another room (of the same or another unit). The cart that
    serves the new room takes over their doses at once."""
    _require_admin(by, resident.facility_id)
    resident = _locked_resident(resident)
    if resident.status not in IN_HOUSE:
        raise ResidentWrongState(f"{resident.display_name} is {resident.get_status_display()}.")
    _room_of(resident.facility, room)
    if room.pk == resident.room_id:
        raise ResidentInvalid(f"{resident.display_name} is already in room {room}.", field="room")
    before = {"room": resident.room.number if resident.room else None}
    resident.room = room
    resident.save(update_fields=["room"])
    audit_write(
        actor=by,
        action="resident.move",
        target=resident,
        before=before,
        after={"room": room.number, "unit": room.unit.name},
        reason=reason.strip(),
        request=request,
        now=now,
    )
    return resident


@transaction.atomic
def resident_leave(
    *,
    resident: Resident,
    kind: str,
    started_at: dt.datetime,
    by: User,
    now: dt.datetime,
    expected_return_on: dt.date | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> ResidentAbsence:
    """Start a hospital stay or leave of absence. Doses from ``started_at`` until the
    return are closed as "away" (not missed) by the dose service."""
    _require_admin(by, resident.facility_id)
    resident = _locked_resident(resident)
    if kind not in Resident.AwayKind.values:
        raise ResidentInvalid("Choose hospital or leave of absence.", field="kind")
    if resident.status != Resident.Status.ACTIVE:
        raise ResidentWrongState(
            f"{resident.display_name} is {resident.get_status_display().lower()}, "
            "not in the building."
        )
    if started_at > now:
        raise ResidentInvalid("The time they left is in the future.", field="started_at")
    if started_at < now - dt.timedelta(days=3):
        raise ResidentInvalid(
            "The time they left is more than 3 days ago; ask a nurse to review those doses.",
            field="started_at",
        )
    today = now.astimezone(resident.facility.zone).date()
    if expected_return_on is not None and expected_return_on < today:
        raise ResidentInvalid("The expected return is in the past.", field="expected_return_on")
    before = snapshot(resident, fields=["status", "away_kind"])
    absence = ResidentAbsence.objects.create(
        resident=resident,
        kind=kind,
        started_at=started_at,
        expected_return_on=expected_return_on,
        note=note.strip(),
        recorded_by=by,
    )
    resident.status = Resident.Status.AWAY
    resident.away_kind = kind
    resident.save(update_fields=["status", "away_kind"])
    audit_write(
        actor=by,
        action="resident.leave",
        target=absence,
        resident=resident,
        facility=resident.facility_id,
        before=before,
        after=snapshot(resident, fields=["status", "away_kind"])
        | {"started_at": started_at.isoformat(), "expected_return_on": str(expected_return_on)},
        reason=note.strip(),
        request=request,
        now=now,
    )
    return absence


def _end_absence(resident: Resident, *, ended_at: dt.datetime) -> ResidentAbsence | None:
    absence = (
        ResidentAbsence.objects.select_for_update()
        .filter(resident=resident, ended_at__isnull=True)
        .first()
    )
    if absence is None:
        return None
    if ended_at <= absence.started_at:
        raise ResidentInvalid(
            f"They left at {absence.started_at.astimezone(resident.facility.zone):%b %-d %H:%M}; "
            "the return must be after that.",
            field="returned_at",
        )
    absence.ended_at = ended_at
    absence.save(update_fields=["ended_at"])
    return absence


@transaction.atomic
def resident_return(
    *,
    resident: Resident,
    returned_at: dt.datetime,
    by: User,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> ResidentAbsence:
    """End the open absence: doses from ``returned_at`` on are due as usual again."""
    _require_admin(by, resident.facility_id)
    resident = _locked_resident(resident)
    if resident.status != Resident.Status.AWAY:
        raise ResidentWrongState(f"{resident.display_name} is not away.")
    if returned_at > now:
        raise ResidentInvalid("The return time is in the future.", field="returned_at")
    before = snapshot(resident, fields=["status", "away_kind"])
    absence = _end_absence(resident, ended_at=returned_at)
    if absence is None:  # pragma: no cover - the database keeps status and absence together
        raise ResidentWrongState(f"{resident.display_name} has no open absence.")
    resident.status = Resident.Status.ACTIVE
    resident.away_kind = ""
    resident.save(update_fields=["status", "away_kind"])
    audit_write(
        actor=by,
        action="resident.return",
        target=absence,
        resident=resident,
        facility=resident.facility_id,
        before=before,
        after=snapshot(resident, fields=["status", "away_kind"])
        | {"returned_at": returned_at.isoformat()},
        request=request,
        now=now,
    )
    return absence


@transaction.atomic
def resident_discharge(
    *,
    resident: Resident,
    outcome: str,
    on_date: dt.date,
    reason: str,
    by: User,
    now: dt.datetime,
    end_orders: Callable[[Resident, str], Iterable[str]],
    request: HttpRequest | None = None,
) -> Resident:
    """Discharge a resident, or record their death. ``end_orders(resident, reason)``
    ends their open orders and names them (the record's step, passed in by
    ``mar.services.stays``, which this app does not import); everything charted stays as
    it is, readable."""
    _require_admin(by, resident.facility_id)
    resident = _locked_resident(resident)
    if outcome not in (Resident.Status.DISCHARGED, Resident.Status.DECEASED):
        raise ResidentInvalid("Choose discharged or deceased.", field="outcome")
    if resident.status not in IN_HOUSE:
        raise ResidentWrongState(
            f"{resident.display_name} is already {resident.get_status_display().lower()}."
        )
    if not reason.strip():
        raise ResidentInvalid("Say where they went, or the circumstances.", field="reason")
    today = now.astimezone(resident.facility.zone).date()
    if on_date > today:
        raise ResidentInvalid("The date is in the future.", field="on_date")
    if on_date < resident.admitted_on:
        raise ResidentInvalid("The date is before the admission.", field="on_date")
    before = snapshot(resident, fields=["status", "away_kind", "discharged_on"])
    _end_absence(resident, ended_at=now)
    label = "Deceased" if outcome == Resident.Status.DECEASED else "Discharged"
    ended_orders = list(end_orders(resident, f"{label} {on_date:%Y-%m-%d}"))
    resident.status = outcome
    resident.away_kind = ""
    resident.discharged_on = on_date
    resident.save(update_fields=["status", "away_kind", "discharged_on"])
    audit_write(
        actor=by,
        action=f"resident.{outcome}",
        target=resident,
        before=before,
        after=snapshot(resident, fields=["status", "away_kind", "discharged_on"])
        | {"orders_discontinued": ended_orders},
        reason=reason.strip(),
        request=request,
        now=now,
    )
    return resident


# --- The community's settings ---------------------------------------------------------------


def _distinct_times(pass_times: dict[str, dt.time]) -> None:
    seen: dict[dt.time, str] = {}
    for name, clock in pass_times.items():
        if clock in seen:
            raise ResidentInvalid(
                f"{name} and {seen[clock]} are both at {clock:%H:%M}; give each pass its own time.",
                field=f"pass_{name}",
            )
        seen[clock] = name


@transaction.atomic
def facility_update(
    *,
    facility: Facility,
    by: User,
    now: dt.datetime,
    pass_times: dict[str, dt.time],
    request: HttpRequest | None = None,
    **fields: Any,
) -> bool:
    """Change the community's settings and pass times. Returns whether the schedule
    changed (time zone, pass times or windows): ``mar.services.stays.facility_update``
    then re-syncs the active orders' future, uncharted doses in the same transaction."""
    _require_admin(by, facility.pk)
    unknown = set(fields) - set(FACILITY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown facility fields: {', '.join(sorted(unknown))}")
    facility = Facility.objects.select_for_update().get(pk=facility.pk)
    if not str(fields.get("name", facility.name)).strip():
        raise ResidentInvalid("The community needs a name.", field="name")
    if Facility.objects.filter(name=fields.get("name", facility.name)).exclude(pk=facility.pk):
        raise ResidentInvalid("Another community has that name.", field="name")
    _distinct_times(pass_times)
    before = snapshot(facility, fields=FACILITY_FIELDS)
    for name, value in fields.items():
        # A browser sends a textarea's line breaks as CRLF: the same address typed once is
        # the same address, so saving unchanged settings logs no change.
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        setattr(facility, name, value)
    facility.full_clean(exclude=["name"])
    facility.save()
    after = snapshot(facility, fields=FACILITY_FIELDS)

    existing = {row.name: row for row in MedPassTime.objects.filter(facility=facility)}
    times_before = {name: row.time_of_day.strftime("%H:%M") for name, row in existing.items()}
    for name, clock in pass_times.items():
        row = existing.get(name)
        if row is None:
            MedPassTime.objects.create(facility=facility, name=name, time_of_day=clock)
        elif row.time_of_day != clock:
            row.time_of_day = clock
            row.save(update_fields=["time_of_day"])
    times_after = times_before | {
        name: clock.strftime("%H:%M") for name, clock in pass_times.items()
    }

    settings_before, settings_after = changed(before, after)
    times_old, times_new = changed(times_before, times_after)
    if settings_before or settings_after or times_old or times_new:
        audit_write(
            actor=by,
            action="facility.update",
            target=facility,
            facility=facility,
            before=settings_before | ({"pass_times": times_old} if times_new else {}),
            after=settings_after | ({"pass_times": times_new} if times_new else {}),
            request=request,
            now=now,
        )
    schedule_keys = {
        "time_zone",
        "window_time_critical_minutes",
        "window_more_than_daily_minutes",
        "window_daily_minutes",
    }
    return bool(times_new or schedule_keys & set(settings_after))


@transaction.atomic
def unit_create(
    *, facility: Facility, name: str, by: User, now: dt.datetime, request: HttpRequest | None = None
) -> Unit:
    _require_admin(by, facility.pk)
    name = name.strip()
    if not name:
        raise ResidentInvalid("Name the unit.", field="name")
    if Unit.objects.filter(facility=facility, name__iexact=name).exists():
        raise ResidentInvalid(f"There is already a unit called {name}.", field="name")
    unit = Unit.objects.create(facility=facility, name=name)
    audit_write(
        actor=by, action="unit.create", target=unit, after=snapshot(unit), request=request, now=now
    )
    return unit


@transaction.atomic
def room_save(
    *,
    facility: Facility,
    number: str,
    unit: Unit,
    cart: Model | None,  # an inventory.MedCart: rooms only point at carts
    by: User,
    now: dt.datetime,
    room: Room | None = None,
    request: HttpRequest | None = None,
) -> Room:
    """Add a room, or change an existing room's unit and the cart that serves it."""
    _require_admin(by, facility.pk)
    number = number.strip()
    if not number:
        raise ResidentInvalid("Give the room a number.", field="number")
    if unit.facility_id != facility.pk:
        raise ResidentInvalid("Choose a unit of this community.", field="unit")
    if cart is not None and (cart.facility_id != facility.pk or not cart.is_active):
        raise ResidentInvalid("Choose an active cart of this community.", field="cart")
    if room is None:
        room = Room(facility=facility)
        before: dict[str, Any] = {}
    else:
        room = Room.objects.select_for_update().get(pk=room.pk, facility=facility)
        before = snapshot(room, fields=["number", "unit", "cart"])
    room.number, room.unit, room.cart = number, unit, cart
    try:
        with transaction.atomic():
            room.save()
    except IntegrityError as error:
        raise ResidentInvalid(f"There is already a room {number}.", field="number") from error
    old, new = changed(before, snapshot(room, fields=["number", "unit", "cart"]))
    if new:
        audit_write(
            actor=by,
            action="room.update" if before else "room.create",
            target=room,
            before=old or None,
            after=new,
            request=request,
            now=now,
        )
    return room
