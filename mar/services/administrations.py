"""Charting: the one way an administration record comes to exist.

Every page, API call and offline sync charts through ``administration_record``, so
the safety gates live here once: who may chart, which orders can be charted, the
window, PRN limits, vitals and hold parameters, stock. A dose is charted exactly
once: the scheduled dose row is locked, the idempotency key is unique, and the
database keeps one active record per dose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from inventory.services import (
    StockUnavailable,
    stock_return_for_error,
    stock_take_for_administration,
)
from mar.models import (
    Administration,
    Amendment,
    EffectivenessCheck,
    Order,
    ScheduledDose,
    Vital,
)
from mar.selectors import UNDO_WINDOW
from mar.services.chain import chain_seal
from medtech import permissions
from medtech.audit import audit_write, snapshot
from residents.models import Resident
from staff.models import User
from staff.selectors import user_charting_refusal, user_signing_refusal

LATE_ENTRY_AFTER = dt.timedelta(minutes=30)
DOCUMENT_BACK_AT_MOST = dt.timedelta(hours=24)
CLOCK_SKEW = dt.timedelta(minutes=5)

VITAL_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    Vital.SYSTOLIC: (Decimal(40), Decimal(300)),
    Vital.DIASTOLIC: (Decimal(20), Decimal(200)),
    Vital.PULSE: (Decimal(20), Decimal(250)),
    Vital.TEMPERATURE: (Decimal(90), Decimal(110)),
    Vital.RESPIRATIONS: (Decimal(4), Decimal(60)),
    Vital.SPO2: (Decimal(50), Decimal(100)),
    Vital.BLOOD_GLUCOSE: (Decimal(10), Decimal(800)),
    Vital.PAIN: (Decimal(0), Decimal(10)),
    Vital.WEIGHT: (Decimal(40), Decimal(700)),
}
COMPARATORS = {
    "<": lambda value, limit: value < limit,
    "<=": lambda value, limit: value <= limit,
    ">": lambda value, limit: value > limit,
    ">=": lambda value, limit: value >= limit,
}


class ChartingError(Exception):
    """Charting refused; the message tells the person what happened and what to do."""


class ChartingNotPermitted(ChartingError):
    pass


class ChartingInvalid(ChartingError):
    """Bad input: the field it concerns is in ``field``."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrderNotChartable(ChartingError):
    pass


class DoseAlreadyCharted(ChartingError):
    def __init__(self, existing: Administration) -> None:
        by = existing.administered_by
        local = existing.administered_at.astimezone(existing.resident.facility.zone)
        super().__init__(
            f"Already charted by {_dotted(by.initials)} at {local:%H:%M} "
            f"({existing.get_status_display().lower()})."
        )
        self.existing = existing


class IdempotencyKeyReused(ChartingError):
    """The same key was sent before with a different request."""


class TooEarly(ChartingError):
    pass


class PrnLimitReached(ChartingError):
    def __init__(self, message: str, *, allowed_at: dt.datetime) -> None:
        super().__init__(message)
        self.allowed_at = allowed_at


class HoldParameterMet(ChartingError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            "; ".join(reasons) + ". Chart the dose as held, or ask a nurse to override."
        )
        self.reasons = reasons


class NoStock(ChartingError):
    pass


class ScanMismatch(ChartingError):
    pass


def scan_matches(*, order: Order, code: str) -> bool:
    """Whether a scanned barcode is this order's medication (NDC) or its pharmacy label
    (Rx number). Package barcodes carry the NDC's digits inside a longer number (UPC-A
    adds a leading digit and a check digit), and an 11-digit NDC is a 10-digit one with
    a zero padded into one segment, so both forms are looked for."""
    code = code.strip()
    if order.rx_number and code.upper() == order.rx_number.strip().upper():
        return True
    digits = "".join(ch for ch in code if ch.isdigit())
    ndc = "".join(ch for ch in order.medication.ndc if ch.isdigit())
    if not digits or not ndc:
        return False
    forms = {ndc} | {ndc[:i] + ndc[i + 1 :] for i, ch in enumerate(ndc) if ch == "0"}
    return any(len(form) >= 10 and form in digits for form in forms)


@dataclass(frozen=True)
class ChartResult:
    administration: Administration
    created: bool


def _dotted(initials: str) -> str:
    return "".join(f"{letter}." for letter in initials if letter.isalpha())


def _fingerprint(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _clean_vitals(raw: dict[str, Any] | None) -> dict[str, str]:
    vitals = {}
    for name, value in (raw or {}).items():
        if name not in VITAL_RANGES:
            raise ChartingInvalid(f"Unknown vital sign {name!r}.", field="vitals")
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ChartingInvalid(
                f"{Vital(name).label}: {value!r} is not a number.", field="vitals"
            ) from None
        low, high = VITAL_RANGES[name]
        if not number.is_finite() or not low <= number <= high:
            raise ChartingInvalid(
                f"{Vital(name).label}: {value} is outside {low}-{high}; check the reading.",
                field="vitals",
            )
        vitals[name] = format(number.normalize(), "f")
    return vitals


def hold_parameter_reasons(*, order: Order, vitals: dict[str, str]) -> list[str]:
    """Which of the order's hold parameters the vitals meet, as people say them."""
    reasons = []
    for rule in order.hold_parameters or []:
        name, comparator, limit = rule.get("vital"), rule.get("comparator"), rule.get("limit")
        if name in vitals and comparator in COMPARATORS:
            value, bound = Decimal(vitals[name]), Decimal(str(limit))
            if COMPARATORS[comparator](value, bound):
                reasons.append(
                    f"{name.replace('_', ' ')} {vitals[name]} {comparator} {limit}: hold"
                )
    return reasons


def _lock_order(order_id: int) -> Order:
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("medication", "resident__facility")
        .get(pk=order_id)
    )


def _replay(*, user: User, key: str, fingerprint: str) -> ChartResult | None:
    """The record this user's key made, if any: keys are scoped to the person who charts
    (another user's same key is another request)."""
    existing = (
        Administration.objects.select_related("administered_by", "resident__facility")
        .filter(administered_by=user, idempotency_key=key)
        .first()
    )
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This idempotency key was already used for a different charting request."
        )
    return ChartResult(administration=existing, created=False)


def administration_record(
    *,
    user: User,
    idempotency_key: str,
    status: str,
    administered_at: dt.datetime,
    now: dt.datetime,
    scheduled_dose: ScheduledDose | None = None,
    order: Order | None = None,
    reason: str = "",
    note: str = "",
    vitals: dict[str, Any] | None = None,
    prn_reason: str = "",
    witness: User | None = None,
    override_by: User | None = None,
    override_reason: str = "",
    scanned_code: str = "",
    source: str = Administration.Source.TABLET,
) -> ChartResult:
    """Chart a scheduled dose (``scheduled_dose``) or a PRN dose (``order``).

    ``source``: how the request came (the tablet's page, the API, a tablet's offline
    queue), kept on the record and shown to the nurse.

    ``scanned_code``, when given, must be the medication's NDC or the order's Rx
    number (scan-to-verify); a mismatch stops with ``ScanMismatch``.

    A retry with the same key and the same request returns the first result with
    ``created=False``; the same key with a different request raises
    ``IdempotencyKeyReused``. Everything else that stands in the way raises a
    ``ChartingError`` subclass and writes nothing.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise ChartingInvalid("A charting request needs an idempotency key of 1-100 characters.")
    if (scheduled_dose is None) == (order is None):
        raise ChartingInvalid("Chart either a scheduled dose or a PRN order.")
    if status not in Administration.Status.values:
        raise ChartingInvalid(f"Unknown status {status!r}.", field="status")
    clean_vitals = _clean_vitals(vitals)
    fingerprint = _fingerprint(
        {
            "dose": scheduled_dose.pk if scheduled_dose else None,
            "order": order.pk if order else None,
            "user": user.pk,
            "status": status,
            "administered_at": administered_at.astimezone(dt.UTC).isoformat(),
            "reason": reason.strip(),
            "note": note.strip(),
            "vitals": clean_vitals,
            "prn_reason": prn_reason.strip(),
            "witness": witness.pk if witness else None,
            "override_by": override_by.pk if override_by else None,
            "override_reason": override_reason.strip(),
        }
    )
    # No replay lookup here: a retry finds its record under the dose's lock (or the
    # order's, for PRN) in ``_record``, and a key reused anywhere else fails the unique
    # key on insert and is answered below. A new request (nearly all) saves the query.
    if scanned_code.strip():
        scanned_order = scheduled_dose.order if scheduled_dose else order
        if not scan_matches(order=scanned_order, code=scanned_code):
            raise ScanMismatch(
                f"The scanned code {scanned_code.strip()!r} is not {scanned_order.medication} "
                "for this order. Stop and check the medication before you give it."
            )
    try:
        with transaction.atomic():
            result = _record(
                user=user,
                key=key,
                fingerprint=fingerprint,
                status=status,
                administered_at=administered_at,
                now=now,
                scheduled_dose=scheduled_dose,
                order=order,
                reason=reason.strip(),
                note=note.strip(),
                vitals=clean_vitals,
                prn_reason=prn_reason.strip(),
                witness=witness,
                override_by=override_by,
                override_reason=override_reason.strip(),
                source=source,
            )
            if result.created:
                _audit_and_seal(result.administration, user=user, now=now)
            return result
    except IntegrityError as error:
        # Two requests with one key raced past the replay check: the first one won.
        if replay := _replay(user=user, key=key, fingerprint=fingerprint):
            return replay
        raise ChartingInvalid(f"The record could not be saved: {error}") from error


def _record(
    *,
    user: User,
    key: str,
    fingerprint: str,
    status: str,
    administered_at: dt.datetime,
    now: dt.datetime,
    scheduled_dose: ScheduledDose | None,
    order: Order | None,
    reason: str,
    note: str,
    vitals: dict[str, str],
    prn_reason: str,
    witness: User | None,
    override_by: User | None,
    override_reason: str,
    source: str,
) -> ChartResult:
    if scheduled_dose is not None:
        dose = (
            ScheduledDose.objects.select_for_update(of=("self",))
            .select_related("order__medication", "resident__facility")
            .get(pk=scheduled_dose.pk)
        )
        # The dose lock serialises two tablets charting the same dose: the second sees
        # the first one's record here. A pending dose has none (a record and the dose's
        # status change commit together, and so do an undo and its return to pending),
        # so the usual case needs no second query.
        existing = None
        if dose.status != ScheduledDose.Status.PENDING:
            existing = (
                dose.administrations.filter(is_entered_in_error=False)
                .select_related("administered_by", "resident__facility")
                .first()
            )
        if existing is not None:
            if existing.idempotency_key == key and existing.administered_by_id == user.pk:
                return _replay(user=user, key=key, fingerprint=fingerprint)
            raise DoseAlreadyCharted(existing)
        order = dose.order
    else:
        dose = None
        order = _lock_order(order.pk)
        if replay := _replay(user=user, key=key, fingerprint=fingerprint):
            return replay
    # The dose's lock query loaded its resident and facility (the order's, for PRN).
    resident = dose.resident if dose is not None else order.resident
    facility = resident.facility
    today = now.astimezone(facility.zone).date()

    refusal = user_charting_refusal(user=user, facility_id=facility.pk, today=today)
    if refusal:
        raise ChartingNotPermitted(refusal)
    if witness is not None and witness.pk == user.pk:
        raise ChartingInvalid("A witness must be someone else.", field="witness")
    if witness is not None and (refusal := user_signing_refusal(user=witness)):
        raise ChartingInvalid(refusal, field="witness")
    _check_order_chartable(order=order, resident=resident, is_prn=dose is None)
    is_late, is_late_entry = _check_timing(
        dose=dose,
        status=status,
        administered_at=administered_at,
        now=now,
        note=note,
        override_by=override_by,
        override_reason=override_reason,
    )
    _check_status_fields(status=status, reason=reason, note=note, prn_reason=prn_reason, dose=dose)
    given = status == Administration.Status.GIVEN
    if given:
        _check_vitals_and_holds(
            order=order, vitals=vitals, override_by=override_by, override_reason=override_reason
        )
    if dose is None and given:
        _check_prn_limits(order=order, administered_at=administered_at)

    administration = Administration.objects.create(
        scheduled_dose=dose,
        order=order,
        resident=resident,
        status=status,
        reason=reason,
        note=note,
        dose_amount=order.dose_amount if given else None,
        administered_at=administered_at,
        documented_at=now,
        administered_by=user,
        witness=witness,
        vitals=vitals,
        prn_reason=prn_reason,
        is_late=is_late,
        is_late_entry=is_late_entry,
        override_reason=_override_text(override_by, override_reason),
        idempotency_key=key,
        request_fingerprint=fingerprint,
        source=source,
    )
    if given:
        try:
            stock_take_for_administration(
                administration=administration, quantity=order.dose_amount, today=today, now=now
            )
        except StockUnavailable as error:
            raise NoStock(str(error)) from error
    if dose is not None:
        ScheduledDose.objects.filter(pk=dose.pk).update(
            status=ScheduledDose.Status.CHARTED, status_changed_at=now
        )
    # A refusal or a held dose opens the nurse's follow-up (imported here: the follow-ups
    # module builds on the reviews, which build on this one).
    from mar.services.followups import followup_open

    followup_open(administration=administration, now=now)
    return ChartResult(administration=administration, created=True)


CHARTED_FIELDS = (
    "scheduled_dose",
    "order",
    "status",
    "reason",
    "note",
    "dose_amount",
    "administered_at",
    "witness",
    "vitals",
    "prn_reason",
    "override_reason",
)


def _audit_and_seal(administration: Administration, *, user: User, now: dt.datetime) -> None:
    """The audit row and the chain seal of a new record: one INSERT each, the seal last so
    the facility's chain lock is held only until the commit (``mar.services.chain``)."""
    audit_write(
        actor=user,
        action="administration.record",
        target=administration,
        resident=administration.resident,
        after=snapshot(administration, fields=CHARTED_FIELDS),
        now=now,
    )
    chain_seal(record=administration, resident_id=administration.resident_id, now=now)


def _override_text(override_by: User | None, reason: str) -> str:
    if override_by is None or not reason:
        return ""
    return f"{reason} (override by {override_by.signature_name})"


def _check_order_chartable(*, order: Order, resident: Resident, is_prn: bool) -> None:
    if order.status == Order.Status.PENDING_VERIFICATION:
        raise OrderNotChartable(
            "This order is waiting for a nurse's verification and cannot be charted yet."
        )
    if order.status == Order.Status.ON_HOLD:
        raise OrderNotChartable(f"This order is on hold: {order.status_reason}")
    if order.status == Order.Status.DISCONTINUED:
        raise OrderNotChartable(f"This order was discontinued: {order.status_reason}")
    if is_prn != order.is_prn:
        raise ChartingInvalid("PRN orders are charted as PRN doses, scheduled ones by their dose.")
    if resident.status in (Resident.Status.DISCHARGED, Resident.Status.DECEASED):
        raise OrderNotChartable(f"{resident.display_name} is {resident.get_status_display()}.")


def _is_nurse_override(override_by: User | None, reason: str) -> bool:
    return (
        override_by is not None
        and permissions.can(override_by, permissions.Area.NURSE_OVERRIDE)
        and bool(reason)
    )


def _check_timing(
    *,
    dose: ScheduledDose | None,
    status: str,
    administered_at: dt.datetime,
    now: dt.datetime,
    note: str,
    override_by: User | None,
    override_reason: str,
) -> tuple[bool, bool]:
    """Refuse impossible times; say whether the dose is late and the entry is late."""
    if administered_at > now + CLOCK_SKEW:
        raise ChartingInvalid("A dose cannot be charted in the future.", field="administered_at")
    if now - administered_at > DOCUMENT_BACK_AT_MOST:
        raise ChartingInvalid(
            "Doses can be documented up to 24 hours back; ask a nurse to enter an amendment.",
            field="administered_at",
        )
    is_late_entry = now - administered_at > LATE_ENTRY_AFTER
    if is_late_entry and not note:
        raise ChartingInvalid(
            "A late entry (documented more than 30 minutes after it was given) needs a note.",
            field="note",
        )
    if dose is None:
        return False, is_late_entry
    is_early = administered_at < dose.window_start and status != Administration.Status.AWAY
    if is_early and not _is_nurse_override(override_by, override_reason):
        local = dose.window_start.astimezone(dose.resident.facility.zone)
        raise TooEarly(
            f"This dose's window opens at {local:%H:%M}. Charting before then needs a "
            "nurse's override with a reason."
        )
    return administered_at > dose.window_end, is_late_entry


def _check_status_fields(
    *, status: str, reason: str, note: str, prn_reason: str, dose: ScheduledDose | None
) -> None:
    if status == Administration.Status.HELD and not reason:
        raise ChartingInvalid("Say why the dose is held.", field="reason")
    if status == Administration.Status.OTHER and not note:
        raise ChartingInvalid("A dose not given for another reason needs a note.", field="note")
    if dose is None and not prn_reason:
        raise ChartingInvalid("Record the reason for this PRN dose.", field="prn_reason")


def _check_vitals_and_holds(
    *, order: Order, vitals: dict[str, str], override_by: User | None, override_reason: str
) -> None:
    missing = [Vital(name).label for name in order.required_vitals if name not in vitals]
    if missing:
        raise ChartingInvalid(
            f"This order needs vitals before it is given: {', '.join(missing)}.", field="vitals"
        )
    reasons = hold_parameter_reasons(order=order, vitals=vitals)
    if reasons and not _is_nurse_override(override_by, override_reason):
        raise HoldParameterMet(reasons)


def _check_prn_limits(*, order: Order, administered_at: dt.datetime) -> None:
    """Minimum interval and maximum per 24 hours, against every active given PRN dose.

    The order row is locked by the caller, so two tablets cannot both slip under a limit.
    """
    zone = order.resident.facility.zone
    given = list(
        order.administrations.filter(
            status=Administration.Status.GIVEN,
            is_entered_in_error=False,
            administered_at__gt=administered_at - dt.timedelta(hours=24),
        )
        .order_by("administered_at")
        .values_list("administered_at", flat=True)
    )
    interval = dt.timedelta(minutes=order.prn_min_interval_minutes or 0)
    too_close = [at for at in given if abs(administered_at - at) < interval]
    if too_close:
        allowed_at = max(too_close) + interval
        raise PrnLimitReached(
            f"Too soon: the last dose was at {max(too_close).astimezone(zone):%H:%M}, and "
            f"this order needs {order.prn_min_interval_minutes} minutes between doses. "
            f"Allowed again at {allowed_at.astimezone(zone):%H:%M}.",
            allowed_at=allowed_at,
        )
    in_window = [at for at in given if at <= administered_at]
    if order.prn_max_per_24h and len(in_window) >= order.prn_max_per_24h:
        allowed_at = in_window[len(in_window) - order.prn_max_per_24h] + dt.timedelta(hours=24)
        raise PrnLimitReached(
            f"Too many: {len(in_window)} doses in the last 24 hours, the most this order "
            f"allows is {order.prn_max_per_24h}. Allowed again at "
            f"{allowed_at.astimezone(zone):%a %H:%M}.",
            allowed_at=allowed_at,
        )


@transaction.atomic
def administration_mark_entered_in_error(
    *, administration: Administration, user: User, reason: str, now: dt.datetime
) -> Amendment:
    """Undo is never a delete: the record is flagged by an amendment that keeps who,
    when and why. The person who charted may do it within 2 minutes; a nurse any time.
    The dose becomes chartable again and any stock it took goes back on the cart."""
    administration = (
        Administration.objects.select_for_update(of=("self",))
        .select_related("resident")
        .get(pk=administration.pk)
    )
    if not reason.strip():
        raise ChartingInvalid("Say why the entry was made in error.", field="reason")
    if administration.is_entered_in_error:
        raise ChartingInvalid("This entry is already marked entered in error.")
    is_own_recent = (
        administration.administered_by_id == user.pk
        and now - administration.documented_at <= UNDO_WINDOW
    )
    if not (is_own_recent or permissions.can(user, permissions.Area.AMEND)):
        raise ChartingNotPermitted(
            "Only the person who charted it can undo an entry, within 2 minutes; after "
            "that a nurse corrects it by amendment."
        )
    amendment = Amendment.objects.create(
        administration=administration,
        field=Amendment.Field.ENTERED_IN_ERROR,
        old_value="false",
        new_value="true",
        reason=reason.strip(),
        amended_by=user,
        amended_at=now,
    )
    Administration.objects.filter(pk=administration.pk).update(is_entered_in_error=True)
    if administration.scheduled_dose_id:
        ScheduledDose.objects.filter(pk=administration.scheduled_dose_id).update(
            status=ScheduledDose.Status.PENDING, status_changed_at=now
        )
    stock_return_for_error(administration=administration, by=user, reason=reason, now=now)
    _audit_amendment(amendment, administration=administration, action="administration.error")
    return amendment


def administration_record_effectiveness(
    *, administration: Administration, user: User, result: str, note: str, now: dt.datetime
) -> EffectivenessCheck:
    """The PRN follow-up, by anyone who may chart for the resident's community."""
    facility = administration.resident.facility
    refusal = user_charting_refusal(
        user=user, facility_id=facility.pk, today=now.astimezone(facility.zone).date()
    )
    if refusal:
        raise ChartingNotPermitted(refusal)
    if administration.scheduled_dose_id or administration.status != Administration.Status.GIVEN:
        raise ChartingInvalid("Effectiveness is followed up for PRN doses that were given.")
    if result not in EffectivenessCheck.Result.values:
        raise ChartingInvalid("Choose effective or not effective.", field="result")
    if result == EffectivenessCheck.Result.NOT_EFFECTIVE and not note.strip():
        raise ChartingInvalid(
            "Say what you observed when the dose was not effective.", field="note"
        )
    try:
        with transaction.atomic():
            check = EffectivenessCheck.objects.create(
                administration=administration,
                result=result,
                note=note.strip(),
                recorded_at=now,
                recorded_by=user,
            )
            audit_write(
                actor=user,
                action="administration.effectiveness",
                target=check,
                resident=administration.resident,
                after={"result": check.result, "note": check.note},
                now=now,
            )
            return check
    except IntegrityError:
        existing = EffectivenessCheck.objects.select_related("recorded_by").get(
            administration=administration
        )
        raise ChartingInvalid(
            f"The follow-up was already charted by {_dotted(existing.recorded_by.initials)}."
        ) from None


# Corrections other than "entered in error": each one an Amendment row that keeps the old
# value, the new value, who, when and why. The administration row itself never changes.
AMENDABLE_FIELDS = (
    Amendment.Field.ADMINISTERED_AT,
    Amendment.Field.STATUS,
    Amendment.Field.REASON,
    Amendment.Field.NOTE,
    Amendment.Field.DOSE_AMOUNT,
)


def amended_value_text(*, field: str, value: Any) -> str:
    """How a value of an amendable field is written in an Amendment row."""
    if value is None:
        return ""
    if field == Amendment.Field.ADMINISTERED_AT:
        return value.astimezone(dt.UTC).isoformat()
    if field == Amendment.Field.DOSE_AMOUNT:
        return format(Decimal(value).normalize(), "f")
    return str(value).strip()


def _clean_amended_value(
    *, administration: Administration, field: str, raw: str, now: dt.datetime
) -> str:
    raw = raw.strip()
    if field == Amendment.Field.ADMINISTERED_AT:
        try:
            at = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ChartingInvalid(
                "Give the corrected time as an ISO 8601 date and time with its UTC offset.",
                field="new_value",
            ) from None
        if at.tzinfo is None:
            raise ChartingInvalid("Give the corrected time with its UTC offset.", field="new_value")
        if at > now + CLOCK_SKEW:
            raise ChartingInvalid("A dose cannot have been given in the future.", field="new_value")
        return amended_value_text(field=field, value=at)
    if field == Amendment.Field.STATUS:
        if raw not in Administration.Status.values:
            raise ChartingInvalid(f"Unknown status {raw!r}.", field="new_value")
        given = Administration.Status.GIVEN
        if (raw == given) != (administration.status == given):
            # Given <-> not given moves stock: that correction is "entered in error" plus a
            # new chart of the dose, so the ledger follows.
            raise ChartingInvalid(
                "A dose charted as given cannot be amended to not given (or back): mark the "
                "entry entered in error and chart the dose again.",
                field="new_value",
            )
        return raw
    if field == Amendment.Field.DOSE_AMOUNT:
        if administration.status != Administration.Status.GIVEN:
            raise ChartingInvalid("Only a dose that was given has an amount.", field="field")
        try:
            amount = Decimal(raw)
        except (InvalidOperation, ValueError):
            raise ChartingInvalid(f"{raw!r} is not a number.", field="new_value") from None
        if not amount.is_finite() or not Decimal(0) < amount < Decimal(100_000):
            raise ChartingInvalid("The dose must be more than zero.", field="new_value")
        return amended_value_text(field=field, value=amount)
    return raw


def administration_current_value(*, administration: Administration, field: str) -> str:
    """The value of a field as last amended (or as charted), as an Amendment writes it.

    Reads ``administration.amendments`` (prefetch it to avoid a query)."""
    latest = None
    for amendment in administration.amendments.all():
        if amendment.field == field and (
            latest is None or (amendment.amended_at, amendment.pk) > (latest.amended_at, latest.pk)
        ):
            latest = amendment
    if latest is not None:
        return latest.new_value
    return amended_value_text(field=field, value=getattr(administration, field))


@transaction.atomic
def administration_amend(
    *,
    administration: Administration,
    user: User,
    field: str,
    new_value: str,
    reason: str,
    now: dt.datetime,
) -> Amendment:
    """A nurse corrects one field of a record: a new Amendment row with the old value, the
    new value and why. Entered in error has its own service
    (``administration_mark_entered_in_error``), which also frees the dose and the stock."""
    administration = (
        Administration.objects.select_for_update(of=("self",))
        .select_related("resident")
        .get(pk=administration.pk)
    )
    permissions.require(
        user,
        permissions.Area.AMEND,
        error=ChartingNotPermitted,
        message="Only a nurse corrects a record, by amendment.",
    )
    if not permissions.is_member(user, administration.resident.facility_id):
        raise ChartingNotPermitted("You are not a member of this resident's community.")
    if field not in AMENDABLE_FIELDS:
        raise ChartingInvalid(
            f"Amend one of: {', '.join(AMENDABLE_FIELDS)} (or mark it entered in error).",
            field="field",
        )
    if administration.is_entered_in_error:
        raise ChartingInvalid("This entry is marked entered in error; it cannot be amended.")
    if not reason.strip():
        raise ChartingInvalid("Say why the record is corrected.", field="reason")
    new_text = _clean_amended_value(
        administration=administration, field=field, raw=new_value, now=now
    )
    old_text = administration_current_value(administration=administration, field=field)
    if new_text == old_text:
        raise ChartingInvalid("That is already the recorded value.", field="new_value")
    amendment = Amendment.objects.create(
        administration=administration,
        field=field,
        old_value=old_text,
        new_value=new_text,
        reason=reason.strip(),
        amended_by=user,
        amended_at=now,
    )
    _audit_amendment(amendment, administration=administration, action="administration.amend")
    return amendment


def _audit_amendment(amendment: Amendment, *, administration: Administration, action: str) -> None:
    """The audit row (old value, new value, why) and the chain seal of an amendment, the
    seal as the transaction's last statement."""
    audit_write(
        actor=amendment.amended_by,
        action=action,
        target=administration,
        resident=administration.resident,
        before={amendment.field: amendment.old_value},
        after={amendment.field: amendment.new_value},
        reason=amendment.reason,
        now=amendment.amended_at,
    )
    chain_seal(record=amendment, resident_id=administration.resident_id, now=amendment.amended_at)
