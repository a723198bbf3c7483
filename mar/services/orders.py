"""Orders through their life: entered, verified (second check), held, resumed,
discontinued, changed. Each change re-syncs the order's future uncharted doses in
the same transaction, so the med pass never shows a dose the order no longer calls
for, and never loses one that was charted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from mar import schedule
from mar.models import Medication, Order
from mar.services.doses import FacilitySchedule, doses_sync_for_order
from medtech import permissions
from medtech.audit import audit_write, snapshot
from residents.models import Resident
from staff.models import User


class OrderError(Exception):
    """An order change that cannot be made; the message says why and what to do."""


class OrderNotPermitted(OrderError):
    pass


class OrderInvalid(OrderError):
    pass


class OrderWrongState(OrderError):
    pass


class AllergyConflict(OrderInvalid):
    """The medication matches one of the resident's allergies and no override was given."""


ORDER_FIELDS = (
    "dose_amount",
    "dose_unit",
    "route",
    "instructions",
    "indication",
    "frequency",
    "administration_times",
    "days_of_week",
    "days_of_month",
    "interval",
    "is_time_critical",
    "window_minutes",
    "prn_min_interval_minutes",
    "prn_max_per_24h",
    "followup_minutes",
    "hold_parameters",
    "required_vitals",
    "starts_at",
    "ends_at",
    "prescriber",
    "rx_number",
    "allergy_override_reason",
)


def _require_nurse(user: User, action: str) -> None:
    permissions.require(
        user,
        permissions.Area.ORDER_ENTER,
        error=OrderNotPermitted,
        message=f"Only a nurse can {action} an order.",
    )


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("resident__facility", "medication")
        .get(pk=order.pk)
    )


def _validate_schedule(order: Order) -> None:
    """Check the frequency against the engine before the database sees it."""
    facility = order.resident.facility
    pass_times = FacilitySchedule.load([facility])[facility.pk].pass_times
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
        if frequency.kind != schedule.FrequencyKind.PRN:
            schedule.window_minutes(
                frequency=frequency,
                is_time_critical=order.is_time_critical,
                override_minutes=order.window_minutes,
                facility_windows=schedule.FacilityWindows.from_facility(facility),
            )
    except ValueError as error:
        raise OrderInvalid(str(error)) from error
    if order.ends_at is not None and order.ends_at <= order.starts_at:
        raise OrderInvalid("The order must end after it starts.")
    if order.dose_amount is None or Decimal(order.dose_amount) <= 0:
        raise OrderInvalid("The dose must be more than zero.")
    if order.frequency == Order.Frequency.PRN and not (
        order.prn_min_interval_minutes is not None and order.prn_max_per_24h
    ):
        raise OrderInvalid("A PRN order needs a minimum interval and a maximum per 24 hours.")


@transaction.atomic
def order_create(
    *,
    resident: Resident,
    medication: Medication,
    entered_by: User,
    now: dt.datetime,
    replaces: Order | None = None,
    **fields: Any,
) -> Order:
    """Enter an order. It waits for a second nurse's check unless the facility turned
    that off, in which case it is active (and scheduled) at once."""
    _require_nurse(entered_by, "enter")
    unknown = set(fields) - set(ORDER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown order fields: {', '.join(sorted(unknown))}")
    facility = resident.facility
    if resident.status in (Resident.Status.DISCHARGED, Resident.Status.DECEASED):
        raise OrderWrongState(f"{resident.display_name} is {resident.get_status_display()}.")
    if not entered_by.memberships.filter(facility=facility).exists():
        raise OrderNotPermitted("You are not a member of this resident's community.")
    order = Order(
        resident=resident,
        medication=medication,
        entered_by=entered_by,
        entered_at=now,
        replaces=replaces,
        status=Order.Status.PENDING_VERIFICATION
        if facility.requires_second_check
        else Order.Status.ACTIVE,
        **fields,
    )
    _validate_schedule(order)
    _check_allergies(order)
    order.save()
    audit_write(
        actor=entered_by,
        action="order.create",
        target=order,
        resident=resident,
        after=snapshot(order),
        reason=order.allergy_override_reason,
        now=now,
    )
    doses_sync_for_order(order=order, now=now)
    return order


def _check_allergies(order: Order) -> None:
    """An allergy match needs an explicit override with a reason, at entry and before the
    order goes active (an allergy recorded after entry stops the verification too)."""
    from mar.selectors_nurse import allergy_matches

    matches = allergy_matches(resident=order.resident, medication=order.medication)
    if matches and not (order.allergy_override_reason or "").strip():
        names = ", ".join(allergy.allergen for allergy in matches)
        raise AllergyConflict(
            f"{order.medication} matches {order.resident.display_name}'s allergy to {names}. "
            "Check with the prescriber; to enter it anyway, override with a reason."
        )


@transaction.atomic
def order_verify(*, order: Order, verified_by: User, now: dt.datetime) -> Order:
    """The second check: another nurse confirms the order against the prescription."""
    _require_nurse(verified_by, "verify")
    order = _locked(order)
    if order.status != Order.Status.PENDING_VERIFICATION:
        raise OrderWrongState(f"This order is {order.get_status_display().lower()}.")
    if order.entered_by_id == verified_by.pk:
        raise OrderNotPermitted(
            "You entered this order, so a second nurse must verify it against the prescription."
        )
    _check_allergies(order)
    before = snapshot(order, fields=["status", "verified_by", "verified_at"])
    order.verified_by = verified_by
    order.verified_at = now
    order.status = Order.Status.ACTIVE
    order.status_changed_at = now
    order.status_changed_by = verified_by
    order.save(
        update_fields=[
            "verified_by",
            "verified_at",
            "status",
            "status_changed_at",
            "status_changed_by",
        ]
    )
    audit_write(
        actor=verified_by,
        action="order.verify",
        target=order,
        resident=order.resident,
        before=before,
        after=snapshot(order, fields=["status", "verified_by", "verified_at"]),
        now=now,
    )
    doses_sync_for_order(order=order, now=now)
    return order


STATUS_ACTIONS = {
    Order.Status.ON_HOLD: "order.hold",
    Order.Status.ACTIVE: "order.resume",
    Order.Status.DISCONTINUED: "order.discontinue",
}


def _set_status(
    *, order: Order, by: User, now: dt.datetime, status: str, reason: str, allowed_from: set[str]
) -> Order:
    order = _locked(order)
    if order.status not in allowed_from:
        raise OrderWrongState(f"This order is {order.get_status_display().lower()}.")
    before = snapshot(order, fields=["status", "status_reason"])
    order.status = status
    order.status_reason = reason
    order.status_changed_at = now
    order.status_changed_by = by
    order.save(update_fields=["status", "status_reason", "status_changed_at", "status_changed_by"])
    audit_write(
        actor=by,
        action=STATUS_ACTIONS[status],
        target=order,
        resident=order.resident,
        before=before,
        after=snapshot(order, fields=["status", "status_reason"]),
        reason=reason,
        now=now,
    )
    doses_sync_for_order(order=order, now=now)
    return order


@transaction.atomic
def order_hold(*, order: Order, by: User, reason: str, now: dt.datetime) -> Order:
    _require_nurse(by, "hold")
    if not reason.strip():
        raise OrderInvalid("Say why the order is on hold.")
    return _set_status(
        order=order,
        by=by,
        now=now,
        status=Order.Status.ON_HOLD,
        reason=reason.strip(),
        allowed_from={Order.Status.ACTIVE},
    )


@transaction.atomic
def order_resume(*, order: Order, by: User, now: dt.datetime) -> Order:
    _require_nurse(by, "resume")
    return _set_status(
        order=order,
        by=by,
        now=now,
        status=Order.Status.ACTIVE,
        reason="",
        allowed_from={Order.Status.ON_HOLD},
    )


@transaction.atomic
def order_discontinue(*, order: Order, by: User, reason: str, now: dt.datetime) -> Order:
    _require_nurse(by, "discontinue")
    if not reason.strip():
        raise OrderInvalid("Say why the order is discontinued.")
    return _set_status(
        order=order,
        by=by,
        now=now,
        status=Order.Status.DISCONTINUED,
        reason=reason.strip(),
        allowed_from={
            Order.Status.PENDING_VERIFICATION,
            Order.Status.ACTIVE,
            Order.Status.ON_HOLD,
        },
    )


def orders_end_for_stay(
    *, resident: Resident, by: User, reason: str, now: dt.datetime
) -> list[Order]:
    """The end of a stay (discharge or death) ends every open order, whoever records it
    (the administrator, not only a nurse); charted doses stay, future ones go. The
    caller checks who may end a stay and runs this inside its transaction."""
    open_statuses = {
        Order.Status.PENDING_VERIFICATION,
        Order.Status.ACTIVE,
        Order.Status.ON_HOLD,
    }
    orders = (
        Order.objects.filter(resident=resident, status__in=open_statuses)
        .select_related("resident__facility")
        .order_by("id")
    )
    return [
        _set_status(
            order=order,
            by=by,
            now=now,
            status=Order.Status.DISCONTINUED,
            reason=reason,
            allowed_from=open_statuses,
        )
        for order in orders
    ]


@transaction.atomic
def order_change(*, order: Order, by: User, reason: str, now: dt.datetime, **changes: Any) -> Order:
    """A change is never an edit: the old order is discontinued and a new one, linked
    to it, is entered with the changes (and goes through verification again)."""
    old = order_discontinue(order=order, by=by, reason=reason, now=now)
    medication = changes.pop("medication", old.medication)
    fields = {name: getattr(old, name) for name in ORDER_FIELDS} | changes
    fields["starts_at"] = max(fields["starts_at"], now)
    return order_create(
        resident=old.resident,
        medication=medication,
        entered_by=by,
        now=now,
        replaces=old,
        **fields,
    )


@transaction.atomic
def medication_create(
    *,
    user: User,
    generic_name: str,
    strength: str,
    form: str,
    now: dt.datetime,
    brand_name: str = "",
    default_route: str = "oral",
    ingredients: list[str] | None = None,
) -> Medication:
    """A new catalog entry, entered by a nurse with a new order; an existing identical
    product is returned instead of a duplicate."""
    from medtech.audit import audit_write, snapshot

    _require_nurse(user, "add a medication to the catalog for")
    if not (generic_name.strip() and strength.strip()):
        raise OrderInvalid("A new medication needs its generic name and strength.")
    if form not in Medication.Form.values:
        raise OrderInvalid("Choose the medication's form.")
    medication, created = Medication.objects.get_or_create(
        generic_name=generic_name.strip(),
        brand_name=brand_name.strip(),
        strength=strength.strip(),
        form=form,
        defaults={
            "default_route": default_route,
            "ingredients": ingredients or [generic_name.strip().lower()],
        },
    )
    if created:
        audit_write(
            actor=user,
            action="medication.create",
            now=now,
            target=medication,
            after=snapshot(medication),
        )
    return medication
