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
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse

from drugref.checks import daily_caps, ingredient_limit_stop
from drugref.ndc import ndc_matches
from inventory.services import (
    StockUnavailable,
    stock_move_for_amended_amount,
    stock_return_for_error,
    stock_take_for_administration,
)
from mar.models import (
    Administration,
    Amendment,
    DoseOverride,
    EffectivenessCheck,
    Notification,
    Order,
    ScheduledDose,
    Vital,
)
from mar.prn import PrnLimits, prn_stop, prn_stop_message
from mar.selectors import (
    UNDO_WINDOW,
    administration_current_value,
    amended_value_text,
    dose_neighbours,
    doses_given_to_resident_around,
    given_times_around,
    resident_away_refusal,
)
from mar.services.chain import chain_seal
from mar.services.charting_rules import (  # noqa: F401 (the charting errors live on here too)
    CLOCK_SKEW,
    COMPARATORS,
    VITAL_RANGES,
    ChartingError,
    ChartingInvalid,
    ChartingMismatch,
    ChartingNotPermitted,
    DoseAlreadyCharted,
    HoldParameterMet,
    IdempotencyKeyReused,
    NoStock,
    OrderNotChartable,
    OverridableStop,
    PrnLimitReached,
    ScanMismatch,
    TooClose,
    TooEarly,
    hold_parameter_reasons,
    initials_dotted,
)
from mar.services.followups import followup_open
from mar.services.notifications import notifications_create, notifications_settle
from mar.services.orders import order_allergy_refusal
from medtech.core import permissions
from medtech.core.audit import audit_write, snapshot
from medtech.core.scope import is_member
from residents.models import Resident
from staff.models import User
from staff.selectors import nurses_of_facility, user_charting_refusal, user_signing_refusal
from staff.services import PinError, user_signature_verify

LATE_ENTRY_AFTER = dt.timedelta(minutes=30)
DOCUMENT_BACK_AT_MOST = dt.timedelta(hours=24)
# A nurse's override granted from another device waits this long for the dose to be charted.
OVERRIDE_VALID_FOR = dt.timedelta(hours=1)
# An override's reason says why in words: more than a dot or a "ok".
OVERRIDE_REASON_MIN_LENGTH = 8


def scan_matches(*, order: Order, code: str) -> bool:
    """Whether a scanned barcode is this order's medication (its NDC, as the package's
    barcode or label carries it: ``mar.ndc``) or its pharmacy label (the Rx number). The
    code must be one of these, not merely contain their digits."""
    code = code.strip()
    if order.rx_number and code.upper() == order.rx_number.strip().upper():
        return True
    return bool(order.medication.ndc) and ndc_matches(scanned=code, ndc=order.medication.ndc)


@dataclass(frozen=True)
class Claims:
    """What a client says it is charting, besides the dose or order it names. Each one
    given is checked against the record: a mismatch is refused (``ChartingMismatch``)."""

    resident: uuid.UUID | None = None
    medication: uuid.UUID | None = None
    dose_amount: Decimal | None = None
    dose_unit: str = ""
    route: str = ""


@dataclass(frozen=True)
class ChartEntry:
    """One charting request: the dose (or PRN order) and everything said about it. The
    tablet page's form, the API's serializer and the offline queue's claim each build one
    and hand it to ``administration_record`` (``entry=``); who charts it, the idempotency
    key, the clock and the way in travel beside it."""

    status: str
    administered_at: dt.datetime
    scheduled_dose: ScheduledDose | None = None
    order: Order | None = None
    reason: str = ""
    note: str = ""
    vitals: dict[str, Any] | None = None
    prn_reason: str = ""
    witness: User | None = None
    override_by: User | None = None
    override_secret: str = ""
    override_reason: str = ""
    scanned_code: str = ""
    scan_skipped: str = ""
    claims: Claims = Claims()

    def cleaned(self) -> ChartEntry:
        """Checked and normalised (stripped text, vitals as numbers, no skip reason when
        the package was scanned); raises ``ChartingInvalid`` for what cannot be."""
        if (self.scheduled_dose is None) == (self.order is None):
            raise ChartingInvalid("Chart either a scheduled dose or a PRN order.")
        if self.status not in Administration.Status.values:
            raise ChartingInvalid(f"Unknown status {self.status!r}.", field="status")
        if self.scan_skipped and self.scan_skipped not in Administration.ScanSkipped.values:
            raise ChartingInvalid(
                f"Unknown reason for not scanning {self.scan_skipped!r}.", field="scan_skipped"
            )
        scanned_code = self.scanned_code.strip()
        return replace(
            self,
            reason=self.reason.strip(),
            note=self.note.strip(),
            vitals=_clean_vitals(self.vitals),
            prn_reason=self.prn_reason.strip(),
            override_reason=self.override_reason.strip(),
            scanned_code=scanned_code,
            scan_skipped="" if scanned_code else self.scan_skipped,
            claims=self.claims or Claims(),
        )

    def fingerprint(self, *, user: User) -> str:
        """What a retry with the same idempotency key must repeat (of a cleaned entry):
        a different request under a used key is refused. The override's secret is not
        part of it, nor kept."""
        payload = {
            "dose": self.scheduled_dose.pk if self.scheduled_dose else None,
            "order": self.order.pk if self.order else None,
            "user": user.pk,
            "status": self.status,
            "administered_at": self.administered_at.astimezone(dt.UTC).isoformat(),
            "reason": self.reason,
            "note": self.note,
            "vitals": self.vitals,
            "prn_reason": self.prn_reason,
            "witness": self.witness.pk if self.witness else None,
            "override_by": self.override_by.pk if self.override_by else None,
            "override_reason": self.override_reason,
            "scanned_code": self.scanned_code,
            "scan_skipped": self.scan_skipped,
        }
        canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChartResult:
    administration: Administration
    created: bool


def _clean_vitals(raw: dict[str, Any] | None) -> dict[str, str]:
    vitals = {}
    for name, value in (raw or {}).items():
        if name not in VITAL_RANGES:
            raise ChartingInvalid(f"Unknown vital sign {name!r}.", field=f"vitals.{name}")
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ChartingInvalid(
                f"{Vital(name).label}: {value!r} is not a number.", field=f"vitals.{name}"
            ) from None
        low, high = VITAL_RANGES[name]
        if not number.is_finite() or not low <= number <= high:
            raise ChartingInvalid(
                f"{Vital(name).label}: {value} is outside {low}-{high}; check the reading.",
                field=f"vitals.{name}",
            )
        vitals[name] = format(number.normalize(), "f")
    pressure = [vitals.get(Vital.SYSTOLIC), vitals.get(Vital.DIASTOLIC)]
    if any(pressure) and not all(pressure):
        raise ChartingInvalid(
            "A blood pressure needs both numbers, systolic and diastolic.", field="vitals"
        )
    if all(pressure) and Decimal(pressure[1]) >= Decimal(pressure[0]):
        raise ChartingInvalid(
            f"Blood pressure {pressure[0]}/{pressure[1]}: the diastolic must be lower than the "
            "systolic; check the reading.",
            field="vitals",
        )
    return vitals


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
    now: dt.datetime,
    entry: ChartEntry,
    source: str = Administration.Source.TABLET,
) -> ChartResult:
    """Chart ``entry``: a scheduled dose (``entry.scheduled_dose``) or a PRN dose
    (``entry.order``).

    ``source``: how the request came (the tablet's page, the API, a tablet's offline
    queue), kept on the record and shown to the nurse.

    ``scanned_code`` must be the medication's NDC or the order's Rx number (a mismatch
    stops with ``ScanMismatch``); where the community requires a scan, a dose given
    without one needs ``scan_skipped`` (why it could not be scanned). ``claims``: what
    the client says about the dose, each checked against the record.

    A rule a nurse may override (before the window, too close to another dose, a hold
    parameter crossed) is passed with ``override_by`` (a nurse: the user, or a nurse who
    signs with ``override_secret``, their PIN or password) and ``override_reason``, or
    with an override a nurse granted for this dose from another device
    (``dose_override_grant``) in the last hour.

    A retry with the same key and the same request returns the first result with
    ``created=False``; the same key with a different request raises
    ``IdempotencyKeyReused``. Everything else that stands in the way raises a
    ``ChartingError`` subclass and writes nothing.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise ChartingInvalid("A charting request needs an idempotency key of 1-100 characters.")
    entry = entry.cleaned()
    fingerprint = entry.fingerprint(user=user)
    scheduled_dose, order, scanned_code = entry.scheduled_dose, entry.order, entry.scanned_code
    # No replay lookup here: a retry finds its record under the dose's lock (or the
    # order's, for PRN) in ``_record``, and a key reused anywhere else fails the unique
    # key on insert and is answered below. A new request (nearly all) saves the query.
    if scanned_code:
        scanned_order = scheduled_dose.order if scheduled_dose else order
        if not scan_matches(order=scanned_order, code=scanned_code):
            raise ScanMismatch(
                f"The scanned code {scanned_code!r} is not {scanned_order.medication} "
                "for this order. Stop and check the medication before you give it."
            )
    try:
        with transaction.atomic():
            result = _record(
                user=user,
                key=key,
                fingerprint=fingerprint,
                status=entry.status,
                administered_at=entry.administered_at,
                now=now,
                scheduled_dose=scheduled_dose,
                order=order,
                reason=entry.reason,
                note=entry.note,
                vitals=entry.vitals,
                prn_reason=entry.prn_reason,
                witness=entry.witness,
                override=_OverrideAsked(
                    nurse=entry.override_by,
                    secret=entry.override_secret,
                    reason=entry.override_reason,
                ),
                scanned_code=scanned_code,
                scan_skipped=entry.scan_skipped,
                claims=entry.claims,
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


@dataclass(frozen=True)
class _OverrideAsked:
    """The override a charting request brings with it (a nurse at the tablet), if any."""

    nurse: User | None
    secret: str
    reason: str


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
    override: _OverrideAsked,
    scanned_code: str,
    scan_skipped: str,
    claims: Claims,
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
    _check_order_chartable(order=order, resident=resident, is_prn=dose is None, at=administered_at)
    _check_claims(claims, order=order, resident=resident)
    given = status == Administration.Status.GIVEN
    is_late, is_late_entry = _check_timing(
        order=order,
        dose=dose,
        administered_at=administered_at,
        now=now,
        note=note,
        zone=facility.zone,
    )
    _check_status_fields(status=status, reason=reason, note=note, prn_reason=prn_reason, dose=dose)
    if given:
        _check_scan(required=facility.requires_scan, code=scanned_code, skipped=scan_skipped)
        _check_vitals_needed(order=order, vitals=vitals)
        if allergy_refusal := order_allergy_refusal(order=order):
            raise OrderNotChartable(allergy_refusal)
    if dose is None and given:
        _check_prn_limits(order=order, administered_at=administered_at)
    stops = _overridable_stops(
        order=order, dose=dose, status=status, administered_at=administered_at, vitals=vitals
    )
    granted = _override_for(
        stops, asked=override, user=user, order=order, dose=dose, resident=resident, now=now
    )

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
        override=granted,
        override_reason=_override_text(granted),
        scanned_code=scanned_code,
        scan_skipped=scan_skipped if given else "",
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
        notifications_settle(subject_keys=[f"dose:{dose.pk}"], now=now)
    # A refusal or a held dose opens the nurse's follow-up.
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
    "override",
    "override_reason",
    "scanned_code",
    "scan_skipped",
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


def _override_text(granted: DoseOverride | None) -> str:
    if granted is None:
        return ""
    return f"{granted.reason} (override by {granted.granted_by.signature_name})"


def _check_order_chartable(
    *, order: Order, resident: Resident, is_prn: bool, at: dt.datetime
) -> None:
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
    if away := resident_away_refusal(resident=resident, at=at):
        raise OrderNotChartable(away)


def _check_claims(claims: Claims, *, order: Order, resident: Resident) -> None:
    """Refuse a request whose resident, medication, dose or route is not the record's."""
    medication = order.medication
    if claims.resident is not None and claims.resident != resident.public_id:
        raise ChartingMismatch(
            f"This dose is {resident.display_name}'s, not the resident the request names. "
            "Stop: check the resident's photo and name before you chart.",
            field="resident",
        )
    if claims.medication is not None and claims.medication != medication.public_id:
        raise ChartingMismatch(
            f"This order is for {medication}, not the medication the request names.",
            field="medication",
        )
    if claims.dose_amount is not None and Decimal(claims.dose_amount) != order.dose_amount:
        raise ChartingMismatch(
            f"The order's dose is {order.dose_amount.normalize()} {order.dose_unit}, not "
            f"{Decimal(claims.dose_amount).normalize()}. A different dose needs a new order.",
            field="dose_amount",
        )
    if claims.dose_unit and claims.dose_unit.strip().lower() != order.dose_unit.strip().lower():
        raise ChartingMismatch(
            f"The order's dose is in {order.dose_unit}, not {claims.dose_unit}.",
            field="dose_unit",
        )
    if claims.route and claims.route != order.route:
        raise ChartingMismatch(
            f"The order's route is {order.get_route_display()}, not {claims.route}. A "
            "different route needs a new order.",
            field="route",
        )


def _check_scan(*, required: bool, code: str, skipped: str) -> None:
    if required and not code and not skipped:
        raise ChartingInvalid(
            "Scan the package before you give it, or say why it cannot be scanned.",
            field="scanned_code",
        )


def _check_timing(
    *,
    order: Order,
    dose: ScheduledDose | None,
    administered_at: dt.datetime,
    now: dt.datetime,
    note: str,
    zone: ZoneInfo,
) -> tuple[bool, bool]:
    """Refuse impossible times; say whether the dose is late and the entry is late."""
    if administered_at > now + CLOCK_SKEW:
        raise ChartingInvalid(
            f"That time ({_when(administered_at, zone)}) is in the future. Chart a dose when "
            "it has been given.",
            field="administered_at",
        )
    if administered_at < order.chartable_from:
        raise ChartingInvalid(
            f"That time ({_when(administered_at, zone)}) is before this order began "
            f"({_when(order.chartable_from, zone)}): no dose can have been given under it then.",
            field="administered_at",
        )
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
    return administered_at > dose.window_end, is_late_entry


def _when(at: dt.datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%a %b %-d %H:%M}"


def _check_status_fields(
    *, status: str, reason: str, note: str, prn_reason: str, dose: ScheduledDose | None
) -> None:
    if status == Administration.Status.HELD and not reason:
        raise ChartingInvalid("Say why the dose is held.", field="reason")
    if status == Administration.Status.OTHER and not note:
        raise ChartingInvalid("A dose not given for another reason needs a note.", field="note")
    if dose is None and not prn_reason:
        raise ChartingInvalid("Record the reason for this PRN dose.", field="prn_reason")


def _check_vitals_needed(*, order: Order, vitals: dict[str, str]) -> None:
    missing = [Vital(name).label for name in order.vitals_needed if name not in vitals]
    if missing:
        raise ChartingInvalid(
            f"This order needs vitals before it is given: {', '.join(missing)}.", field="vitals"
        )


def _check_prn_limits(
    *, order: Order, administered_at: dt.datetime, leave_out: Administration | None = None
) -> None:
    """Minimum interval and maximum per 24 hours, against every dose given under the order
    on either side of ``administered_at`` (amended times included), whatever the order in
    which they were documented. The order row is locked by the caller, so two tablets
    cannot both slip under a limit."""
    zone = order.resident.facility.zone
    stop = prn_stop(
        given=given_times_around(order=order, at=administered_at, leave_out=leave_out),
        at=administered_at,
        limits=PrnLimits.of(order),
    )
    if stop is None:
        if daily_caps(order.medication) and (
            capped := ingredient_limit_stop(
                order=order,
                administered_at=administered_at,
                given=doses_given_to_resident_around(
                    resident_id=order.resident_id, at=administered_at, leave_out=leave_out
                ),
            )
        ):
            raise PrnLimitReached(capped.message, allowed_at=capped.allowed_at)
        return
    raise PrnLimitReached(
        prn_stop_message(
            stop=stop,
            zone=zone,
            min_interval_minutes=order.prn_min_interval_minutes or 0,
            max_per_24h=order.prn_max_per_24h,
        ),
        allowed_at=stop.allowed_at,
    )


def hold_parameter_stop(*, order: Order, vitals: dict[str, str]) -> HoldParameterMet | None:
    reasons = hold_parameter_reasons(order=order, vitals=vitals)
    return HoldParameterMet(reasons) if reasons else None


def _overridable_stops(
    *,
    order: Order,
    dose: ScheduledDose | None,
    status: str,
    administered_at: dt.datetime,
    vitals: dict[str, str],
) -> list[OverridableStop]:
    """The rules this chart crosses that a nurse may override for the one dose."""
    stops: list[OverridableStop] = []
    if dose is not None and status != Administration.Status.AWAY:
        if early := too_early_stop(dose=dose, at=administered_at):
            stops.append(early)
        if status == Administration.Status.GIVEN and (
            close := dose_spacing_stop(dose=dose, administered_at=administered_at)
        ):
            stops.append(close)
    if status == Administration.Status.GIVEN and (
        held := hold_parameter_stop(order=order, vitals=vitals)
    ):
        stops.append(held)
    return stops


def too_early_stop(*, dose: ScheduledDose, at: dt.datetime) -> TooEarly | None:
    """Charting ``dose`` at ``at``, before its window opens: a nurse's override is needed.
    The pass page asks it too, to offer the override instead of Given."""
    if at >= dose.window_start:
        return None
    local = dose.window_start.astimezone(dose.resident.facility.zone)
    return TooEarly(
        f"This dose's window opens at {local:%H:%M}. Charting before then needs a "
        "nurse's override with a reason."
    )


def dose_spacing_stop(*, dose: ScheduledDose, administered_at: dt.datetime) -> TooClose | None:
    """A scheduled dose given where it could be taken for its neighbour: inside the next
    (or previous) dose's window and outside its own, or closer to a neighbour's given
    time than half the time the schedule puts between the two doses."""
    zone = dose.resident.facility.zone
    for neighbour in dose_neighbours(dose=dose):
        gap = abs(neighbour.scheduled_at - dose.scheduled_at)
        when = neighbour.scheduled_at.astimezone(zone)
        in_own_window = dose.window_start <= administered_at <= dose.window_end
        if not in_own_window and neighbour.window_start <= administered_at <= neighbour.window_end:
            return TooClose(
                f"{administered_at.astimezone(zone):%H:%M} falls in the window of the "
                f"{when:%H:%M} dose of this order. Chart that dose instead, or ask a nurse to "
                "override."
            )
        if neighbour.given_at is not None and abs(administered_at - neighbour.given_at) < gap / 2:
            given = neighbour.given_at.astimezone(zone)
            return TooClose(
                f"The {when:%H:%M} dose of this order was given at {given:%H:%M}; its doses are "
                f"{_duration(gap)} apart, so this one cannot follow within {_duration(gap / 2)}. "
                "Ask a nurse to override if it is right."
            )
    return None


def _duration(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def _override_for(
    stops: list[OverridableStop],
    *,
    asked: _OverrideAsked,
    user: User,
    order: Order,
    dose: ScheduledDose | None,
    resident: Resident,
    now: dt.datetime,
) -> DoseOverride | None:
    """The nurse's override that lets this chart past ``stops``; none needed if no stop.

    A nurse at the tablet (``asked``) grants it now, inside this charting transaction; else
    one granted for this dose (or PRN order) from another device in the last hour is used.
    """
    if not stops:
        return None
    if asked.nurse is not None or asked.reason:
        return _grant(
            nurse=asked.nurse or user,
            secret=asked.secret,
            reason=asked.reason,
            user=user,
            order=order,
            dose=dose,
            resident=resident,
            stopped_by=stops,
            now=now,
        )
    waiting = (
        _overrides_waiting(order=order, dose=dose, now=now)
        .select_for_update(of=("self",))
        .select_related("granted_by")
        .order_by("-granted_at", "-id")
        .first()
    )
    if waiting is None:
        raise stops[0]
    return waiting


def _overrides_waiting(*, order: Order, dose: ScheduledDose | None, now: dt.datetime):
    """Overrides a nurse granted from another device in the last hour, not yet used."""
    return DoseOverride.objects.filter(
        order=order, granted_at__gte=now - OVERRIDE_VALID_FOR, administration__isnull=True
    ).filter(Q(scheduled_dose=dose) if dose is not None else Q(scheduled_dose__isnull=True))


def dose_override_waiting(*, dose: ScheduledDose, now: dt.datetime) -> bool:
    """Whether a nurse's override for ``dose`` waits to be used (the pass page asks)."""
    return _overrides_waiting(order=dose.order, dose=dose, now=now).exists()


def _grant(
    *,
    nurse: User,
    secret: str,
    reason: str,
    user: User | None,
    order: Order,
    dose: ScheduledDose | None,
    resident: Resident,
    stopped_by: list[OverridableStop],
    now: dt.datetime,
) -> DoseOverride:
    """Check the nurse, their signature (unless they are the one signed in) and the
    reason, and write the override: who, when, why, and what it lets past."""
    if not (permissions.can(nurse, permissions.Area.NURSE_OVERRIDE) and nurse.is_active):
        raise ChartingNotPermitted(
            f"{nurse.signature_name} cannot override: only a nurse of this community can."
        )
    if not is_member(user=nurse, facility_id=resident.facility_id):
        raise ChartingNotPermitted(
            f"{nurse.signature_name} is not a nurse of {resident.display_name}'s community."
        )
    if user is None or nurse.pk != user.pk:
        if not secret:
            raise ChartingInvalid(
                f"{nurse.signature_name} signs the override with their own PIN or password.",
                field="override_secret",
            )
        try:
            user_signature_verify(user=nurse, secret=secret, now=now)
        except PinError as error:
            raise ChartingInvalid(str(error), field="override_secret") from None
    if len(reason) < OVERRIDE_REASON_MIN_LENGTH or not any(ch.isalpha() for ch in reason):
        raise ChartingInvalid(
            'Say in a few words why the nurse overrides (e.g. "resident leaving for dialysis, '
            'prescriber agrees").',
            field="override_reason",
        )
    return DoseOverride.objects.create(
        scheduled_dose=dose,
        order=order,
        resident=resident,
        granted_by=nurse,
        granted_at=now,
        reason=reason,
        requested_by=user if user is not None and user.pk != nurse.pk else None,
        stopped_by=" ".join(str(stop) for stop in stopped_by),
    )


@transaction.atomic
def dose_override_grant(
    *,
    nurse: User,
    reason: str,
    now: dt.datetime,
    scheduled_dose: ScheduledDose | None = None,
    order: Order | None = None,
) -> DoseOverride:
    """A nurse, from their own device, lets one scheduled dose (or the next dose of a PRN
    order) be charted past a rule that stops it, within the next hour. The charting that
    uses it records the override as part of the record."""
    if (scheduled_dose is None) == (order is None):
        raise ChartingInvalid("Override either a scheduled dose or a PRN order.")
    dose = None
    if scheduled_dose is not None:
        dose = (
            ScheduledDose.objects.select_for_update(of=("self",))
            .select_related("order__medication", "resident__facility")
            .get(pk=scheduled_dose.pk)
        )
        if dose.status != ScheduledDose.Status.PENDING:
            raise ChartingInvalid("This dose is already charted; there is nothing to override.")
        order = dose.order
    else:
        order = _lock_order(order.pk)
    resident = dose.resident if dose is not None else order.resident
    _check_order_chartable(order=order, resident=resident, is_prn=dose is None, at=now)
    override = _grant(
        nurse=nurse,
        secret="",
        reason=reason.strip(),
        user=nurse,
        order=order,
        dose=dose,
        resident=resident,
        stopped_by=[],
        now=now,
    )
    audit_write(
        actor=nurse,
        action="dose.override",
        target=override,
        resident=resident,
        after={"order": order.pk, "scheduled_dose": dose.pk if dose else None, "reason": reason},
        now=now,
    )
    # The nurses asked for this override need not answer it any more.
    subject = dose.public_id if dose is not None else order.public_id
    notifications_settle(subject_keys=[], subject_prefixes=(f"override:{subject}:",), now=now)
    return override


def dose_override_request(
    *,
    user: User,
    what_stopped: str,
    now: dt.datetime,
    scheduled_dose: ScheduledDose | None = None,
    order: Order | None = None,
) -> int:
    """A med tech asks the community's nurses for an override: each gets a notification
    that opens the dose on their own device. Returns how many nurses were asked."""
    order = scheduled_dose.order if scheduled_dose is not None else order
    resident = order.resident
    facility = resident.facility
    if refusal := user_charting_refusal(
        user=user, facility_id=facility.pk, today=now.astimezone(facility.zone).date()
    ):
        raise ChartingNotPermitted(refusal)
    subject = scheduled_dose.public_id if scheduled_dose is not None else order.public_id
    link = (
        reverse("mar:override_dose", args=[scheduled_dose.public_id])
        if scheduled_dose is not None
        else reverse("mar:override_prn", args=[order.public_id])
    )
    room = resident.room.number if resident.room_id else "-"
    nurses = list(nurses_of_facility(facility_id=facility.pk).values_list("pk", flat=True))
    notifications_create(
        notifications=[
            Notification(
                recipient_id=nurse_id,
                facility=facility,
                kind=Notification.Kind.OVERRIDE_REQUESTED,
                subject_key=f"override:{subject}:{now:%Y%m%d%H%M}"[:80],
                title=f"Override asked: Room {room}, {resident.display_name}",
                body=f"{user.signature_name} asks to chart {order.medication}: {what_stopped}"[
                    :2000
                ],
                link=link,
                created_at=now,
            )
            for nurse_id in nurses
        ]
    )
    audit_write(
        actor=user,
        action="dose.override_asked",
        target=order,
        resident=resident,
        after={"scheduled_dose": scheduled_dose.pk if scheduled_dose else None},
        reason=what_stopped[:500],
        now=now,
    )
    return len(nurses)


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
            notifications_settle(subject_keys=[f"administration:{administration.pk}"], now=now)
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
        by = initials_dotted(existing.recorded_by.initials)
        raise ChartingInvalid(f"The follow-up was already charted by {by}.") from None


# Corrections other than "entered in error": each one an Amendment row that keeps the old
# value, the new value, who, when and why. The administration row itself never changes.
AMENDABLE_FIELDS = (
    Amendment.Field.ADMINISTERED_AT,
    Amendment.Field.STATUS,
    Amendment.Field.REASON,
    Amendment.Field.NOTE,
    Amendment.Field.DOSE_AMOUNT,
)


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
        _check_amended_time(administration=administration, at=at, now=now)
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


def _check_amended_time(
    *, administration: Administration, at: dt.datetime, now: dt.datetime
) -> None:
    """A corrected time is bound like a first charting: not in the future, not before the
    order began; a PRN dose's new time keeps the order's limits against its other doses."""
    order = administration.order
    zone = order.resident.facility.zone
    if at > now + CLOCK_SKEW:
        raise ChartingInvalid(
            f"That time ({_when(at, zone)}) is in the future: a dose cannot have been given then.",
            field="new_value",
        )
    if at < order.chartable_from:
        raise ChartingInvalid(
            f"That time ({_when(at, zone)}) is before this order began "
            f"({_when(order.chartable_from, zone)}).",
            field="new_value",
        )
    if order.is_prn and administration.status == Administration.Status.GIVEN:
        _lock_order(order.pk)
        try:
            _check_prn_limits(order=order, administered_at=at, leave_out=administration)
        except PrnLimitReached as error:
            raise PrnLimitReached(
                f"Moved to {_when(at, zone)} this dose would break the order's limits: {error} "
                "If it really was given then, report it to the nurse in charge as a medication "
                "error; the record is not changed.",
                allowed_at=error.allowed_at,
            ) from None


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
        .select_related("resident__facility", "order__medication", "order__resident__facility")
        .get(pk=administration.pk)
    )
    permissions.require(
        user,
        permissions.Area.AMEND,
        error=ChartingNotPermitted,
        message="Only a nurse corrects a record, by amendment.",
    )
    if not is_member(user=user, facility_id=administration.resident.facility_id):
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
    if field == Amendment.Field.DOSE_AMOUNT:
        try:
            stock_move_for_amended_amount(
                administration=administration,
                change=Decimal(new_text) - Decimal(old_text),
                by=user,
                reason=reason.strip(),
                now=now,
            )
        except StockUnavailable as error:
            raise NoStock(f"The cart's stock cannot follow this correction: {error}") from error
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
